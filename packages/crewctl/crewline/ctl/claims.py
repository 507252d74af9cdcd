"""``crewctl claim ...``: a contractor's claims, on the matcher, with the contractor's token.

The credential is the contractor's token (--credential or $CREWLINE_CREDENTIAL), as
``crewctl contractor token`` printed it; never the operator credential.
"""

from __future__ import annotations

import json
from datetime import UTC
from typing import IO, Any

import click

from crewline.ctl.answers import describe_spec, print_answer_spec
from crewline.ctl.app import State, example, pass_state
from crewline.ctl.errors import refusal, unreachable
from crewline.ctl.output import note, print_record, print_rows, shorten
from crewline.ctl.pages import Paging, paging_options, print_more
from crewline.ctl.params import Duration, new_request_id, parse_instant
from crewline.ctl.projects import describe_terms, money_text
from crewline.ctl.records.claims import (
    ClaimPage,
    ClaimRecord,
    SegmentRecord,
    claim_page_record,
    claim_record,
    segment_pb,
    status_filter,
)
from crewline.ctl.submissions import pending_text

CLAIM_STATUSES = ("active", "submitted", "ended")
_ID = "01JA2B3C4D5E6F7G8H9J0KMNPQ"


def pay_terms_text(claim: ClaimRecord) -> str | None:
    """The claim's frozen terms in words; ``unpaid`` for an unpaid exam's question."""
    if claim.get("unpaid"):
        return "unpaid (the work is not paid)"
    terms = claim["pay_terms"]
    return describe_terms(terms) if terms is not None else None


def print_claim(claim: ClaimRecord) -> None:
    shown: dict[str, object] = dict(claim)
    shown["pay_terms"] = pay_terms_text(claim)
    shown["payload_json"] = shorten(claim["payload_json"])
    shown["payload_base64"] = shorten(claim["payload_base64"])
    shown["instructions"] = shorten(claim["instructions"])
    shown["earned"] = money_text(claim.get("earned"))
    shown["pending"] = pending_text(claim.get("pending"))
    if claim.get("unpaid") and claim["review"] in ("accepted", "pending"):
        shown["earned"] = "nothing: unpaid"
    segments = claim.get("segments") or []
    shown["segments"] = (
        "; ".join(f"{s['started_at']} to {s['ended_at']}" for s in segments[:5])
        + (f"; ... ({len(segments)} in all; --json shows all)" if len(segments) > 5 else "")
    ) or None
    shown["answer_spec"] = describe_spec(claim["answer_spec"])
    print_record("Claim", shown)
    print_answer_spec(claim["answer_spec"])


def print_page(page: ClaimPage) -> None:
    columns = (
        "claim_id",
        "task_id",
        "project_title",
        "status",
        "deadline_at",
        "worked_seconds",
        "cut",
        "end_reason",
        "review",
    )
    print_rows("Claims", page["claims"], columns)
    print_more(page)


@click.group(
    "claim",
    epilog=example(
        "crewctl offers list",
        "crewctl claim create 0f3e8c1a-5b7d-4c2e-9a6f-1d2b3c4e5f60",
        "crewctl claim list --status active",
        f"crewctl claim heartbeat {_ID} --worked 25m",
        f"crewctl claim submit {_ID} --result-file answer.json --worked 40m",
    ),
)
def claim() -> None:
    """A contractor's claims, on the matcher, with the contractor's token.

    The credential is a contractor token (--credential or $CREWLINE_CREDENTIAL), as
    `crewctl contractor token` issues it; never the operator credential. A claim's id is
    also the id of the submission it hands in: the client's `crewctl submission`
    commands call it SUBMISSION_ID.
    """


@claim.command(
    "create",
    epilog=example(
        "crewctl claim create 0f3e8c1a-5b7d-4c2e-9a6f-1d2b3c4e5f60",
        "crewctl claim create 0f3e8c1a-5b7d-4c2e-9a6f-1d2b3c4e5f60 --request-id crewctl-7b2e",
    ),
)
@click.argument("task_id")
@click.option("--request-id", help="Idempotency key; default: a fresh crewctl-<uuid4>.")
@pass_state
def create(state: State, task_id: str, request_id: str | None) -> None:
    """Claim a slot of TASK_ID (from `crewctl offers list`), first come first served.

    The claim's lease runs out at its deadline_at unless you heartbeat or submit; its pay
    terms and answer spec (the fields the result must hold, shown after the claim) are
    frozen now. A refusal says why (NO_FREE_SLOT, NOT_QUALIFIED, BLOCKED,
    AT_CLAIM_LIMIT, ALREADY_CLAIMED). The request id makes it safe to retry: the same id
    returns the same claim; on a failure crewctl says how to retry with it.
    """
    request_id = request_id or new_request_id()
    try:
        with state.contractor() as contractor:
            granted = contractor.claim(task_id, request_id=request_id)
    except Exception as error:
        failure = refusal(error)
        if failure is not None and unreachable(failure):
            note(
                "To retry without claiming twice:"
                f" crewctl claim create {task_id} --request-id {request_id}"
            )
        raise
    state.emit(claim_record(granted.raw), print_claim)


@claim.command("get", epilog=example(f"crewctl claim get {_ID}"))
@click.argument("claim_id")
@pass_state
def get(state: State, claim_id: str) -> None:
    """The claim CLAIM_ID: its lease, the time reported, and how it ended.

    CLAIM_ID is also the id of the submission it hands in (a client's SUBMISSION_ID).
    """
    with state.contractor() as contractor:
        found = claim_record(contractor.get_claim(claim_id).raw)
    state.emit(found, print_claim)


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
@paging_options(most=100, server_default=50)
@pass_state
def list_(
    state: State,
    status: str | None,
    task_id: str,
    project_id: str,
    paging: Paging,
) -> None:
    """The caller's claims, newest first."""
    wanted = status_filter(status.lower() if status else None)
    with state.contractor() as contractor:
        page = paging.read(
            lambda size, token: claim_page_record(
                contractor.list_claims_page(
                    status=wanted,
                    task_id=task_id,
                    project_id=project_id,
                    page_size=size,
                    page_token=token,
                )
            ),
            "claims",
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
    its work may still be submitted until its deadline. CLAIM_ID is also the id of the
    submission it hands in (a client's SUBMISSION_ID).
    """
    with state.contractor() as contractor:
        extended = claim_record(contractor.heartbeat(claim_id, worked_seconds=worked_seconds).raw)
    state.emit(extended, print_claim)


@claim.command("release", epilog=example(f"crewctl claim release {_ID}"))
@click.argument("claim_id")
@pass_state
def release(state: State, claim_id: str) -> None:
    """Give CLAIM_ID's slot back at once; it is offered again if the task is still open.

    A released claim is not paid. CLAIM_ID is also the id its submission would have had.
    """
    with state.contractor() as contractor:
        released = claim_record(contractor.release(claim_id).raw)
    state.emit(released, print_claim)


def read_segments(source: IO[str]) -> list[SegmentRecord]:
    """A JSON array of {"started_at": TIME, "ended_at": TIME} (ISO 8601 with a zone), as
    segment records in UTC; a mistake names the segment, e.g. ``segments[2].ended_at``."""
    try:
        data: Any = json.load(source)
    except json.JSONDecodeError as err:
        raise click.BadParameter(f"not JSON: {err}", param_hint="--segments") from None
    if not isinstance(data, list):
        raise click.BadParameter(
            'expected a JSON array of {"started_at": ..., "ended_at": ...}',
            param_hint="--segments",
        )
    found: list[SegmentRecord] = []
    for i, item in enumerate(data):
        times: dict[str, str] = {}
        for name in ("started_at", "ended_at"):
            value = item.get(name) if isinstance(item, dict) else None
            if not isinstance(value, str):
                raise click.BadParameter(
                    f"segments[{i}].{name} is missing: give an ISO 8601 time",
                    param_hint="--segments",
                )
            try:
                at = parse_instant(value).astimezone(UTC)
            except ValueError as err:
                raise click.BadParameter(
                    f"segments[{i}].{name}: {err}", param_hint="--segments"
                ) from None
            times[name] = at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        found.append({"started_at": times["started_at"], "ended_at": times["ended_at"]})
    return found


@claim.command(
    "submit",
    epilog=example(
        f"crewctl claim submit {_ID} --result-file answer.json --worked 1h30m",
        f"crewctl claim submit {_ID} --result-file answer.json --segments segments.json",
        f"echo '{{\"rating\": 4}}' | crewctl claim submit {_ID} --result-file -",
    ),
)
@click.argument("claim_id")
@click.option(
    "--result-file",
    type=click.File("rb"),
    required=True,
    help="The work to hand in (at most 512 KiB); - reads stdin.",
)
@click.option(
    "--worked",
    "worked_seconds",
    type=Duration(minimum=1),
    metavar="SECONDS_OR_DURATION",
    help="Total time worked, e.g. 2400, 40m, 1h30m: at most the time the claim has been live.",
)
@click.option(
    "--segments",
    "segments_file",
    type=click.File("r"),
    metavar="FILE.json",
    help='Tracked time: a JSON array of {"started_at": ..., "ended_at": ...} (ISO 8601),'
    " within the claim's life and not overlapping.",
)
@pass_state
def submit(
    state: State,
    claim_id: str,
    result_file: IO[bytes],
    worked_seconds: int | None,
    segments_file: IO[str] | None,
) -> None:
    """Hand in the work for CLAIM_ID before its deadline_at, with the time worked.

    The time worked is --worked or --segments (not both); with neither, the last
    heartbeat's report counts. On hourly terms the claim earns its frozen rate times
    the time worked, up to the project's cap; `crewctl claim get` then shows what it
    earns and, once the client reviews it, the review and any feedback. Submitting the
    same work again returns the submitted claim unchanged; other work is refused
    (ALREADY_SUBMITTED): a submission is final. The submission takes CLAIM_ID as its
    id: the client reviews it as SUBMISSION_ID.

    Under an answer spec (`crewctl claim get` shows it) the result file is a JSON object
    holding its fields, e.g. {"severity": "mild", "confidence": 0.8}. Work that does not
    fit is refused naming the field (result.severity: 'moderate' is not one of
    mild|severe) and nothing is stored: fix it and submit again.
    """
    if worked_seconds is not None and segments_file is not None:
        raise click.UsageError("give --worked or --segments, not both")
    segments = read_segments(segments_file) if segments_file is not None else []
    result = result_file.read()
    with state.contractor() as contractor:
        submitted = contractor.submit(
            claim_id,
            result,
            worked_seconds=worked_seconds or 0,
            segments=[segment_pb(s) for s in segments],
        )
    state.emit(claim_record(submitted.raw), print_claim)
