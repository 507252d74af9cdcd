"""``crewctl sanctions``, ``crewctl appeals`` and ``crewctl appeal file|decide``: what the
quality rules did to contractors, and their appeals, on the quality service.

Made as whoever the credential is (``--credential``, else ``$CREWLINE_CREDENTIAL``, else
the operator credential): a contractor's token reads and files their own; a client's
API key reads and decides those of its own projects (``--project`` named); the operator
credential any.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from crewline.ctl import audiences, config
from crewline.ctl.app import State, example, pass_state
from crewline.ctl.errors import CtlError, ExitCode
from crewline.ctl.output import print_rows, shorten
from crewline.ctl.pages import Paging, paging_options, print_more
from crewline.ctl.records.sanctions import (
    SANCTION_STATES,
    EvidenceRecord,
    SanctionPage,
    sanction_page,
)

if TYPE_CHECKING:
    from crewline.client import sync

_ID = "6f1c2a4e-8b1d-4f7e-9a51-3d2b7c9e0f12"
OWN_ONLY = (
    "a contractor's token reads only its own {what}: leave out {flags} (a client's API"
    " key or the operator credential reads them by project)"
)
NAME_THE_PROJECT = (
    "a client reads the {what} of one of its projects: name it with --project"
    " (the operator credential reads any)"
)
_SANCTION_COLUMNS: tuple[str, ...] = (
    *("sanction_id", "project_id", "rule_id", "measure", "measured_value"),
    *("sample", "action", "state", "imposed_at", "ends_at"),
)


def reader(state: State) -> sync.Contractor | sync.Client | sync.Operator:
    """The SDK object for whoever the credential is: a contractor's token, a client's API
    key (or one of no known form: the service judges), else the operator credential."""
    own = (
        state.options.credential or state.wiring.env.get(config.CLIENT_CREDENTIAL_ENV, "")
    ).strip()
    who = audiences.kind(own) if own else None
    if who == audiences.CONTRACTOR:
        return state.contractor()
    if own and who != audiences.OPERATOR:
        return state.client()
    return state.operator()


def refuse_for_contractor(what: str, given: dict[str, object]) -> None:
    named = [flag for flag, value in given.items() if value]
    if named:
        flags = " and ".join(named)
        raise CtlError(OWN_ONLY.format(what=what, flags=flags), exit_code=ExitCode.USAGE)


def evidence_text(item: EvidenceRecord) -> str:
    """One evidence item in words: what was answered and expected, or the review."""
    if item["gold"] is not None:
        gold = item["gold"]
        verdict = "gold, correct" if gold["correct"] else "gold, wrong"
        answered, expected = _compact(gold["answer"]), _compact(gold["expected"])
        return f"{verdict}: answered {answered}, expected {expected}"
    if item["review"] is not None:
        review = item["review"]
        said = f": {review['feedback']}" if review["feedback"] else ""
        return f"review, {'accepted' if review['accepted'] else 'rejected'}{said}"
    if item["flag"] is not None:
        return "time flagged" if item["flag"]["flagged"] else "not flagged"
    return "unknown"


def _compact(value: Any) -> str:
    import json

    return shorten(json.dumps(value, separators=(",", ":"), ensure_ascii=False), 120) or ""


def print_sanctions(page: SanctionPage, mine: bool) -> None:
    rows: list[dict[str, Any]] = []
    for sanction in page["sanctions"]:
        rule = sanction["rule"]
        named = {"rule_id": rule["rule_id"], "measure": rule["measure"]} if rule else {}
        rows.append({**sanction, **named})
    columns = _SANCTION_COLUMNS
    if not mine:  # whose, after which
        columns = (columns[0], "contractor_id", *columns[1:])
    print_rows("Your sanctions" if mine else "Sanctions", rows, columns)
    for sanction in page["sanctions"]:
        if not sanction["evidence"]:
            continue
        shown = [{**e, "evidence": evidence_text(e)} for e in sanction["evidence"]]
        print_rows(
            f"Evidence of {sanction['sanction_id']}, newest first",
            shown,
            ("submitted_at", "submission_id", "task_id", "evidence"),
        )
    print_more(page)


@click.command(
    "sanctions",
    epilog=example(
        "crewctl sanctions",
        f"crewctl sanctions --project {_ID} --contractor dr-lee --state active",
        f"crewctl --json sanctions --project {_ID} --all",
    ),
)
@click.option("--project", "project_id", default="", help="Only this project's sanctions.")
@click.option(
    "--contractor",
    "contractor_id",
    default="",
    help="Clients and operators: only this contractor's.",
)
@click.option(
    "--state",
    "state_",
    type=click.Choice(SANCTION_STATES),
    help="Clients and operators: only those in this state.",
)
@paging_options(most=100, server_default=20)
@pass_state
def sanctions(
    state: State, project_id: str, contractor_id: str, state_: str | None, paging: Paging
) -> None:
    """Sanctions the quality rules imposed, newest first, each with the rule, the value
    measured and the evidence it rests on (gold answered with the expected answer,
    reviews with their feedback, time flags).

    A contractor sees their own (their token). A client (its API key) sees those of one
    of its projects, named with --project; an operator (the operator credential) any.
    A sanction is active until its ends_at, then ended; an upheld appeal lifts it.
    """
    from crewline.client import sync
    from crewline.client.results import SanctionState
    from crewline.v1 import quality_service_pb2 as quality_api

    with reader(state) as caller:
        mine = isinstance(caller, sync.Contractor)
        if mine:
            refuse_for_contractor("sanctions", {"--contractor": contractor_id, "--state": state_})
        elif isinstance(caller, sync.Client) and not project_id:
            raise CtlError(NAME_THE_PROJECT.format(what="sanctions"), exit_code=ExitCode.USAGE)

        def read(size: int, token: str) -> SanctionPage:
            if isinstance(caller, sync.Contractor):
                found = caller.my_sanctions_page(
                    project_id=project_id, page_size=size, page_token=token
                )
            else:
                found = caller.list_sanctions_page(
                    project_id,
                    contractor_id=contractor_id,
                    state=(
                        SanctionState(state_.upper())
                        if state_
                        else quality_api.SANCTION_STATE_UNSPECIFIED
                    ),
                    page_size=size,
                    page_token=token,
                )
            return sanction_page(found)

        page = paging.read(read, "sanctions")
    state.emit(page, lambda shown: print_sanctions(shown, mine))
