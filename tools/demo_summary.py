"""What a demo run found, and whether it reconciles. Pure: no I/O.

Money is integer minor units throughout; it only becomes text in ``format_usd``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from tools.demo_market import TIME_SCALE


def format_usd(minor: int) -> str:
    """Integer cents as dollars, e.g. 301250 -> "$3,012.50"; no floats."""
    dollars, cents = divmod(abs(minor), 100)
    return f"{'-' if minor < 0 else ''}${dollars:,}.{cents:02d}"


def gini(values: Iterable[int]) -> float:
    """The Gini coefficient of non-negative counts: 0 when everyone has the same, towards
    1 when one has everything. 0 for no values or all zero."""
    xs = sorted(values)
    n, total = len(xs), sum(xs)
    if n == 0 or total == 0:
        return 0.0
    if xs[0] < 0:
        raise ValueError("gini needs non-negative values")
    ranked = sum(i * x for i, x in enumerate(xs, start=1))
    return (2 * ranked) / (n * total) - (n + 1) / n


def fee_minor(amount_minor: int, fee_bps: int) -> int:
    """The platform fee on one posting, rounded up to a whole minor unit (as the ledger)."""
    return -(-amount_minor * fee_bps // 10_000)


def demo_hourly_minor(paid_minor: int, worked_seconds: int) -> int | None:
    """Pay per hour of the work it stands for (a demo second is ``TIME_SCALE`` seconds),
    floored to a minor unit; None without time worked."""
    if worked_seconds <= 0:
        return None
    return paid_minor * 3600 // (worked_seconds * TIME_SCALE)


@dataclass(frozen=True, kw_only=True)
class Check:
    """One reconciliation: ``ok`` when ``found`` is what was ``expected``."""

    name: str
    expected: str
    found: str

    @property
    def ok(self) -> bool:
        return self.expected == self.found


def check(name: str, expected: object, found: object) -> Check:
    return Check(name=name, expected=str(expected), found=str(found))


def check_usd(name: str, expected_minor: int, found_minor: int) -> Check:
    return Check(name=name, expected=format_usd(expected_minor), found=format_usd(found_minor))


@dataclass(frozen=True, kw_only=True)
class ContractorLine:
    contractor_id: str
    claims: int  # granted to them in this run
    accepted: int
    rejected: int
    work_minor: int  # pay for accepted work (ledger)
    extra_minor: int  # bonuses and referrals (ledger)
    paid_out_minor: int  # moved out by payout batches (ledger)
    balance_minor: int  # what the ledger holds for them now
    worked_seconds: int  # as reported on their accepted work

    @property
    def earned_minor(self) -> int:
        return self.work_minor + self.extra_minor

    @property
    def hourly_minor(self) -> int | None:
        return demo_hourly_minor(self.work_minor, self.worked_seconds)


@dataclass(frozen=True, kw_only=True)
class SanctionLine:
    """A sanction in the triage project, with the first few items of its evidence."""

    contractor_id: str
    careless: bool  # one of the demo's careless contractors
    rule: str
    measure: str
    value: int
    below: int  # the rule's line (-1: none)
    sample: int
    action: str
    state: str
    evidence: tuple[str, ...]
    evidence_count: int


@dataclass(frozen=True, kw_only=True)
class AppealLine:
    contractor_id: str
    state: str
    decided_by: str
    note: str
    accepted: int  # rejections it turned into acceptances


@dataclass(frozen=True, kw_only=True)
class Summary:
    run_id: str
    seed: int
    tasks_by_state: dict[str, int]
    claims: dict[str, int]  # granted, submitted, released, expired, cut by a pause...
    pieces: dict[str, int]  # submitted, accepted, rejected, bonuses
    contractors: tuple[ContractorLine, ...]
    claims_gini: float
    money: dict[str, int]  # labelled totals in minor units
    books: dict[str, int]  # VerifyBooks' counts
    books_balanced: bool
    checks: tuple[Check, ...]
    elapsed_seconds: float
    happened: tuple[str, ...] = field(default=())  # notable moments, in words
    errors: tuple[str, ...] = field(default=())
    gold: dict[str, int] = field(default_factory=dict)  # gold tasks issued, answered...
    sanctions: tuple[SanctionLine, ...] = field(default=())
    appeals: tuple[AppealLine, ...] = field(default=())

    @property
    def problems(self) -> list[str]:
        found = [
            f"{c.name}: expected {c.expected}, found {c.found}" for c in self.checks if not c.ok
        ]
        return [*self.errors, *found]

    @property
    def ok(self) -> bool:
        return not self.problems


def by_label(labels: Sequence[str], counted: Iterable[str]) -> dict[str, int]:
    """How many of ``counted`` carry each label, every label present (0 when none)."""
    found = dict.fromkeys(labels, 0)
    for label in counted:
        found[label] = found.get(label, 0) + 1
    return found
