"""The checker must be able to fail: for each invariant, one defect that invariant is
about, planted in a copy of the run's history and final state, and whether the
invariant then FAILS. A defect that goes unseen means the checker is blind to it."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, replace

from chaos import planting, planting_qc
from chaos.checker import INVARIANTS
from chaos.checks.quality import BLOCK_MARGIN
from chaos.model import AppealRow, BooksFigures, ClaimRow, Op, State


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


def _misjudged_gold(ops: list[Op], state: State) -> None:
    item = planting_qc.gold_judged(ops, state)
    item.correct = not item.correct


def _second_active(ops: list[Op], state: State) -> None:
    held = planting_qc.active_sanction(ops, state)
    twin = replace(held, sanction_id=planting.made_up("sanction"))
    state.sanctions.append(twin)
    for block in [b for b in state.sanction_blocks if b.block_id == f"sanction:{held.sanction_id}"]:
        state.sanction_blocks.append(replace(block, block_id=f"sanction:{twin.sanction_id}"))


def _upheld_not_lifted(ops: list[Op], state: State) -> None:
    held = planting_qc.active_sanction(ops, state)
    state.appeals.append(
        AppealRow(
            appeal_id=planting.made_up("appeal"),
            contractor_id=held.contractor_id,
            project_id=held.project_id,
            sanction_id=held.sanction_id,
            submission_id=None,
            state="upheld",
            decided_by="deadline",
            decided_at=state.taken_at,
        )
    )


def _key_shown(ops: list[Op], state: State) -> None:
    if not state.gold:
        planting_qc.plant_sanction(ops, state)
    key = state.gold[0].answer_json
    shown = next((o for o in ops if o.f == "claim" and o.process.startswith("contractor:")), None)
    if shown is None:
        shown = planting.record(ops, "claim", {"contractor_id": planting.made_up("contractor")})
        shown.process = "contractor:selftest"
    shown.value["payload"] = '{"q":' + key + "}"  # a payload that carries the key as it is


def _claim_while_blocked(ops: list[Op], state: State) -> None:
    """A claim (granted, then released, each an ok call) on a task of its own in the
    suspended project, granted inside the block's window."""
    block = planting_qc.sanction_block(ops, state)
    task = planting.plant_task(ops, state)
    task.project_id = block.project_id or task.project_id
    ops[-1].args["project_id"] = task.project_id  # the SubmitTasks that made it
    granted = block.blocked_at + BLOCK_MARGIN + 0.5
    if block.lifted_at is not None and block.lifted_at <= granted:
        block.lifted_at = granted + 1
    claim = ClaimRow(
        claim_id=planting.made_up("claim"),
        task_id=task.task_id,
        contractor_id=block.contractor_id,
        request_id=planting.made_up("request"),
        status="ended",
        end_reason="released",
        cut=None,
        granted_at=granted,
        ended_at=granted + 0.1,
        worked_seconds=0,
        terms_basis="per_submission",
        rate_minor=1,
        max_paid_seconds=0,
    )
    state.claims.append(claim)
    mine = {"contractor_id": claim.contractor_id}
    planting.record(
        ops,
        "claim",
        {**mine, "task_id": task.task_id, "request_id": claim.request_id},
        {"claim_id": claim.claim_id},
    )
    planting.record(ops, "release", {**mine, "claim_id": claim.claim_id})


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
    Planter("sanction_evidence", "a gold verdict its key contradicts", _misjudged_gold),
    Planter("one_sanction", "a second ACTIVE sanction of the same rule", _second_active),
    Planter("appeals_paid", "an upheld appeal whose sanction still holds", _upheld_not_lifted),
    Planter("gold_hidden", "a gold key in a payload a claim showed", _key_shown),
    Planter(
        "suspended_no_claims", "a claim granted while its suspension blocked", _claim_while_blocked
    ),
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
