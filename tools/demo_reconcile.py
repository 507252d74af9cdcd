"""The end of a run: pay out, ask the services what became of everything the run made,
and hold it against what the demo itself did and reckoned."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass

from crewline.client import (
    AcceptedBy,
    BooksCheck,
    Contractor,
    Money,
    Operator,
    PayoutBatch,
    PostingKind,
)
from tools import demo_audit as audit
from tools import demo_sanctions as sanctions
from tools.demo_client import SimulatedClient
from tools.demo_contractor import Journal, SimulatedContractor
from tools.demo_display import Tracker
from tools.demo_market import CURRENCY, DemoConfig, MarketPlan, TaskPlan, Verdict
from tools.demo_summary import Check, Summary, check, check_usd, format_usd, gini

LEDGER_WAIT = 30.0
# How a claim stands or ended (``demo_audit.claims_by_end``), as the summary says it.
CLAIM_LABELS = {
    "submitted": "handed in",
    "expired": "expired",
    "released": "released",
    "project_paused": "expired after the pause cut them",
    "active": "still live",
}


@dataclass(frozen=True, kw_only=True)
class LedgerTerms:
    """The ledger's settings the reconciliation depends on (the stack's environment)."""

    fee_bps: int = 2000
    referral_bonus_minor: int = 25000


DEFAULT_TERMS = LedgerTerms()  # the services' defaults


@dataclass
class Market:
    plan: MarketPlan
    clients: list[SimulatedClient]
    contractors: list[SimulatedContractor]
    sdks: dict[str, Contractor]  # contractor id -> their SDK
    journal: Journal
    tracker: Tracker
    stop: asyncio.Event

    @property
    def project_ids(self) -> set[str]:
        return {pid for c in self.clients for pid in c.project_ids.values()}

    @property
    def tasks(self) -> list[TaskPlan]:
        """The plan's tasks and those the lab added to triage while it needed them."""
        return [*self.plan.tasks, *(t for c in self.clients for t in c.extra)]

    def slots_planned(self) -> int:
        return sum(self.plan.project(t.project).slots for t in self.tasks)


@dataclass(frozen=True, kw_only=True)
class Findings:
    """What the services say about the run, after its payout batch."""

    found: audit.Submitted
    batch: PayoutBatch
    tasks: audit.Tasks
    claims: dict[str, Counter[str]]  # contractor -> claims by state or end
    accounts: dict[str, audit.Account]  # contractor id -> account
    client_balances: dict[str, int]  # ClientSpec.key -> balance
    paused_active: int
    books: BooksCheck
    quality: sanctions.QualityFindings

    @property
    def states(self) -> dict[str, int]:
        return self.tasks.states

    @property
    def gold_submissions(self) -> int:
        return sum(s.task_id in self.tasks.gold_ids for _, s in self.found.all)


async def reconcile(
    operator: Operator,
    market: Market,
    config: DemoConfig,
    terms: LedgerTerms,
    errors: list[str],
    started: float,
    quality: sanctions.QualityFindings,
) -> Summary:
    """Waits for the ledger, runs the payout batch, and checks everything."""
    plan = market.plan
    found = await audit.submissions(market.clients, terms.fee_bps)
    if not await audit.wait_for_ledger(
        operator, plan, found, terms.referral_bonus_minor, LEDGER_WAIT
    ):
        errors.append(f"the ledger did not post every payment within {LEDGER_WAIT:.0f} s")
    batch = await operator.run_payout_batch(
        threshold=Money.from_minor(config.payout_threshold_minor, CURRENCY),
        batch_id=f"demo-{plan.run_id}-payout",
    )
    f = await _find(operator, market, found, batch, quality)
    checks = [
        *_task_checks(market, f),
        *_claim_checks(market.journal, f.claims),
        *_review_checks(market, f.found),
        *sanctions.checks(plan, quality, f.found),
        *_money_checks(market, f, terms),
        *_payout_checks(f, config.payout_threshold_minor),
        check(
            "paused projects active again",
            sum(s.paused_midway for s in plan.projects),
            f.paused_active,
        ),
        *audit.book_checks(f.books),
    ]
    return _summary(market, config, f, checks, errors, time.monotonic() - started)


async def _find(
    operator: Operator,
    market: Market,
    found: audit.Submitted,
    batch: PayoutBatch,
    quality: sanctions.QualityFindings,
) -> Findings:
    plan = market.plan
    return Findings(
        found=found,
        batch=batch,
        tasks=await audit.tasks_by_state(market.clients),
        claims=await audit.claims_by_end(market.sdks, market.project_ids),
        accounts=await audit.contractor_accounts(operator, plan),
        client_balances={
            c.key: (await audit.account(operator, f"client:{plan.client_id(c.key)}")).balance
            for c in market.clients
        },
        paused_active=sum([await c.paused_projects_active() for c in market.clients]),
        books=await operator.verify_books(),
        quality=quality,
    )


def _summary(
    market: Market,
    config: DemoConfig,
    f: Findings,
    checks: list[Check],
    errors: list[str],
    elapsed: float,
) -> Summary:
    plan, found = market.plan, f.found
    server_claims: Counter[str] = sum(f.claims.values(), Counter())
    per_contractor = [sum(c.values()) for c in f.claims.values()]
    ours = [p for p in f.batch.payouts if p.contractor_id in f.accounts]
    shown, appeals = sanctions.lines(plan, f.quality)
    return Summary(
        run_id=plan.run_id,
        seed=plan.seed,
        tasks_by_state=f.states,
        claims={
            "granted": sum(per_contractor),
            **{CLAIM_LABELS.get(k, k): v for k, v in sorted(server_claims.items())},
            "lost races (no free slot)": market.tracker.counts["lost race"],
            "other refusals": market.tracker.counts["refused"],
        },
        pieces={**audit.grouped(found.all), "bonuses": sum(len(s.bonuses) for _, s in found.all)},
        contractors=audit.contractor_lines(plan, f.claims, found, f.accounts),
        claims_gini=gini(per_contractor),
        money={
            "accepted work paid": sum(found.work.values()),
            "bonuses paid": sum(found.bonus.values()),
            "referral bonus paid": audit.sum_kind(f.accounts, PostingKind.REFERRAL),
            "clients charged (pay + fee)": sum(found.charged.values()),
            f"paid out to {len(ours)} contractor{'' if len(ours) == 1 else 's'}": sum(
                audit.minor(p.amount) for p in ours
            ),
            "left in their balances": sum(a.balance for a in f.accounts.values()),
        },
        books={
            "transactions": f.books.transaction_count,
            "entries": f.books.entry_count,
            "paid once": f.books.paid_once_count,
        },
        books_balanced=f.books.balanced,
        checks=tuple(checks),
        elapsed_seconds=elapsed,
        happened=(
            *(note for c in market.clients for note in c.paused),
            _referral_note(plan, f.accounts),
            f"payout batch {f.batch.batch_id}: every balance of"
            f" {format_usd(config.payout_threshold_minor)} or more, in full",
        ),
        errors=tuple(errors),
        gold=_gold(f),
        sanctions=shown,
        appeals=appeals,
    )


def _gold(f: Findings) -> dict[str, int]:
    issued = len(f.tasks.gold_ids)
    return {
        "issued": issued,
        "answered": f.gold_submissions,
        "let go or never claimed": issued - f.gold_submissions,
    }


def _task_checks(market: Market, f: Findings) -> list[Check]:
    journal, gold = market.journal, f.tasks.gold_states
    return [
        check("tasks published", len(market.tasks), f.tasks.published),
        check("tasks completed", len(market.tasks), f.states.get("completed", 0)),
        check("tasks with more accepted submissions than slots", 0, f.tasks.over_accepted),
        check(
            "submissions (one per slot)",
            market.slots_planned(),
            len(f.found.all) - f.gold_submissions,
        ),
        check("submissions the contractors handed in", len(journal.pieces), len(f.found.all)),
        check(
            "gold answers the contractors handed in",
            sum(p.gold for p in journal.pieces.values()),
            f.gold_submissions,
        ),
        # A gold task ends with its contractor's claim; the triage round's close cancels
        # any nobody claimed (its contractor suspended, or the run over).
        check("gold tasks unfinished", 0, sum(n for s, n in gold.items() if s != "cancelled")),
    ]


def _claim_checks(journal: Journal, claims: dict[str, Counter[str]]) -> list[Check]:
    total: Counter[str] = sum(claims.values(), Counter())
    granted = {i: sum(c.values()) for i, c in claims.items()}
    return [
        check("claims granted", sum(journal.granted.values()), sum(granted.values())),
        check("contractors with other claim counts", 0, audit.mismatched(journal.granted, granted)),
        check("claims ended by a submission", len(journal.pieces), total["submitted"]),
        check("claims released", sum(journal.released.values()), total["released"]),
        check(
            "claims expired (walked away, or handed in late)",
            sum(journal.abandoned.values()) + sum(journal.late.values()),
            total["expired"] + total["project_paused"],
        ),
        check("claims still live", 0, total["active"]),
    ]


def _review_checks(market: Market, found: audit.Submitted) -> list[Check]:
    given = audit.verdict_counts(market.clients)
    bonuses = sum(len(s.bonuses) for _, s in found.all)
    by_appeal = sum(s.accepted_by is AcceptedBy.APPEAL for _, s in found.all)
    return [
        check(
            "rejections given = submissions rejected + accepted by appeal",
            given[Verdict.REJECT],
            sum(found.rejected.values()) + by_appeal,
        ),
        check("bonuses given = bonuses on submissions", given[Verdict.BONUS], bonuses),
    ]


def _money_checks(market: Market, f: Findings, terms: LedgerTerms) -> list[Check]:
    plan, found, accounts, client_balances = market.plan, f.found, f.accounts, f.client_balances
    reckoned, unknown = audit.expected_earnings(plan, market.journal, found)
    pay = audit.by_contractor(accounts, PostingKind.PAY)
    bonus = audit.by_contractor(accounts, PostingKind.BONUS)
    referral = audit.by_contractor(accounts, PostingKind.REFERRAL)
    due = found.referral_due(plan, terms.referral_bonus_minor)
    return [
        check("accepted pieces the demo cannot account for", 0, unknown),
        check_usd(
            "pay for accepted work, as the demo reckons it", reckoned, sum(found.work.values())
        ),
        check_usd(
            "pay for accepted work, in the ledger", sum(found.work.values()), sum(pay.values())
        ),
        check(
            "contractors paid other than their accepted work", 0, audit.mismatched(found.work, pay)
        ),
        check("contractors with other bonuses", 0, audit.mismatched(found.bonus, bonus)),
        check_usd("referral bonus", sum(due.values()), sum(referral.values())),
        check("referrers paid other than due", 0, audit.mismatched(due, referral)),
        check_usd(
            "settlements (no hourly work was cut)",
            0,
            audit.sum_kind(accounts, PostingKind.SETTLEMENT),
        ),
        check(
            "contractor balances other than credits less payouts",
            0,
            sum(a.balance != sum(a.by_kind.values()) for a in accounts.values()),
        ),
        check_usd(
            "clients charged (pay, bonuses and the fee)",
            sum(found.charged.values()),
            -sum(client_balances.values()),
        ),
        check(
            "clients charged other than their pieces",
            0,
            sum(found.charged[k] != -v for k, v in client_balances.items()),
        ),
    ]


def _payout_checks(f: Findings, threshold: int) -> list[Check]:
    """The batch's payouts to the run's contractors are the ones their statements show,
    and it left none of them at or above the threshold."""
    ours = {
        p.contractor_id: audit.minor(p.amount)
        for p in f.batch.payouts
        if p.contractor_id in f.accounts
    }
    source = f"payout:{f.batch.batch_id}:"
    in_statements = {
        i: a.payouts[source + i] for i, a in f.accounts.items() if source + i in a.payouts
    }
    differing = sum(in_statements.get(i) != amount for i, amount in ours.items())
    return [
        check_usd("paid out by the batch", sum(ours.values()), sum(in_statements.values())),
        check(
            "payouts differing from the statements",
            0,
            differing + len(in_statements.keys() - ours.keys()),
        ),
        check(
            "contractors left at or above the threshold",
            0,
            sum(a.balance >= threshold for a in f.accounts.values()),
        ),
    ]


def _referral_note(plan: MarketPlan, accounts: dict[str, audit.Account]) -> str:
    referred = next(p for p in plan.contractors if p.referred_by)
    paid = accounts[referred.referred_by or ""].by_kind.get(PostingKind.REFERRAL, 0)
    short = referred.id.rsplit("-", 1)[-1], (referred.referred_by or "").rsplit("-", 1)[-1]
    return f"{short[0]} was referred by {short[1]}: referral bonus {format_usd(paid)}"
