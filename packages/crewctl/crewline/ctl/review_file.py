"""``crewctl submission review --file``: a client's review decisions from a JSON Lines
file, each line applied in order with its result, safe to run again."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import IO, TYPE_CHECKING, Any, TypedDict

import click

from crewline.ctl.app import State, example, pass_state
from crewline.ctl.errors import ExitCode, bad_lines, describe, refusal
from crewline.ctl.output import note, print_record, print_rows
from crewline.ctl.pb import MoneyRecord
from crewline.ctl.records.submissions import money_pb
from crewline.ctl.submissions import money

if TYPE_CHECKING:
    from crewline.client.sync import Client

DECISIONS = ("accept", "reject", "bonus")
# Refusals that concern one decision: the file goes on. Any other (the stack is down,
# the key is wrong) stops it.
_PER_DECISION = frozenset(
    {"FAILED_PRECONDITION", "INVALID_ARGUMENT", "NOT_FOUND", "ALREADY_EXISTS", "OUT_OF_RANGE"}
)

# Decisions-file bonuses without a "key" get one derived from what they grant, so a
# re-run grants nothing twice.
_REVIEW_KEYS = uuid.UUID("5e0c9a52-3b7e-4f4d-9a41-8c2f6d1b7e90")


@dataclass(frozen=True, kw_only=True)
class Bonus:
    amount: MoneyRecord
    reason: str
    key: str


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
    bonus: Bonus | None = None  # an accept or reject with a bonus as well


class DecisionFailed(TypedDict):
    line: int
    submission_id: str
    decision: str
    error: str


class LineResult(TypedDict):
    line: int
    submission_id: str
    decision: str  # with "+bonus" when the line grants one too
    outcome: str  # applied or failed
    error: str | None


class ReviewSummary(TypedDict):
    decisions: int
    accepted: int
    rejected: int
    bonuses: int
    failed: list[DecisionFailed]
    results: list[LineResult]  # one per line, in file order


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


def _bonus(data: Mapping[str, Any], submission_id: str, at: str = "") -> Bonus:
    """A bonus's fields, top-level in a "bonus" decision or under an accept's "bonus"."""
    raw = data.get("amount")
    if isinstance(raw, bool) or not isinstance(raw, str | int | Decimal):
        raise ValueError(f'"{at}amount" is required, e.g. "12.50"')
    try:
        currency = _text(data, "currency", required=True)
        reason = _text(data, "reason", required=True)
        amount = money(str(raw), currency)
    except click.BadParameter as err:
        raise ValueError(f'"{at}amount": {err.message}') from None
    except ValueError as err:
        raise ValueError(str(err).replace('"', f'"{at}', 1)) from None
    key = _text(data, "key") or bonus_key(submission_id, amount, reason)
    return Bonus(amount=amount, reason=reason, key=key)


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
    if decision == "bonus":
        bonus = _bonus(data, submission_id)
        return Decision(
            line, submission_id, decision, amount=bonus.amount, reason=bonus.reason, key=bonus.key
        )
    extra = data.get("bonus")
    if extra is not None and not isinstance(extra, dict):
        raise ValueError('"bonus" must be an object: {"amount", "currency", "reason"}')
    with_bonus = _bonus(extra, submission_id, "bonus.") if extra is not None else None
    if decision == "accept":
        override = data.get("override_rejection", False)
        if not isinstance(override, bool):
            raise ValueError('"override_rejection" must be true or false')
        feedback = _text(data, "feedback")
        return Decision(line, submission_id, decision, feedback, override, bonus=with_bonus)
    feedback = _text(data, "feedback", required=True)
    return Decision(line, submission_id, decision, feedback, bonus=with_bonus)


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
        raise bad_lines(source.name, problems, nothing_done="nothing was applied")
    return found


def _grant(client: Client, submission_id: str, key: str, amount: MoneyRecord, reason: str) -> None:
    client.grant_bonus(submission_id, amount=money_pb(amount), reason=reason, idempotency_key=key)


def apply(client: Client, decision: Decision, counts: ReviewSummary) -> None:
    """Apply one line (its review, then its bonus), counting each step that succeeds."""
    if decision.decision == "accept":
        client.accept(
            decision.submission_id,
            feedback=decision.feedback,
            override_rejection=decision.override,
        )
        counts["accepted"] += 1
    elif decision.decision == "reject":
        client.reject(decision.submission_id, feedback=decision.feedback)
        counts["rejected"] += 1
    else:
        assert decision.amount is not None
        _grant(client, decision.submission_id, decision.key, decision.amount, decision.reason)
        counts["bonuses"] += 1
    if decision.bonus is not None:
        extra = decision.bonus
        _grant(client, decision.submission_id, extra.key, extra.amount, extra.reason)
        counts["bonuses"] += 1


def review_decisions(client: Client, decisions: list[Decision]) -> ReviewSummary:
    """Apply each decision in order; refusals of one decision are collected, and any
    other refusal stops the run (it says how far it got)."""
    summary: ReviewSummary = {
        "decisions": len(decisions),
        "accepted": 0,
        "rejected": 0,
        "bonuses": 0,
        "failed": [],
        "results": [],
    }
    for decision in decisions:
        what = decision.decision + ("+bonus" if decision.bonus else "")
        result: LineResult = {
            "line": decision.line,
            "submission_id": decision.submission_id,
            "decision": what,
            "outcome": "applied",
            "error": None,
        }
        try:
            apply(client, decision, summary)
        except Exception as error:
            failure = refusal(error)
            if failure is None:
                raise
            if failure.code_name not in _PER_DECISION:
                note(
                    f"Stopped at line {decision.line} after {len(summary['results'])} decisions;"
                    " run the file again once fixed: decisions already applied are not"
                    " applied twice"
                )
                raise
            result["outcome"], result["error"] = "failed", describe(failure)
            summary["failed"].append(
                {
                    "line": decision.line,
                    "submission_id": decision.submission_id,
                    "decision": what,
                    "error": describe(failure),
                }
            )
        summary["results"].append(result)
    return summary


def print_summary(summary: ReviewSummary) -> None:
    columns = ("line", "submission_id", "decision", "outcome", "error")
    print_rows("Decisions", summary["results"], columns)
    counts = {k: v for k, v in summary.items() if k not in ("failed", "results")}
    print_record("Review", {**counts, "failed": len(summary["failed"])})


@click.command(
    "review",
    epilog=example(
        "crewctl submission review --file decisions.jsonl",
        "crewctl --json submission review --file - < decisions.jsonl",
    ),
)
@click.option(
    "--file",
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
      {"submission_id": "...", "decision": "accept", "feedback": "Thanks",
       "bonus": {"amount": "2.00", "currency": "USD", "reason": "Fast"}}
      {"submission_id": "...", "decision": "bonus", "amount": "5.00",
       "currency": "USD", "reason": "Thorough", "key": "optional"}

    The whole file is checked first: if a line is malformed nothing is applied (exit 2).
    Then each line is applied in order and its result printed (applied, or failed with
    the reason), then the counts. Running the file again
    is safe: accepted and rejected work come back unchanged, and a bonus without a "key"
    gets one derived from its submission, amount, currency and reason, so it is never
    paid twice. Exits 1 if any decision was refused (they are listed with the reason).
    """
    decisions = read_decisions(source)
    with state.client() as client:
        summary = review_decisions(client, decisions)
    state.emit(summary, print_summary)
    if summary["failed"]:
        note(f"{len(summary['failed'])} decision(s) refused; see the list above")
        ctx.exit(ExitCode.REFUSED)
