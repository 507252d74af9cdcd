"""``crewctl appeals`` and ``crewctl appeal file|decide``: contractors' appeals of a
sanction or of a rejection, on the quality service. A contractor files and reads their
own (their token); a client reads and decides those of its own projects (its API key),
an operator any (the operator credential). Who is calling is told as for
``crewctl sanctions`` (``crewline.ctl.sanctions.reader``)."""

from __future__ import annotations

from typing import Any

import click

from crewline.ctl.app import State, example, pass_state
from crewline.ctl.errors import CtlError, ExitCode, refusal, unreachable
from crewline.ctl.output import note, print_record, print_rows
from crewline.ctl.pages import Paging, paging_options, print_more
from crewline.ctl.params import new_request_id
from crewline.ctl.queues import list_queue
from crewline.ctl.records.sanctions import (
    APPEAL_STATES,
    AppealPage,
    AppealRecord,
    appeal_page,
    appeal_record,
)
from crewline.ctl.sanctions import reader

_ID = "6f1c2a4e-8b1d-4f7e-9a51-3d2b7c9e0f12"
_SANCTION = "9c4d2e1f-3a5b-4c6d-8e7f-0a1b2c3d4e5f"
_APPEAL = "2b7e4c1d-6f3a-4e8b-9c0d-5a1f2e3d4c6b"
_COLUMNS = ("appeal_id", "subject", "state", "filed_at", "decide_by", "decided_by")
NOT_A_CONTRACTORS = (
    "a contractor cannot decide appeals: appeal decide takes the client's API key of the"
    " appeal's project, or the operator credential"
)


def subject(appeal: AppealRecord) -> str:
    """``sanction S`` or ``submission S``: what is appealed."""
    if appeal["sanction_id"]:
        return f"sanction {appeal['sanction_id']}"
    return f"submission {appeal['submission_id']}"


def print_appeals(page: AppealPage, mine: bool) -> None:
    rows: list[dict[str, Any]] = [{**a, "subject": subject(a)} for a in page["appeals"]]
    columns = _COLUMNS if mine else ("appeal_id", "contractor_id", *_COLUMNS[1:])
    print_rows("Your appeals" if mine else "Appeals", rows, columns)
    print_more(page)


def print_appeal(appeal: AppealRecord) -> None:
    shown: dict[str, object] = dict(appeal)
    shown["accepted_submission_ids"] = ", ".join(appeal["accepted_submission_ids"]) or None
    print_record("Appeal", shown)


@click.command(
    "appeals",
    epilog=example(
        "crewctl appeals",
        f"crewctl appeals --project {_ID} --state pending",
        "crewctl --json appeals --all",
    ),
)
@click.option("--project", "project_id", default="", help="Clients and operators: the project.")
@click.option(
    "--state",
    "state_",
    type=click.Choice(APPEAL_STATES),
    help="Clients and operators: only those in this state.",
)
@paging_options(most=100, server_default=20)
@pass_state
def appeals(state: State, project_id: str, state_: str | None, paging: Paging) -> None:
    """Appeals of sanctions and rejections: a contractor's own, newest first; a client's
    (--project: one of its projects) or an operator's, the oldest undecided first.

    An appeal still pending at its decide_by is upheld. Decide one with `crewctl appeal
    decide APPEAL_ID --uphold|--deny`.
    """
    from crewline.client.results import AppealState
    from crewline.v1 import quality_service_pb2 as quality_api

    chosen = AppealState(state_.upper()) if state_ else quality_api.APPEAL_STATE_UNSPECIFIED
    list_queue(
        state,
        paging,
        what="appeals",
        project_id=project_id,
        state_=state_,
        own=lambda me, size, token: appeal_page(
            me.my_appeals_page(page_size=size, page_token=token)
        ),
        of_project=lambda caller, size, token: appeal_page(
            caller.list_appeals_page(project_id, state=chosen, page_size=size, page_token=token)
        ),
        show=print_appeals,
    )


@click.group(
    "appeal",
    epilog=example(
        f'crewctl appeal file --sanction {_SANCTION} --text "the gold key is wrong"',
        f"crewctl appeal decide {_APPEAL} --uphold --note 'agreed: the key was wrong'",
    ),
)
def appeal() -> None:
    """File an appeal (a contractor) or decide one (a client or an operator)."""


@appeal.command(
    "file",
    epilog=example(
        f'crewctl appeal file --sanction {_SANCTION} --text "the gold key is wrong"',
        'crewctl appeal file --submission CLAIM_ID --text "the image was blank" --key my-1',
    ),
)
@click.option("--sanction", "sanction_id", help="Appeal this sanction of yours.")
@click.option(
    "--submission",
    "submission_id",
    help="Appeal the rejection of this submission of yours (its claim id).",
)
@click.option("--text", required=True, help="Why, for the client: 1-2,000 characters.")
@click.option(
    "--key",
    help="Idempotency key: the same key returns the same appeal; default: a fresh crewctl-<uuid4>.",
)
@pass_state
def file_(
    state: State, sanction_id: str | None, submission_id: str | None, text: str, key: str | None
) -> None:
    """Appeal one of your sanctions (--sanction) or a rejection of your work
    (--submission), within 7 days of it, once each. The client of the project (or an
    operator) decides; one not decided by its decide_by is upheld. Upheld, a sanction is
    lifted and the rejections it rests on (or the one appealed) become acceptances."""
    if (sanction_id is None) == (submission_id is None):
        raise click.UsageError("give --sanction or --submission: exactly one")
    key = key or new_request_id()
    try:
        with state.contractor() as contractor:
            filed = contractor.file_appeal(
                sanction_id=sanction_id, submission_id=submission_id, text=text, idempotency_key=key
            )
    except Exception as error:
        failure = refusal(error)
        if failure is not None and unreachable(failure):
            which = f"--sanction {sanction_id}" if sanction_id else f"--submission {submission_id}"
            note(
                f"To retry without appealing twice: crewctl appeal file {which} --text ..."
                f" --key {key}"
            )
        raise
    state.emit(appeal_record(filed.raw), print_appeal)


@appeal.command(
    "decide",
    epilog=example(
        f"crewctl appeal decide {_APPEAL} --uphold --note 'agreed: the key was wrong'",
        f"crewctl appeal decide {_APPEAL} --deny --note 'the answer misses the lesion'",
    ),
)
@click.argument("appeal_id")
@click.option(
    "--uphold/--deny",
    "uphold",
    default=None,
    help="Uphold the appeal (lift the sanction, accept the rejected work) or deny it.",
)
@click.option("--note", default="", help="For the contractor: at most 2,000 characters.")
@pass_state
def decide(state: State, appeal_id: str, uphold: bool | None, note: str) -> None:
    """Decide a pending appeal of your project (a client) or of any (an operator).

    Upheld: an active sanction appealed is lifted, and the rejections it rests on (or
    the one appealed) become acceptances, paid once. The same decision again shows the
    appeal unchanged; the other one is refused (FAILED_PRECONDITION).
    """
    from crewline.client import sync

    if uphold is None:
        raise click.UsageError("give --uphold or --deny")
    with reader(state) as caller:
        if isinstance(caller, sync.Contractor):
            raise CtlError(NOT_A_CONTRACTORS, exit_code=ExitCode.CREDENTIAL)
        decided = caller.decide_appeal(appeal_id, uphold=uphold, note=note)
    state.emit(appeal_record(decided.raw), print_appeal)
