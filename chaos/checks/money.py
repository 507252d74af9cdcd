"""Money: every accepted submission paid once (and settlements, bonuses and the referral
as the rules say), every balance to the cent, and the ledger's own verification."""

from __future__ import annotations

from collections import Counter, defaultdict

from chaos.checks.common import Findings, Verdict
from chaos.checks.pay import FEES, REFERRALS, due_postings
from chaos.model import Op, Posting, State


def _booked(state: State) -> dict[str, list[Posting]]:
    """The postings a cause accounts for (all but payouts), by source."""
    found: dict[str, list[Posting]] = defaultdict(list)
    for posting in state.postings:
        if posting.kind != "payout":
            found[posting.source].append(posting)
    return found


def paid_once(ops: list[Op], state: State) -> Verdict:
    """Each posting the rules call for is booked once, with its amounts; nothing else is
    (pay for work not accepted, a settlement of a claim that owes none, a reversal)."""
    due = due_postings(state)
    booked = _booked(state)
    f = Findings("unpaid", "paid_twice", "wrong_amount", "without_cause")
    for source, d in due.items():
        found = booked.get(source, [])
        if not found:
            f.add("unpaid", source)
        elif len(found) > 1:
            txns = ", ".join(p.transaction_id for p in found)
            f.add("paid_twice", f"{source} in {txns}")
        elif found[0].kind != d.kind or d.entries not in (None, found[0].entries):
            f.add("wrong_amount", f"{source}: due {d.entries}, booked {found[0].entries}")
    for source, found in booked.items():
        if source not in due:
            f.add("without_cause", f"{source} ({found[0].kind} {found[0].transaction_id})")
    kinds = Counter(d.kind for d in due.values())
    return f.verdict(
        "paid_once",
        pay=kinds["pay"],
        settlements=kinds["settlement"],
        bonuses=kinds["bonus"],
        referrals=kinds["referral"],
    )


def expected_balances(state: State) -> tuple[Counter[str], int]:
    """Each account's balance as the due postings and the payouts booked make it, and
    how many due postings have an amount that cannot be known."""
    expected: Counter[str] = Counter()
    unknown = 0
    for d in due_postings(state).values():
        if d.entries is None:
            unknown += 1
            continue
        expected.update(d.entries)
    for posting in state.postings:
        if posting.kind == "payout":
            expected.update(posting.entries)
    return expected, unknown


def balances(ops: list[Op], state: State) -> Verdict:
    """Every account's balance (contractors, clients, the platform's) is what accepted
    work, settlements, bonuses, fees, the referral and payouts make it, to the cent."""
    expected, unknown = expected_balances(state)
    f = Findings("mismatched")
    for account in sorted(set(expected) | set(state.balances)):
        want, have = expected[account], state.balances.get(account, 0)
        if want != have:
            f.add("mismatched", f"{account}: expected {want}, found {have} ({have - want:+d})")

    def total(prefix: str) -> int:
        return sum(v for a, v in expected.items() if a.startswith(prefix))

    return f.verdict(
        "balances",
        accounts=len(set(expected) | set(state.balances)),
        contractors_minor=total("contractor:"),
        clients_minor=total("client:"),
        fees_minor=expected[FEES],
        referrals_minor=-expected[REFERRALS],
        unknown_amounts=unknown,
    )


def books(ops: list[Op], state: State) -> Verdict:
    """VerifyBooks: balanced, nothing unpaid, nothing paid twice, no rejected work paid,
    and the ledger counts the accepted submissions the dispatcher holds."""
    f = Findings("unbalanced", "unpaid", "paid_twice", "rejected_paid", "accepted_differs")
    accepted = sum(1 for s in state.submissions if s.status == "accepted")
    b = state.books
    if b is None:
        f.add("unbalanced", "VerifyBooks gave no answer")
        return f.verdict("books", accepted=accepted)
    if not b.balanced:
        f.add("unbalanced", "VerifyBooks says the books do not balance")
    for kind, count in (
        ("unpaid", b.unpaid),
        ("paid_twice", b.paid_twice),
        ("rejected_paid", b.rejected_paid),
    ):
        if count:
            f.add(kind, f"VerifyBooks counts {count}", count=count)
    if b.accepted_submissions != accepted:
        f.add(
            "accepted_differs",
            f"the ledger knows {b.accepted_submissions} accepted, the dispatcher {accepted}",
        )
    return f.verdict(
        "books",
        transactions=b.transactions,
        accepted=accepted,
        balanced="yes" if b.balanced else "no",
    )
