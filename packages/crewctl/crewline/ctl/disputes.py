"""``crewctl disputes`` and ``crewctl dispute file|resolve``: contractors' disputes of
gold keys, on the quality service. A contractor disputes the key of a gold task a
sanction showed them and reads their own (their token); a client reads those of its
own projects and corrects or dismisses them (its API key); an operator reads any (the
operator credential). Who is calling is told as for ``crewctl sanctions``
(``crewline.ctl.sanctions.reader``); ``dispute resolve`` is a client's alone, as the
key is."""

from __future__ import annotations

from typing import IO, Any

import click

from crewline.ctl.app import State, example, pass_state
from crewline.ctl.errors import refusal, unreachable
from crewline.ctl.gold_file import read_correction
from crewline.ctl.output import note, print_record, print_rows
from crewline.ctl.pages import Paging, paging_options, print_more
from crewline.ctl.params import new_request_id
from crewline.ctl.queues import list_queue
from crewline.ctl.records.disputes import (
    DISPUTE_STATES,
    DisputePage,
    DisputeRecord,
    dispute_page,
    dispute_record,
)

_ID = "6f1c2a4e-8b1d-4f7e-9a51-3d2b7c9e0f12"
_TASK = "0e6f5a4b-3c2d-4e1f-8a9b-7c6d5e4f3a2b"
_DISPUTE = "4d3c2b1a-9e8f-4a7b-8c6d-5e4f3a2b1c0d"
_COLUMNS = ("dispute_id", "task_id", "state", "filed_at", "resolved_at")


def print_disputes(page: DisputePage, mine: bool) -> None:
    rows: list[dict[str, Any]] = [dict(d) for d in page["disputes"]]
    columns = _COLUMNS if mine else ("dispute_id", "contractor_id", "gold_id", *_COLUMNS[1:])
    print_rows("Your disputes" if mine else "Disputes", rows, columns)
    print_more(page)


def print_dispute(dispute: DisputeRecord) -> None:
    shown: dict[str, object] = dict(dispute)
    shown["accepted_submission_ids"] = ", ".join(dispute["accepted_submission_ids"]) or None
    shown["overturned_sanction_ids"] = ", ".join(dispute["overturned_sanction_ids"]) or None
    print_record("Dispute", shown)


@click.command(
    "disputes",
    epilog=example(
        "crewctl disputes",
        f"crewctl disputes --project {_ID} --state open",
        "crewctl --json disputes --all",
    ),
)
@click.option("--project", "project_id", default="", help="Clients and operators: the project.")
@click.option(
    "--state",
    "state_",
    type=click.Choice(DISPUTE_STATES),
    help="Clients and operators: only those in this state.",
)
@paging_options(most=100, server_default=20)
@pass_state
def disputes(state: State, project_id: str, state_: str | None, paging: Paging) -> None:
    """Disputes of gold keys: a contractor's own, newest first; a client's (--project:
    one of its projects) or an operator's, open ones first.

    A client resolves one with `crewctl dispute resolve DISPUTE_ID --correct-file KEY.json`
    or `--dismiss`.
    """
    from crewline.client.results import DisputeState

    chosen = DisputeState(state_.upper()) if state_ else None
    list_queue(
        state,
        paging,
        what="disputes",
        project_id=project_id,
        state_=state_,
        own=lambda me, size, token: dispute_page(
            me.my_disputes_page(page_size=size, page_token=token)
        ),
        of_project=lambda caller, size, token: dispute_page(
            caller.list_disputes_page(project_id, state=chosen, page_size=size, page_token=token)
        ),
        show=print_disputes,
    )


@click.group(
    "dispute",
    epilog=example(
        f'crewctl dispute file --task {_TASK} --note "the expected answer is wrong"',
        f"crewctl dispute resolve {_DISPUTE} --correct-file key.json --note 'you were right'",
    ),
)
def dispute() -> None:
    """Dispute a gold key (a contractor) or resolve a dispute (the project's client)."""


@dispute.command(
    "file",
    epilog=example(
        f'crewctl dispute file --task {_TASK} --note "the expected answer is wrong"',
        'crewctl dispute file --task TASK_ID --note "severe, not mild" --key my-1',
    ),
)
@click.option(
    "--task",
    "task_id",
    required=True,
    help="The gold task whose key you dispute, as a sanction's evidence shows it.",
)
@click.option("--note", required=True, help="Why, for the client: 1-2,000 characters.")
@click.option(
    "--key",
    help=(
        "Idempotency key: the same key returns the same dispute; default: a fresh crewctl-<uuid4>."
    ),
)
@pass_state
def file_(state: State, task_id: str, note: str, key: str | None) -> None:
    """Dispute the expected answer (the key) of a gold task one of your sanctions showed
    you in its evidence, once while it is open. Any other task is not found. The
    project's client corrects the key, which scores every answer to it again, or
    dismisses the dispute."""
    key = key or new_request_id()
    try:
        with state.contractor() as contractor:
            filed = contractor.dispute_gold_key(task_id, note, idempotency_key=key)
    except Exception as error:
        failure = refusal(error)
        if failure is not None and unreachable(failure):
            _retry_line(task_id, key)
        raise
    state.emit(dispute_record(filed.raw), print_dispute)


def _retry_line(task_id: str, key: str) -> None:
    note(
        "To retry without disputing twice:"
        f" crewctl dispute file --task {task_id} --note ... --key {key}"
    )


@dispute.command(
    "resolve",
    epilog=example(
        f"crewctl dispute resolve {_DISPUTE} --correct-file key.json --note 'you were right'",
        f"crewctl dispute resolve {_DISPUTE} --dismiss --note 'mild is right: see the guide'",
    ),
)
@click.argument("dispute_id")
@click.option(
    "--correct-file",
    "correct_file",
    type=click.File("r"),
    help=(
        'The corrected key: a JSON object {"answer": {...}, "rules": {...}}, as a gold'
        " file's line has them (- reads standard input)."
    ),
)
@click.option("--dismiss", is_flag=True, help="Keep the key as it is.")
@click.option("--note", default="", help="For the contractor: at most 2,000 characters.")
@pass_state
def resolve(
    state: State, dispute_id: str, correct_file: IO[str] | None, dismiss: bool, note: str
) -> None:
    """Correct the key of a disputed gold task of your project, or dismiss the dispute
    (a client, with its API key).

    Corrected: every answer to the gold task is scored again with the new key,
    sanctions that no longer hold are overturned, the rejections they and the gold work
    rest on become acceptances (paid once), and every open dispute of the same gold
    task is resolved with it. The same resolution again shows the dispute unchanged;
    another is refused (FAILED_PRECONDITION).
    """
    from crewline.client.build import gold_rules

    if (correct_file is None) == (not dismiss):
        raise click.UsageError("give --correct-file or --dismiss: exactly one")
    correction = read_correction(correct_file) if correct_file is not None else None
    with state.client() as client:
        if correction is None:
            resolved = client.resolve_dispute(dispute_id, dismiss=True, note=note)
        else:
            resolved = client.resolve_dispute(
                dispute_id,
                correct=correction.answer,
                rules=gold_rules(correction.also_accepted, correction.tolerance),
                note=note,
            )
    state.emit(dispute_record(resolved.raw), print_dispute)
