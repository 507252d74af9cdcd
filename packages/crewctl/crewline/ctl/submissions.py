"""``crewctl submission ...``: a client reviews the work handed in, on the dispatcher, with
the client's API key: list, get, accept, reject, bonus (a decisions file:
``crewline.ctl.review_file``; the export: ``crewline.ctl.export``).

Every write is idempotent, so a command (or a whole decisions file) can be run again
after a failure: accepting accepted work, or rejecting rejected work with the same
feedback, returns it unchanged, and a bonus's idempotency key returns the same bonus
forever.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import click

from crewline.ctl.app import State, example, pass_state
from crewline.ctl.errors import refusal
from crewline.ctl.output import note, print_record, print_rows, shorten
from crewline.ctl.pages import Paging, paging_options, print_more
from crewline.ctl.params import new_request_id
from crewline.ctl.pb import MoneyRecord
from crewline.ctl.projects import money_text, positive_minor_units
from crewline.ctl.records.submissions import (
    NewBonus,
    SubmissionPage,
    SubmissionRecord,
    flag_kinds,
    flags_text,
    money_pb,
    new_bonus_record,
    page_record,
    status_filter,
    submission_record,
)

if TYPE_CHECKING:
    from crewline.client.sync import Client

SUBMISSION_STATUSES = ("pending_review", "accepted", "rejected")
MAX_PAGE_SIZE = 500
_ID = "3f2b8c1e-9d4a-4c0e-8f5b-2a7d6e1c9b30"
_PROJECT = "6f1c2a4e-8b1d-4f7e-9a51-3d2b7c9e0f12"


def pending_text(pending: MoneyRecord | None) -> str | None:
    """What work awaiting review will earn, said as such."""
    return f"{money_text(pending)} if accepted" if pending else None


def _shown(sub: SubmissionRecord) -> dict[str, object]:
    shown: dict[str, object] = dict(sub)
    shown["flags"] = flags_text(sub["flags"])
    shown["earned"] = money_text(sub["earned"])
    shown["pending"] = pending_text(sub["pending"])
    shown["bonuses"] = (
        "; ".join(f"{money_text(b['amount'])} ({b['reason']})" for b in sub["bonuses"]) or None
    )
    shown["result_text"] = shorten(sub["result_text"])
    shown["result_base64"] = shorten(sub["result_base64"])
    return shown


def print_submission(sub: SubmissionRecord) -> None:
    print_record("Submission", _shown(sub))


def print_page(page: SubmissionPage) -> None:
    columns = (
        "submission_id",
        "contractor_id",
        "status",
        "earned",
        "pending",
        "submitted_at",
        "flags",
    )
    rows = [{**_shown(s), "flags": flag_kinds(s["flags"])} for s in page["submissions"]]
    print_rows("Submissions", rows, columns)
    print_more(page)


def print_new_bonus(granted: NewBonus) -> None:
    bonus: dict[str, object] = dict(granted["bonus"])
    bonus["amount"] = money_text(granted["bonus"]["amount"])
    print_record("Bonus", bonus)
    click.echo(
        f"Idempotency key: {granted['bonus']['idempotency_key']}"
        " (repeat it to retry: the bonus is never paid twice)"
    )


def money(amount: str, currency: str) -> MoneyRecord:
    """``12.50`` ``USD`` as a positive money record, exactly (never a float)."""
    return {"currency": currency.upper(), "amount_minor": positive_minor_units(amount, currency)}


def one_of(project_id: str, task_id: str) -> None:
    if bool(project_id) == bool(task_id):
        raise click.UsageError("give --project or --task (one of them)")


def list_page(
    client: Client,
    project_id: str,
    task_id: str,
    status: str | None,
    flagged: bool,
    size: int,
    token: str,
) -> SubmissionPage:
    """One page of the submissions of a project or a task, by ``status`` word if given;
    only flagged ones if ``flagged``."""
    reply = client.list_submissions_page(
        project_id=project_id,
        task_id=task_id,
        status=status_filter(status),
        flagged_only=flagged,
        page_size=size,
        page_token=token,
    )
    return page_record(reply)


@click.group(
    "submission",
    epilog=example(
        f"crewctl submission list --project {_PROJECT} --status pending_review",
        f"crewctl submission accept {_ID}",
        f"crewctl submission reject {_ID} --feedback 'The rating ignores the second image.'",
        f"crewctl submission bonus {_ID} 5.00 USD --reason 'Thorough notes'",
        "crewctl submission review --file decisions.jsonl",
        f"crewctl submission export --project {_PROJECT} --format csv > submissions.csv",
    ),
)
def submission() -> None:
    """A client reviews submitted work, on the dispatcher, with the client's API key.

    Accepted work is paid once (the contractor's earnings plus the platform fee). A
    rejection carries feedback the contractor sees, and may be overridden within 30 days
    (accept --override-rejection). Work not reviewed by its auto_accept_at is accepted
    automatically, except flagged work: its time looks implausible (flags: fast, or
    implausible_time, with the evidence), so it has no auto_accept_at and waits for you
    (list --flagged). A flag decides nothing; accept or reject it as any other. The
    credential is an API key (--credential or $CREWLINE_CREDENTIAL).

    A submission's id is the id of the claim that handed it in: SUBMISSION_ID here is the
    contractor's CLAIM_ID.
    """


_status_option = click.option(
    "--status", type=click.Choice(SUBMISSION_STATUSES, case_sensitive=False), help="Only these."
)
_project_option = click.option("--project", "project_id", default="", help="This project's.")
_task_option = click.option("--task", "task_id", default="", help="This task's.")
flagged_option = click.option(
    "--flagged",
    is_flag=True,
    help="Only flagged work (time flags: fast or implausible_time); it awaits your review.",
)


@submission.command(
    "list",
    epilog=example(
        f"crewctl submission list --project {_PROJECT} --status pending_review",
        f"crewctl submission list --project {_PROJECT} --flagged",
        f"crewctl --json submission list --task {_ID} --all",
    ),
)
@_project_option
@_task_option
@_status_option
@flagged_option
@paging_options(most=500, server_default=100)
@pass_state
def list_(
    state: State,
    project_id: str,
    task_id: str,
    status: str | None,
    flagged: bool,
    paging: Paging,
) -> None:
    """The submissions of a project (--project) or a task (--task), oldest first; a
    flagged one shows the kinds of its flags (submission get shows the evidence)."""
    one_of(project_id, task_id)
    status = status.lower() if status else None
    with state.client() as client:
        page = paging.read(
            lambda size, token: list_page(
                client, project_id, task_id, status, flagged, size, token
            ),
            "submissions",
        )
    state.emit(page, print_page)


@submission.command("get", epilog=example(f"crewctl submission get {_ID}"))
@click.argument("submission_id")
@pass_state
def get(state: State, submission_id: str) -> None:
    """The submission SUBMISSION_ID: its result, review, earnings, flags and bonuses.

    SUBMISSION_ID is the id of the claim that handed it in (the contractor's CLAIM_ID).
    """
    with state.client() as client:
        found = submission_record(client.get_submission(submission_id).raw)
    state.emit(found, print_submission)


@submission.command(
    "accept",
    epilog=example(
        f"crewctl submission accept {_ID}",
        f"crewctl submission accept {_ID} --override-rejection --feedback 'Re-checked: fine.'",
    ),
)
@click.argument("submission_id")
@click.option("--feedback", default="", help="A note to the contractor (at most 2,000).")
@click.option(
    "--override-rejection",
    is_flag=True,
    help="Accept work you rejected, within 30 days of the rejection; it is paid then.",
)
@pass_state
def accept(state: State, submission_id: str, feedback: str, override_rejection: bool) -> None:
    """Accept SUBMISSION_ID (its claim's id): the contractor is paid for it, once.

    Accepting accepted work returns it unchanged. Rejected work needs
    --override-rejection, within 30 days of the rejection.
    """
    with state.client() as client:
        accepted = client.accept(
            submission_id, feedback=feedback, override_rejection=override_rejection
        )
    state.emit(submission_record(accepted.raw), print_submission)


@submission.command(
    "reject",
    epilog=example(
        f"crewctl submission reject {_ID} --feedback 'The rating ignores the second image.'"
    ),
)
@click.argument("submission_id")
@click.option("--feedback", required=True, help="Why (1-2,000 characters); the contractor sees it.")
@pass_state
def reject(state: State, submission_id: str, feedback: str) -> None:
    """Reject SUBMISSION_ID (its claim's id) with feedback: it is not paid, unless you override the
    rejection within 30 days (accept --override-rejection).

    Accepted work cannot be rejected. Rejecting again with the same feedback returns
    the submission unchanged.
    """
    with state.client() as client:
        rejected = submission_record(client.reject(submission_id, feedback=feedback).raw)
    state.emit(rejected, print_submission)


@submission.command(
    "bonus",
    epilog=example(
        f"crewctl submission bonus {_ID} 5.00 USD --reason 'Thorough notes'",
        f"crewctl submission bonus {_ID} 5.00 USD --reason 'Thorough notes' --key bonus-row-17",
    ),
)
@click.argument("submission_id")
@click.argument("amount")
@click.argument("currency")
@click.option("--reason", required=True, help="Why (1-500 characters); the contractor sees it.")
@click.option(
    "--key",
    help="Idempotency key (1-128 of A-Z a-z 0-9 . _ : @ -): the same key never pays twice;"
    " default: a fresh crewctl-<uuid4>, printed.",
)
@pass_state
def bonus(
    state: State, submission_id: str, amount: str, currency: str, reason: str, key: str | None
) -> None:
    """Pay a bonus of AMOUNT CURRENCY (e.g. 5.00 USD, the submission's currency) on
    SUBMISSION_ID (its claim's id), on top of its pay; the platform fee is charged on top.

    The key makes it safe to retry, forever: the same key returns the same bonus, and
    is refused for a different bonus.
    """
    value = money(amount, currency)
    key = key or new_request_id()
    try:
        with state.client() as client:
            granted = client.grant_bonus(
                submission_id, amount=money_pb(value), reason=reason, idempotency_key=key
            )
    except Exception as error:
        if refusal(error):
            note(
                f"To retry without paying twice: crewctl submission bonus {submission_id}"
                f" {amount} {currency} --reason {json.dumps(reason)} --key {key}"
            )
        raise
    state.emit(new_bonus_record(granted.raw), print_new_bonus)
