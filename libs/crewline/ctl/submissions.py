"""``crewctl submission ...``: a client reviews the work handed in, on the dispatcher, with
the client's API key: list, get, accept, reject, bonus, export, and a decisions file.

Every write is idempotent, so a command (or a whole decisions file) can be run again
after a failure: accepting accepted work, or rejecting rejected work with the same
feedback, returns it unchanged, and a bonus's idempotency key returns the same bonus
forever.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import IO, Any, TypedDict

import click

from crewline.ctl.api import MoneyRecord, RpcFailed
from crewline.ctl.app import State, example, pass_state
from crewline.ctl.errors import CtlError, ExitCode, describe
from crewline.ctl.output import note, print_record, print_rows, shorten
from crewline.ctl.pages import print_more, read_pages
from crewline.ctl.projects import money_text, positive_minor_units
from crewline.ctl.submission_api import (
    NewBonus,
    SubmissionPage,
    SubmissionRecord,
    Submissions,
)

SUBMISSION_STATUSES = ("pending_review", "accepted", "rejected")
DECISIONS = ("accept", "reject", "bonus")
MAX_PAGE_SIZE = 500
_ID = "3f2b8c1e-9d4a-4c0e-8f5b-2a7d6e1c9b30"
_PROJECT = "6f1c2a4e-8b1d-4f7e-9a51-3d2b7c9e0f12"
# Decisions-file bonuses without a "key" get one derived from what they grant, so a
# re-run grants nothing twice.
_REVIEW_KEYS = uuid.UUID("5e0c9a52-3b7e-4f4d-9a41-8c2f6d1b7e90")
# Refusals that concern one decision: the file goes on. Any other (the stack is down,
# the key is wrong) stops it.
_PER_DECISION = frozenset(
    {"FAILED_PRECONDITION", "INVALID_ARGUMENT", "NOT_FOUND", "ALREADY_EXISTS", "OUT_OF_RANGE"}
)


def _shown(sub: SubmissionRecord) -> dict[str, object]:
    shown: dict[str, object] = dict(sub)
    shown["earned"] = money_text(sub["earned"])
    shown["bonuses"] = (
        "; ".join(f"{money_text(b['amount'])} ({b['reason']})" for b in sub["bonuses"]) or None
    )
    shown["result_text"] = shorten(sub["result_text"])
    shown["result_base64"] = shorten(sub["result_base64"])
    return shown


def print_submission(sub: SubmissionRecord) -> None:
    print_record("Submission", _shown(sub))


def print_page(page: SubmissionPage) -> None:
    columns = ("submission_id", "contractor_id", "status", "earned", "submitted_at")
    print_rows("Submissions", [_shown(s) for s in page["submissions"]], columns)
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


def _one_of(project_id: str, task_id: str) -> None:
    if bool(project_id) == bool(task_id):
        raise click.UsageError("give --project or --task (one of them)")


def _every(
    calls: Submissions, project_id: str, task_id: str, status: str | None
) -> Iterator[list[SubmissionRecord]]:
    """Every page of the submissions, in order."""
    token = ""
    while True:
        page = calls.list_submissions(project_id, task_id, status, MAX_PAGE_SIZE, token)
        yield page["submissions"]
        token = page["next_page_token"]
        if not token:
            return


@click.group(
    "submission",
    epilog=example(
        f"crewctl submission list --project {_PROJECT} --status pending_review",
        f"crewctl submission accept {_ID}",
        f"crewctl submission reject {_ID} --feedback 'The rating ignores the second image.'",
        f"crewctl submission bonus {_ID} 5.00 USD --reason 'Thorough notes'",
        "crewctl submission review --decisions decisions.jsonl",
    ),
)
def submission() -> None:
    """A client reviews submitted work, on the dispatcher, with the client's API key.

    Accepted work is paid once (the contractor's earnings plus the platform fee). A
    rejection carries feedback the contractor sees, and may be overridden within 30 days
    (accept --override-rejection). Work not reviewed by its auto_accept_at is accepted
    automatically. The credential is an API key (--credential or $CREWLINE_CREDENTIAL).
    """


_status_option = click.option(
    "--status", type=click.Choice(SUBMISSION_STATUSES, case_sensitive=False), help="Only these."
)
_project_option = click.option("--project", "project_id", default="", help="This project's.")
_task_option = click.option("--task", "task_id", default="", help="This task's.")


@submission.command(
    "list",
    epilog=example(
        f"crewctl submission list --project {_PROJECT} --status pending_review",
        f"crewctl --json submission list --task {_ID} --all",
    ),
)
@_project_option
@_task_option
@_status_option
@click.option(
    "--page-size", type=click.IntRange(0, MAX_PAGE_SIZE), default=0, help="1-500; 0: 100."
)
@click.option("--page-token", default="", help="The previous page's token.")
@click.option("--all", "every", is_flag=True, help="Every page, as one list.")
@pass_state
def list_(
    state: State,
    project_id: str,
    task_id: str,
    status: str | None,
    page_size: int,
    page_token: str,
    every: bool,
) -> None:
    """The submissions of a project (--project) or a task (--task), oldest first."""
    _one_of(project_id, task_id)
    calls = state.submissions()
    status = status.lower() if status else None
    page = read_pages(
        lambda token: calls.list_submissions(project_id, task_id, status, page_size, token),
        "submissions",
        page_token,
        every,
    )
    state.emit(page, print_page)


@submission.command("get", epilog=example(f"crewctl submission get {_ID}"))
@click.argument("submission_id")
@pass_state
def get(state: State, submission_id: str) -> None:
    """The submission SUBMISSION_ID: its result, review, earnings and bonuses."""
    state.emit(state.submissions().get_submission(submission_id), print_submission)


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
    """Accept SUBMISSION_ID: the contractor is paid for it, once.

    Accepting accepted work returns it unchanged. Rejected work needs
    --override-rejection, within 30 days of the rejection.
    """
    accepted = state.submissions().accept(submission_id, feedback, override_rejection)
    state.emit(accepted, print_submission)


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
    """Reject SUBMISSION_ID with feedback: it is not paid, unless you override the
    rejection within 30 days (accept --override-rejection).

    Accepted work cannot be rejected. Rejecting again with the same feedback returns
    the submission unchanged.
    """
    state.emit(state.submissions().reject(submission_id, feedback), print_submission)


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
    SUBMISSION_ID, on top of its pay; the platform fee is charged on top.

    The key makes it safe to retry, forever: the same key returns the same bonus, and
    is refused for a different bonus.
    """
    value = money(amount, currency)
    key = key or f"crewctl-{uuid.uuid4()}"
    try:
        granted = state.submissions().grant_bonus(submission_id, key, value, reason)
    except RpcFailed:
        note(
            f"To retry without paying twice: crewctl submission bonus {submission_id}"
            f" {amount} {currency} --reason {json.dumps(reason)} --key {key}"
        )
        raise
    state.emit(granted, print_new_bonus)


@submission.command(
    "export",
    epilog=example(
        f"crewctl submission export --project {_PROJECT} > submissions.jsonl",
        f"crewctl submission export --task {_ID} --status accepted | jq -c .result_text",
    ),
)
@_project_option
@_task_option
@_status_option
@pass_state
def export(state: State, project_id: str, task_id: str, status: str | None) -> None:
    """Every submission of a project or a task as JSON Lines on stdout, one submission a
    line with its result (result_text when UTF-8, else result_base64), oldest first.

    A count goes to stderr. --json changes nothing: the output is always JSON Lines.
    """
    _one_of(project_id, task_id)
    calls = state.submissions()
    count = 0
    for page in _every(calls, project_id, task_id, status.lower() if status else None):
        for sub in page:
            click.echo(json.dumps(sub, separators=(",", ":"), ensure_ascii=False))
        count += len(page)
    note(f"Exported {count} submission{'s' if count != 1 else ''}")


# --- a decisions file -------------------------------------------------------------------


@dataclass(frozen=True)
class Decision:
    line: int
    submission_id: str
    decision: str  # accept, reject or bonus
    feedback: str = ""
    override: bool = False
    amount: MoneyRecord | None = None  # bonus
    reason: str = ""  # bonus
    key: str = ""  # bonus


class DecisionFailed(TypedDict):
    line: int
    submission_id: str
    decision: str
    error: str


class ReviewSummary(TypedDict):
    decisions: int
    accepted: int
    rejected: int
    bonuses: int
    failed: list[DecisionFailed]


def bonus_key(submission_id: str, amount: MoneyRecord, reason: str) -> str:
    """The key of a decisions-file bonus given none: the same bonus, the same key."""
    name = "\x1f".join((submission_id, amount["currency"], str(amount["amount_minor"]), reason))
    return f"review-{uuid.uuid5(_REVIEW_KEYS, name)}"


def _text(data: Mapping[str, Any], name: str, *, required: bool = False) -> str:
    value = data.get(name, "")
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ValueError(f'"{name}" must be a string')
    if required and not value.strip():
        raise ValueError(f'"{name}" is required')
    return value


def parse_decision(line: int, text: str) -> Decision:
    """One line of a decisions file; ValueError says what is wrong with it."""
    try:
        data = json.loads(text, parse_float=Decimal)  # amounts stay exact
    except json.JSONDecodeError as err:
        raise ValueError(f"not JSON ({err.msg})") from None
    if not isinstance(data, dict):
        raise ValueError("expected a JSON object")
    submission_id = _text(data, "submission_id", required=True)
    decision = _text(data, "decision", required=True).lower()
    if decision not in DECISIONS:
        raise ValueError(f'"decision" must be one of {", ".join(DECISIONS)}, not {decision!r}')
    if decision == "accept":
        override = data.get("override_rejection", False)
        if not isinstance(override, bool):
            raise ValueError('"override_rejection" must be true or false')
        return Decision(line, submission_id, decision, _text(data, "feedback"), override)
    if decision == "reject":
        return Decision(line, submission_id, decision, _text(data, "feedback", required=True))
    raw = data.get("amount")
    if isinstance(raw, bool) or not isinstance(raw, str | int | Decimal):
        raise ValueError('"amount" is required, e.g. "12.50"')
    currency = _text(data, "currency", required=True)
    try:
        amount = money(str(raw), currency)
    except click.BadParameter as err:
        raise ValueError(err.message) from None
    reason = _text(data, "reason", required=True)
    key = _text(data, "key") or bonus_key(submission_id, amount, reason)
    return Decision(line, submission_id, decision, amount=amount, reason=reason, key=key)


def read_decisions(source: IO[str]) -> list[Decision]:
    """Every decision in the file, or a usage error listing the lines that are wrong
    (then nothing is applied). Blank lines are skipped."""
    found: list[Decision] = []
    problems: list[str] = []
    for number, text in enumerate(source, start=1):
        if not text.strip():
            continue
        try:
            found.append(parse_decision(number, text))
        except ValueError as err:
            problems.append(f"line {number}: {err}")
    if problems:
        shown = "; ".join(problems[:10])
        more = f" (and {len(problems) - 10} more)" if len(problems) > 10 else ""
        raise CtlError(
            f"{source.name}: {shown}{more}",
            exit_code=ExitCode.USAGE,
            hint="nothing was applied; fix the lines and run it again",
        )
    return found


def apply(calls: Submissions, decision: Decision) -> None:
    if decision.decision == "accept":
        calls.accept(decision.submission_id, decision.feedback, decision.override)
    elif decision.decision == "reject":
        calls.reject(decision.submission_id, decision.feedback)
    else:
        assert decision.amount is not None
        calls.grant_bonus(decision.submission_id, decision.key, decision.amount, decision.reason)


_COUNTED = {"accept": "accepted", "reject": "rejected", "bonus": "bonuses"}


def review_decisions(calls: Submissions, decisions: list[Decision]) -> ReviewSummary:
    """Apply each decision in order; refusals of one decision are collected, and any
    other refusal stops the run (it says how far it got)."""
    summary: ReviewSummary = {
        "decisions": len(decisions),
        "accepted": 0,
        "rejected": 0,
        "bonuses": 0,
        "failed": [],
    }
    for decision in decisions:
        try:
            apply(calls, decision)
        except RpcFailed as failure:
            if failure.code not in _PER_DECISION:
                done = summary["accepted"] + summary["rejected"] + summary["bonuses"]
                note(
                    f"Stopped at line {decision.line} after {done} decisions; run the file"
                    " again once fixed: decisions already applied are not applied twice"
                )
                raise
            summary["failed"].append(
                {
                    "line": decision.line,
                    "submission_id": decision.submission_id,
                    "decision": decision.decision,
                    "error": describe(failure),
                }
            )
            continue
        summary[_COUNTED[decision.decision]] += 1  # type: ignore[literal-required]
    return summary


def print_summary(summary: ReviewSummary) -> None:
    counts = {k: v for k, v in summary.items() if k != "failed"}
    print_record("Review", {**counts, "failed": len(summary["failed"])})
    if summary["failed"]:
        print_rows("Failed", summary["failed"], ("line", "submission_id", "decision", "error"))


@submission.command(
    "review",
    epilog=example(
        "crewctl submission review --decisions decisions.jsonl",
        "crewctl --json submission review --decisions - < decisions.jsonl",
    ),
)
@click.option(
    "--decisions",
    "source",
    type=click.File("r"),
    required=True,
    metavar="FILE.jsonl",
    help="One JSON decision a line; - reads stdin.",
)
@pass_state
@click.pass_context
def review(ctx: click.Context, state: State, source: IO[str]) -> None:
    """Apply a file of review decisions, one JSON object a line:

    \b
      {"submission_id": "...", "decision": "accept", "feedback": "Great"}
      {"submission_id": "...", "decision": "accept", "override_rejection": true}
      {"submission_id": "...", "decision": "reject", "feedback": "Why (required)"}
      {"submission_id": "...", "decision": "bonus", "amount": "5.00",
       "currency": "USD", "reason": "Thorough", "key": "optional"}

    The whole file is checked first: if a line is malformed nothing is applied (exit 2).
    Then each decision is applied in order and a summary printed. Running the file again
    is safe: accepted and rejected work come back unchanged, and a bonus without a "key"
    gets one derived from its submission, amount, currency and reason, so it is never
    paid twice. Exits 1 if any decision was refused (they are listed with the reason).
    """
    decisions = read_decisions(source)
    summary = review_decisions(state.submissions(), decisions)
    state.emit(summary, print_summary)
    if summary["failed"]:
        note(f"{len(summary['failed'])} decision(s) refused; see the list above")
        ctx.exit(ExitCode.REFUSED)
