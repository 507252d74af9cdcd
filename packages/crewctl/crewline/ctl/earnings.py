"""``crewctl earnings``: what a contractor was paid (from the ledger), and what their work
awaiting review will earn if accepted and their projects' titles (from their own claims)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import click

from crewline.ctl.app import State, example, pass_state
from crewline.ctl.ledger import duration_text
from crewline.ctl.output import print_rows
from crewline.ctl.pb import MoneyRecord
from crewline.ctl.projects import money_text
from crewline.ctl.records.ledger import EarningsLineRecord, EarningsRecord, earnings_record

if TYPE_CHECKING:
    from crewline.client import sync

# The matcher's largest page of claims: fewest round trips over every submitted claim.
_PAGE = 100


@dataclass
class SubmittedWork:
    """What crewctl learns from the contractor's submitted claims: what the work awaiting
    review will earn if accepted (per currency, in minor units), on how many
    submissions, and each project's title (project id: title)."""

    pending: dict[str, int] = field(default_factory=dict)
    pending_submissions: int = 0
    titles: dict[str, str] = field(default_factory=dict)

    def pending_money(self) -> list[MoneyRecord]:
        return [{"currency": c, "amount_minor": m} for c, m in sorted(self.pending.items())]


def submitted_work(contractor: sync.Contractor) -> SubmittedWork:
    """One pass over every submitted claim of the contractor (a page of 100 at a time).
    Every project the ledger paid for has one: pay is booked only on accepted work."""
    from crewline.v1 import claim_pb2
    from crewline.v1 import work_service_pb2 as work_api

    seen = SubmittedWork()
    for claim in contractor.claims(status=work_api.CLAIM_STATUS_SUBMITTED, page_size=_PAGE):
        if claim.project_title:
            seen.titles[claim.project_id] = claim.project_title
        pb = claim.raw
        if pb.review == claim_pb2.REVIEW_STATE_PENDING and pb.HasField("earned"):
            currency = pb.earned.currency_code
            seen.pending[currency] = seen.pending.get(currency, 0) + pb.earned.amount_minor
            seen.pending_submissions += 1
    return seen


def _lines(lines: Sequence[EarningsLineRecord]) -> list[dict[str, object]]:
    return [
        {
            **line,
            "paid": money_text(line["paid"]),
            "claimed": duration_text(line["claimed_seconds"]),
            "tracked": duration_text(line["tracked_seconds"]),
            "per_claimed_hour": money_text(line["per_claimed_hour"]),
            "per_tracked_hour": money_text(line["per_tracked_hour"]),
        }
        for line in lines
    ]


def _pending_line(earnings: EarningsRecord) -> str:
    if earnings["pending"] is None:
        return "not shown to an operator (the contractor's own `crewctl earnings` shows it)"
    count = earnings["pending_submissions"] or 0
    if not count:
        return "none"
    amounts = ", ".join(t for t in map(money_text, earnings["pending"]) if t)
    return f"{amounts} on {count} submission{'s' if count != 1 else ''}"


def print_earnings(earnings: EarningsRecord) -> None:
    figures = ("paid", "submissions", "claimed", "tracked", "per_claimed_hour", "per_tracked_hour")
    print_rows("Earnings by project", _lines(earnings["by_project"]), ("title", "key", *figures))
    print_rows("Earnings by week (Monday)", _lines(earnings["by_week"]), ("key", *figures))
    print_rows("Total", _lines(earnings["total"]), figures)
    other = ", ".join(t for t in map(money_text, earnings["other"]) if t)
    click.echo(f"Bonuses, referrals and settlements (not in the hourly figures): {other or '-'}")
    click.echo(
        f"Awaiting review (earned only if accepted; not in the figures above): "
        f"{_pending_line(earnings)}"
    )


@click.command(
    "earnings",
    epilog=example("crewctl earnings", "crewctl --json earnings --contractor dr-lee"),
)
@click.option("--contractor", "contractor_id", default="", help="Operators: whose. Default: yours.")
@pass_state
def earnings(state: State, contractor_id: str) -> None:
    """What a contractor was paid: per project, per week and in total, with effective
    hourly pay; and apart, what their work awaiting review will earn if accepted.

    Paid is what the ledger booked: accepted work only (rejected work earns nothing).
    Per claimed hour divides the pay by the time from each claim to its submission; per
    tracked hour by the time worked as submitted. Bonuses, referrals and settlements are
    shown apart. A contractor sees their own (their token in --credential or
    $CREWLINE_CREDENTIAL), with the work awaiting review and each project's title read
    from their claims; an operator anyone's (--contractor), without either (projects by
    id only, the title null in --json).
    """
    from crewline.client import sync

    with state.ledger(someone_else=bool(contractor_id)) as reader:
        paid = reader.earnings(contractor_id=contractor_id).raw
        if not isinstance(reader, sync.Contractor):  # an operator cannot read their claims
            found = earnings_record(paid)
        else:
            seen = submitted_work(reader)
            found = earnings_record(paid, seen.titles)
            found["pending"] = seen.pending_money()
            found["pending_submissions"] = seen.pending_submissions
    state.emit(found, print_earnings)
