"""``crewctl submission review --file``: a client's review decisions from a JSON Lines
file, each line applied in order with its result, safe to run again."""

from __future__ import annotations

from typing import IO, TYPE_CHECKING, TypedDict

import click

from crewline.ctl.app import State, example, pass_state
from crewline.ctl.decisions import Decision, bonus_key, decisions_help, parse_decision
from crewline.ctl.errors import ExitCode, bad_lines, describe, refusal
from crewline.ctl.output import note, print_record, print_rows
from crewline.ctl.pb import MoneyRecord
from crewline.ctl.records.submissions import money_pb

if TYPE_CHECKING:
    from crewline.client.sync import Client

# Refusals that concern one decision: the file goes on. Any other (the stack is down,
# the key is wrong) stops it.
_PER_DECISION = frozenset(
    {"FAILED_PRECONDITION", "INVALID_ARGUMENT", "NOT_FOUND", "ALREADY_EXISTS", "OUT_OF_RANGE"}
)
__all__ = ["bonus_key", "parse_decision", "read_decisions", "review"]


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
        paired = decision.bonus is not None and decision.decision != "bonus"
        what = decision.decision + ("+bonus" if paired else "")
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


_REVIEW_HELP = f"""Apply a file of review decisions, one JSON object a line.

{decisions_help()}

The whole file is checked first: if a line is malformed nothing is applied (exit 2).
Then each line is applied in order and its result printed (applied, or failed with the
reason), then the counts. Running the file again is safe: accepted and rejected work
come back unchanged, and a bonus without a "key" is never paid twice. Exits 1 if any
decision was refused (they are listed with the reason).
"""


@click.command(
    "review",
    help=_REVIEW_HELP,
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
    decisions = read_decisions(source)
    with state.client() as client:
        summary = review_decisions(client, decisions)
    state.emit(summary, print_summary)
    if summary["failed"]:
        note(f"{len(summary['failed'])} decision(s) refused; see the list above")
        ctx.exit(ExitCode.REFUSED)
