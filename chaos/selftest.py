"""The checker must be able to fail: for each invariant, one defect that invariant is
about, planted in a copy of the run's history and final state, and whether the
invariant then FAILS. A defect that goes unseen means the checker is blind to it."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, replace

from chaos import planting
from chaos.checker import INVARIANTS
from chaos.model import BooksFigures, ClaimRow, Op, State


@dataclass(frozen=True)
class Planter:
    invariant: str
    defect: str
    plant: Callable[[list[Op], State], None]


def _duplicate_task(ops: list[Op], state: State) -> None:
    state.tasks.append(replace(planting.a_task(ops, state)))


def _claims_beyond_slots(ops: list[Op], state: State) -> None:
    task = planting.a_task(ops, state)
    for _ in range(task.slots + 1):
        contractor = planting.made_up("crowd")
        state.claims.append(
            ClaimRow(
                claim_id=planting.made_up("claim"),
                task_id=task.task_id,
                contractor_id=contractor,
                request_id=planting.made_up("request"),
                status="submitted",
                end_reason="submitted",
                cut=None,
                granted_at=state.taken_at,
                ended_at=state.taken_at,
                worked_seconds=0,
                terms_basis="per_submission",
                rate_minor=1,
                max_paid_seconds=0,
            )
        )


def _second_pay(ops: list[Op], state: State) -> None:
    source = f"submission:{planting.accepted_work(ops, state).submission_id}"
    paid = next(p for p in state.postings if p.source == source)
    state.postings.append(replace(paid, transaction_id=planting.made_up("txn")))


def _balance_off_by_one(ops: list[Op], state: State) -> None:
    account = f"contractor:{planting.accepted_work(ops, state).contractor_id}"
    state.balances[account] = state.balances.get(account, 0) + 1


def _unpaid_in_books(ops: list[Op], state: State) -> None:
    if state.books is None:
        accepted = sum(1 for s in state.submissions if s.status == "accepted")
        state.books = BooksFigures(
            balanced=True,
            transactions=len(state.postings),
            accepted_submissions=accepted,
            unpaid=0,
            paid_twice=0,
            rejected_paid=0,
        )
    state.books.unpaid = 1


def _wrong_end_reason(ops: list[Op], state: State) -> None:
    claim = planting.granted_claim(ops, state)
    claim.end_reason = "released" if claim.status == "submitted" else "submitted"


def _effect_twice(ops: list[Op], state: State) -> None:
    key = min(state.deadline_effects, default=f"LeaseElapsed:{planting.made_up('claim')}:1")
    state.deadline_effects[key] = 2


def _watch_gap(ops: list[Op], state: State) -> None:
    del state.watch_replay[planting.watched_client(state)][0]


def _open_dead_letter(ops: list[Op], state: State) -> None:
    state.open_dead_letters["ledger"] = state.open_dead_letters.get("ledger", 0) + 1


def _lost_claim(ops: list[Op], state: State) -> None:
    state.claims.remove(planting.granted_claim(ops, state))


PLANTERS = (
    Planter("tasks_once", "a task row twice", _duplicate_task),
    Planter("slots", "slots + 1 claims held at once", _claims_beyond_slots),
    Planter("paid_once", "a second pay posting", _second_pay),
    Planter("balances", "a contractor's balance 1 cent off", _balance_off_by_one),
    Planter("books", "VerifyBooks counts 1 unpaid", _unpaid_in_books),
    Planter("claims_end_once", "an end reason its status contradicts", _wrong_end_reason),
    Planter("deadlines_once", "a deadline's effect published twice", _effect_twice),
    Planter("watch", "a Watch replay without its first event", _watch_gap),
    Planter("dead_letters", "an open dead letter in the ledger", _open_dead_letter),
    Planter("no_lost_writes", "an ok ClaimTask's claim gone", _lost_claim),
)


def selftest(ops: list[Op], state: State) -> list[tuple[str, bool]]:
    """(invariant, whether it FAILS with its defect planted), for each invariant."""
    caught = []
    for planter in PLANTERS:
        planted_ops, planted = copy.deepcopy(ops), copy.deepcopy(state)
        planter.plant(planted_ops, planted)
        verdict = INVARIANTS[planter.invariant](planted_ops, planted)
        caught.append((planter.invariant, not verdict.holds))
    return caught


def format_selftest(caught: list[tuple[str, bool]]) -> str:
    """One line per invariant: the defect planted, and caught or MISSED."""
    defects = {p.invariant: p.defect for p in PLANTERS}
    width = max((len(name) for name, _ in caught), default=0)
    return "\n".join(
        f"{name:<{width}}  {'caught' if hit else 'MISSED'}  {defects.get(name, '')}"
        for name, hit in caught
    )
