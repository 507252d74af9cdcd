"""What the ledger must have posted, by the rules of docs/concepts/pay.md, worked out
afresh from the dispatcher's and the matcher's rows (not with the ledger's code):

- pay for each accepted submission (``submission:<id>``): per submission the rate;
  hourly the rate x min(time worked, the cap), rounded up, at least one second's worth;
- a settlement for each claim a client cut short that ended without work, on hourly
  terms with time reported (``settlement:<claim>``): the rate x min(worked, the cap),
  rounded up;
- each bonus (``bonus:<id>``), to the contractor of its submission;
- each of these debits the client the amount plus the platform fee (``fee_bps`` of it,
  rounded up; no fee entry when it is zero) and credits ``platform:fees`` the fee;
- a referral (``referral:<referred contractor>``) once the referred contractor has
  accepted work: ``platform:referrals`` pays the referrer the referral bonus.
"""

from __future__ import annotations

from dataclasses import dataclass

from chaos.model import ClaimRow, State, SubmissionRow

HOUR = 3600
ALL_BPS = 10_000
FEES = "platform:fees"
REFERRALS = "platform:referrals"
# The postings a cause in the state calls for; payouts (an operator's) are taken as booked.
DUE_KINDS = frozenset({"pay", "settlement", "bonus", "referral"})


def ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def earned(*, basis: str | None, rate_minor: int, max_paid_seconds: int, worked: int) -> int:
    """What work earns under its claim's frozen terms."""
    if basis == "hourly":
        return ceil_div(rate_minor * min(max(worked, 1), max_paid_seconds), HOUR)
    return rate_minor


def platform_fee(amount: int, fee_bps: int) -> int:
    return ceil_div(amount * fee_bps, ALL_BPS)


def charge(*, client_id: str, contractor_id: str, amount: int, fee_bps: int) -> dict[str, int]:
    """The entries of work paid for: the client pays the amount and the fee on it."""
    fee = platform_fee(amount, fee_bps)
    entries = {f"client:{client_id}": -(amount + fee), f"contractor:{contractor_id}": amount}
    if fee:
        entries[FEES] = fee
    return entries


@dataclass(kw_only=True)
class Due:
    """A posting the rules call for; ``entries`` None when its amount cannot be known
    (work with no recorded terms, a bonus on an unknown submission)."""

    source: str
    kind: str
    entries: dict[str, int] | None


def settled(claim: ClaimRow) -> bool:
    """A claim cut short that ended without work, on hourly terms with time reported."""
    return (
        claim.status == "ended"
        and claim.cut is not None
        and claim.terms_basis == "hourly"
        and claim.worked_seconds > 0
    )


def _pay(sub: SubmissionRow, fee_bps: int) -> Due:
    entries = None
    if sub.terms_basis is not None and sub.rate_minor is not None:
        amount = earned(
            basis=sub.terms_basis,
            rate_minor=sub.rate_minor,
            max_paid_seconds=sub.max_paid_seconds or 0,
            worked=sub.worked_seconds,
        )
        entries = charge(
            client_id=sub.client_id, contractor_id=sub.contractor_id, amount=amount, fee_bps=fee_bps
        )
    return Due(source=f"submission:{sub.submission_id}", kind="pay", entries=entries)


def _settlement(claim: ClaimRow, client_id: str | None, fee_bps: int) -> Due:
    entries = None
    if client_id is not None:
        amount = earned(
            basis="hourly",
            rate_minor=claim.rate_minor,
            max_paid_seconds=claim.max_paid_seconds,
            worked=claim.worked_seconds,
        )
        entries = charge(
            client_id=client_id, contractor_id=claim.contractor_id, amount=amount, fee_bps=fee_bps
        )
    return Due(source=f"settlement:{claim.claim_id}", kind="settlement", entries=entries)


def due_postings(state: State) -> dict[str, Due]:
    """Every posting the state's accepted work, cut claims, bonuses and referrals call
    for, by source."""
    due: list[Due] = []
    accepted = [s for s in state.submissions if s.status == "accepted"]
    due += [_pay(s, state.fee_bps) for s in accepted]
    client_of_task = {t.task_id: t.client_id for t in state.tasks}
    due += [
        _settlement(c, client_of_task.get(c.task_id), state.fee_bps)
        for c in state.claims
        if settled(c)
    ]
    contractor_of = {s.submission_id: s.contractor_id for s in state.submissions}
    for bonus in state.bonuses:
        contractor = contractor_of.get(bonus.submission_id)
        entries = None
        if contractor is not None:
            entries = charge(
                client_id=bonus.client_id,
                contractor_id=contractor,
                amount=bonus.amount_minor,
                fee_bps=state.fee_bps,
            )
        due.append(Due(source=f"bonus:{bonus.bonus_id}", kind="bonus", entries=entries))
    with_work = {s.contractor_id for s in accepted}
    reward = state.referral_bonus_minor
    for referred, referrer in state.referrals.items():
        if referred in with_work and referrer and referrer != referred and reward > 0:
            entries = {REFERRALS: -reward, f"contractor:{referrer}": reward}
            due.append(Due(source=f"referral:{referred}", kind="referral", entries=entries))
    return {d.source: d for d in due}
