"""``crewctl claim ...``: a contractor's claims, on the matcher, with the contractor's token.

The credential is the contractor's token (--credential or $CREWLINE_CREDENTIAL), as
``crewctl contractor token`` printed it; never the operator credential.
"""

from __future__ import annotations

import click

from crewline.ctl.app import State, example, pass_state
from crewline.ctl.claim_api import ClaimPage, ClaimRecord
from crewline.ctl.output import print_record, print_rows, shorten
from crewline.ctl.pages import print_more, read_pages
from crewline.ctl.params import Duration
from crewline.ctl.projects import describe_terms

CLAIM_STATUSES = ("active", "submitted", "ended")
_ID = "01JA2B3C4D5E6F7G8H9J0KMNPQ"


def print_claim(claim: ClaimRecord) -> None:
    shown: dict[str, object] = dict(claim)
    shown["pay_terms"] = describe_terms(claim["pay_terms"])
    shown["payload_json"] = shorten(claim["payload_json"])
    shown["payload_base64"] = shorten(claim["payload_base64"])
    shown["instructions"] = shorten(claim["instructions"])
    print_record("Claim", shown)


def print_page(page: ClaimPage) -> None:
    columns = (
        "claim_id",
        "task_id",
        "status",
        "deadline_at",
        "worked_seconds",
        "cut",
        "end_reason",
    )
    print_rows("Claims", page["claims"], columns)
    print_more(page)


@click.group(
    "claim",
    epilog=example(
        "crewctl claim list --status active",
        f"crewctl claim heartbeat {_ID} --worked 25m",
    ),
)
def claim() -> None:
    """A contractor's claims, on the matcher, with the contractor's token.

    The credential is a contractor token (--credential or $CREWLINE_CREDENTIAL), as
    `crewctl contractor token` issues it; never the operator credential.
    """


@claim.command("get", epilog=example(f"crewctl claim get {_ID}"))
@click.argument("claim_id")
@pass_state
def get(state: State, claim_id: str) -> None:
    """The claim CLAIM_ID: its lease, the time reported, and how it ended."""
    state.emit(state.claims().get_claim(claim_id), print_claim)


@claim.command(
    "list",
    epilog=example(
        "crewctl claim list --status active",
        "crewctl --json claim list --task 0f3e8c1a-5b7d-4c2e-9a6f-1d2b3c4e5f60 --all",
    ),
)
@click.option(
    "--status", type=click.Choice(CLAIM_STATUSES, case_sensitive=False), help="Only these."
)
@click.option("--task", "task_id", default="", help="Only claims on this task.")
@click.option("--project", "project_id", default="", help="Only claims in this project.")
@click.option("--page-size", type=click.IntRange(0, 100), default=0, help="1-100; 0: 50.")
@click.option("--page-token", default="", help="The previous page's token.")
@click.option("--all", "every", is_flag=True, help="Every page, as one list.")
@pass_state
def list_(
    state: State,
    status: str | None,
    task_id: str,
    project_id: str,
    page_size: int,
    page_token: str,
    every: bool,
) -> None:
    """The caller's claims, newest first."""
    calls = state.claims()
    status = status.lower() if status else None
    page = read_pages(
        lambda token: calls.list_claims(status, task_id, project_id, page_size, token),
        "claims",
        page_token,
        every,
    )
    state.emit(page, print_page)


@claim.command(
    "heartbeat",
    epilog=example(
        f"crewctl claim heartbeat {_ID} --worked 25m",
        f"crewctl claim heartbeat {_ID} --worked 1500",
    ),
)
@click.argument("claim_id")
@click.option(
    "--worked",
    "worked_seconds",
    type=Duration(),
    required=True,
    metavar="SECONDS_OR_DURATION",
    help="Total time worked on the claim so far, e.g. 1500, 25m, 1h30m.",
)
@pass_state
def heartbeat(state: State, claim_id: str, worked_seconds: int) -> None:
    """Extend CLAIM_ID's lease by the project's claim timeout and report the time worked.

    The lease never moves past the claim's max_deadline_at. The time worked is the total
    so far: never less than an earlier report, nor more than the claim has been live. A
    claim the client cut short (cancelled, paused, closed) takes no more heartbeats, but
    its work may still be submitted until its deadline.
    """
    state.emit(state.claims().heartbeat(claim_id, worked_seconds), print_claim)


@claim.command("release", epilog=example(f"crewctl claim release {_ID}"))
@click.argument("claim_id")
@pass_state
def release(state: State, claim_id: str) -> None:
    """Give CLAIM_ID's slot back at once; it is offered again if the task is still open.

    A released claim is not paid.
    """
    state.emit(state.claims().release(claim_id), print_claim)
