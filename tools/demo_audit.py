"""After the run: ask the services what happened to everything the run made, and hold
it against what the demo itself did and computed. Scoped to the run's own ids, so
other runs on the same stack change nothing here (``VerifyBooks`` is the one global
figure: the whole book must balance whoever shares it).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field

from crewline.client import (
    BooksCheck,
    Claim,
    ClaimStatus,
    Contractor,
    Money,
    Operator,
    PostingKind,
    Submission,
    SubmissionStatus,
)
from tools.demo_client import SimulatedClient
from tools.demo_contractor import Journal
from tools.demo_market import CURRENCY, MarketPlan, Pay, Verdict, hourly_pay_minor
from tools.demo_rpc import bounded
from tools.demo_summary import Check, ContractorLine, by_label, check, fee_minor

LEDGER_POLL = 0.5


@dataclass
class Submitted:
    """The run's submissions, as the dispatcher has them, summed per contractor/client."""

    all: list[tuple[str, Submission]] = field(default_factory=list)  # (project, s)
    work: Counter[str] = field(default_factory=Counter)  # contractor -> accepted pay
    bonus: Counter[str] = field(default_factory=Counter)
    accepted: Counter[str] = field(default_factory=Counter)
    rejected: Counter[str] = field(default_factory=Counter)
    worked: Counter[str] = field(default_factory=Counter)  # seconds, accepted work
    charged: Counter[str] = field(default_factory=Counter)  # client key -> pay + fees

    def referral_due(self, plan: MarketPlan, bonus_minor: int) -> Counter[str]:
        due: Counter[str] = Counter()
        for p in plan.contractors:
            if p.referred_by and self.accepted[p.id] > 0:
                due[p.referred_by] += bonus_minor
        return due


async def submissions(clients: list[SimulatedClient], fee_bps: int) -> Submitted:
    found = Submitted()
    for client in clients:
        for key, project_id in client.project_ids.items():
            async for s in client.sdk.submissions(project_id=project_id, page_size=100):
                found.all.append((key, s))
                who = s.contractor_id
                if s.status is SubmissionStatus.ACCEPTED:
                    found.accepted[who] += 1
                    found.work[who] += minor(s.earned)
                    found.worked[who] += s.worked_seconds
                    found.charged[client.key] += minor(s.earned) + fee_minor(
                        minor(s.earned), fee_bps
                    )
                elif s.status is SubmissionStatus.REJECTED:
                    found.rejected[who] += 1
                for b in s.bonuses:
                    found.bonus[who] += minor(b.amount)
                    found.charged[client.key] += minor(b.amount) + fee_minor(
                        minor(b.amount), fee_bps
                    )
    return found


def minor(amount: Money | None) -> int:
    """An amount in minor units (cents), 0 when there is none."""
    return 0 if amount is None else amount.minor


@dataclass(frozen=True, kw_only=True)
class Account:
    balance: int
    by_kind: dict[PostingKind | None, int]  # sum of the entries of each kind
    payouts: dict[str, int]  # source -> amount moved out (positive)


async def account(operator: Operator, account_id: str) -> Account:
    by_kind: Counter[PostingKind | None] = Counter()
    payouts: dict[str, int] = {}
    async for e in operator.statement(account_id=account_id, page_size=500):
        if e.amount is None or e.amount.currency != CURRENCY:
            continue
        by_kind[e.kind] += e.amount.minor
        if e.kind is PostingKind.PAYOUT:
            payouts[e.source] = -e.amount.minor
    found = await operator.balance(account_id=account_id)
    balance = sum(m.minor for m in found.balances if m.currency == CURRENCY)
    return Account(balance=balance, by_kind=dict(by_kind), payouts=payouts)


def earned(a: Account) -> int:
    """Everything credited but payouts: pay, bonuses, referrals, settlements."""
    return sum(v for k, v in a.by_kind.items() if k is not PostingKind.PAYOUT)


async def contractor_accounts(operator: Operator, plan: MarketPlan) -> dict[str, Account]:
    ids = [p.id for p in plan.contractors]
    found = await bounded(account(operator, f"contractor:{i}") for i in ids)
    return dict(zip(ids, found, strict=True))


async def wait_for_ledger(
    operator: Operator, plan: MarketPlan, due: Submitted, referral_minor: int, timeout: float
) -> bool:
    """Until every contractor's credits are what the dispatcher's accepted work, bonuses
    and the referral say they should be; False if that took longer than ``timeout``."""
    referrals = due.referral_due(plan, referral_minor)
    expected = {p.id: due.work[p.id] + due.bonus[p.id] + referrals[p.id] for p in plan.contractors}
    give_up = time.monotonic() + timeout
    while True:
        accounts = await contractor_accounts(operator, plan)
        if all(earned(accounts[i]) == v for i, v in expected.items()):
            return True
        if time.monotonic() > give_up:
            return False
        await asyncio.sleep(LEDGER_POLL)


@dataclass(frozen=True, kw_only=True)
class Tasks:
    """The run's tasks as the dispatcher has them: those the clients published, and the
    gold tasks the quality service issued (each reserved for one contractor)."""

    states: dict[str, int]  # the clients' tasks by state
    published: int
    over_accepted: int  # tasks with more accepted submissions than slots
    gold_ids: frozenset[str]
    gold_states: dict[str, int]


async def tasks_by_state(clients: list[SimulatedClient]) -> Tasks:
    states: list[str] = []
    gold: dict[str, str] = {}
    over = 0
    for client in clients:
        for project_id in client.project_ids.values():
            async for t in client.sdk.tasks(project_id=project_id, page_size=500):
                over += t.accepted_count > t.slots
                if t.reserved_for:
                    gold[t.task_id] = str(t.status).lower()
                else:
                    states.append(str(t.status).lower())
    return Tasks(
        states=by_label(["completed"], states),
        published=len(states),
        over_accepted=over,
        gold_ids=frozenset(gold),
        gold_states=by_label([], gold.values()),
    )


async def claims_by_end(
    contractors: dict[str, Contractor], project_ids: set[str]
) -> dict[str, Counter[str]]:
    """Each contractor's claims on the run's projects, by how they stand or ended."""

    async def one(sdk: Contractor) -> Counter[str]:
        found: Counter[str] = Counter()
        async for c in sdk.claims(page_size=100):
            if c.project_id in project_ids:
                found[_claim_state(c)] += 1
        return found

    ids = list(contractors)
    counted = await bounded(one(contractors[i]) for i in ids)
    return dict(zip(ids, counted, strict=True))


def _claim_state(c: Claim) -> str:
    state = c.end_reason if c.status is ClaimStatus.ENDED else c.status
    return str(state).lower()


def expected_earnings(plan: MarketPlan, journal: Journal, found: Submitted) -> tuple[int, int]:
    """What the accepted work should earn by the demo's own reckoning (reward, or rate x
    min(the seconds it reported, the cap)), and how many pieces it cannot account for."""
    reported = {(p.task_id, p.contractor_id): p for p in journal.pieces.values()}
    total, unknown = 0, 0
    for key, s in found.all:
        if s.status is not SubmissionStatus.ACCEPTED:
            continue
        piece = reported.get((s.task_id, s.contractor_id))
        if piece is None:
            unknown += 1
            continue
        spec = plan.project(key)
        total += (
            hourly_pay_minor(
                spec.rate_minor_per_real_hour, piece.worked_seconds, spec.max_paid_seconds
            )
            if spec.pay is Pay.HOURLY
            else spec.amount_minor
        )
    return total, unknown


def verdict_counts(clients: list[SimulatedClient]) -> Counter[Verdict]:
    return Counter(v for c in clients for v in c.reviewed.values())


def book_checks(books: BooksCheck) -> list[Check]:
    return [
        check("books balanced (VerifyBooks)", True, books.balanced),
        check("unbalanced transactions", 0, books.unbalanced_transaction_count),
        check("balances differing from their entries", 0, books.mismatched_balance_count),
        check("accepted submissions paid twice", 0, books.paid_twice_count),
        check("accepted submissions unpaid", 0, books.unpaid_count),
        check("rejected submissions paid", 0, books.rejected_with_pay_count),
    ]


def contractor_lines(
    plan: MarketPlan,
    claims: dict[str, Counter[str]],
    found: Submitted,
    accounts: dict[str, Account],
) -> tuple[ContractorLine, ...]:
    lines = []
    for p in plan.contractors:
        a = accounts[p.id]
        extra = sum(a.by_kind.get(k, 0) for k in (PostingKind.BONUS, PostingKind.REFERRAL))
        lines.append(
            ContractorLine(
                contractor_id=p.id,
                claims=sum(claims[p.id].values()),
                accepted=found.accepted[p.id],
                rejected=found.rejected[p.id],
                work_minor=a.by_kind.get(PostingKind.PAY, 0),
                extra_minor=extra,
                paid_out_minor=sum(a.payouts.values()),
                balance_minor=a.balance,
                worked_seconds=found.worked[p.id],
            )
        )
    return tuple(lines)


def sum_kind(accounts: dict[str, Account], kind: PostingKind) -> int:
    return sum(a.by_kind.get(kind, 0) for a in accounts.values())


def by_contractor(accounts: dict[str, Account], kind: PostingKind) -> dict[str, int]:
    return {i: a.by_kind.get(kind, 0) for i, a in accounts.items()}


def mismatched(expected: Counter[str], found: dict[str, int]) -> int:
    return sum(expected[i] != v for i, v in found.items())


def grouped(pairs: list[tuple[str, Submission]]) -> dict[str, int]:
    """Submissions by status, accepted and rejected first (0 when none)."""
    return by_label(["accepted", "rejected"], (str(s.status).lower() for _, s in pairs))
