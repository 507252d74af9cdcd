"""Consistent things for the self-test to plant a defect into, when a run's state lacks
them: a task with the SubmitTasks that made it, accepted work with every trace it
leaves (its claim, its calls, its pay, the balances it moves), a watched client.

Each helper returns what the state already holds when it can, else plants it so that
every invariant still holds; ids it makes up start with ``selftest-``."""

from __future__ import annotations

import itertools
from typing import Any

from chaos.checks.pay import charge
from chaos.model import (
    ClaimRow,
    Op,
    Posting,
    State,
    SubmissionRow,
    TaskRow,
    WatchedEvent,
)

PREFIX = "selftest"
_numbers = itertools.count(1)


def made_up(what: str) -> str:
    return f"{PREFIX}-{what}-{next(_numbers)}"


def record(ops: list[Op], f: str, args: dict[str, Any], value: dict[str, Any] | None = None) -> Op:
    """An ok operation, appended to the history."""
    op = Op(
        index=max((o.index for o in ops), default=-1) + 1,
        process=f"{PREFIX}",
        f=f,
        type="ok",
        start=0.0,
        end=0.0,
        args=args,
        value=value or {},
    )
    ops.append(op)
    return op


def plant_task(ops: list[Op], state: State, *, client_id: str = "") -> TaskRow:
    """A new task of a client nobody watches, with the SubmitTasks that made it."""
    task = TaskRow(
        task_id=made_up("task"),
        client_id=client_id or made_up("client"),
        project_id=made_up("project"),
        idempotency_key=made_up("key"),
        status="open",
        slots=1,
        accepted_count=0,
        rejected_count=0,
    )
    args = {"client_id": task.client_id, "project_id": task.project_id}
    record(
        ops,
        "submit_tasks",
        {**args, "keys": [task.idempotency_key], "slots": 1, "lifetime_seconds": 3600},
        {"task_ids": [task.task_id]},
    )
    state.tasks.append(task)
    return task


def a_task(ops: list[Op], state: State) -> TaskRow:
    return state.tasks[0] if state.tasks else plant_task(ops, state)


def _paid(state: State) -> SubmissionRow | None:
    """Accepted work of the state's that its one pay posting pays."""
    sources = [p.source for p in state.postings]
    for sub in state.submissions:
        if sub.status == "accepted" and sources.count(f"submission:{sub.submission_id}") == 1:
            return sub
    return None


def accepted_work(ops: list[Op], state: State) -> SubmissionRow:
    """Work accepted by its client and paid once: the state's, or planted on a task of
    its own with its claim, its calls, its pay posting and the balances it moves."""
    found = _paid(state)
    if found is not None:
        return found
    task = plant_task(ops, state)
    task.status, task.accepted_count = "completed", 1
    claim = _submitted_claim(ops, state, task)
    sub = SubmissionRow(
        submission_id=claim.claim_id,
        task_id=task.task_id,
        contractor_id=claim.contractor_id,
        client_id=task.client_id,
        project_id=task.project_id,
        status="accepted",
        accepted_by="client",
        worked_seconds=0,
        terms_basis="per_submission",
        rate_minor=claim.rate_minor,
        max_paid_seconds=0,
    )
    state.submissions.append(sub)
    record(ops, "accept", {"client_id": task.client_id, "submission_id": sub.submission_id})
    entries = charge(
        client_id=task.client_id,
        contractor_id=sub.contractor_id,
        amount=claim.rate_minor,
        fee_bps=state.fee_bps,
    )
    source = f"submission:{sub.submission_id}"
    state.postings.append(
        Posting(transaction_id=made_up("txn"), source=source, kind="pay", entries=entries)
    )
    for account, amount in entries.items():
        state.balances[account] = state.balances.get(account, 0) + amount
    if state.books is not None:
        state.books.accepted_submissions += 1
        state.books.transactions += 1
    return sub


def _submitted_claim(ops: list[Op], state: State, task: TaskRow) -> ClaimRow:
    contractor = made_up("contractor")
    claim = ClaimRow(
        claim_id=made_up("claim"),
        task_id=task.task_id,
        contractor_id=contractor,
        request_id=made_up("request"),
        status="submitted",
        end_reason="submitted",
        cut=None,
        granted_at=state.taken_at - 60,
        ended_at=state.taken_at - 30,
        worked_seconds=0,
        terms_basis="per_submission",
        rate_minor=100,
        max_paid_seconds=0,
    )
    state.claims.append(claim)
    mine = {"contractor_id": contractor}
    record(
        ops,
        "claim",
        {**mine, "task_id": task.task_id, "request_id": claim.request_id},
        {"claim_id": claim.claim_id},
    )
    record(ops, "submit", {**mine, "claim_id": claim.claim_id, "worked_seconds": 0})
    return claim


def granted_claim(ops: list[Op], state: State) -> ClaimRow:
    """A claim that an ok ClaimTask returned: the state's, or planted with accepted work."""
    granted = {str(op.value.get("claim_id")) for op in ops if op.f == "claim" and op.type == "ok"}
    for claim in state.claims:
        if claim.claim_id in granted:
            return claim
    sub = accepted_work(ops, state)
    return next(c for c in state.claims if c.claim_id == sub.submission_id)


def watched_client(state: State) -> str:
    """A client whose Watch replay holds two events or more: the state's, or a client
    with a task of nobody's that was shown twice."""
    for client, events in sorted(state.watch_replay.items()):
        if len(events) >= 2:
            return client
    client, task_id = made_up("watcher"), made_up("unlisted-task")
    state.watch_replay[client] = [
        WatchedEvent(seq=n, kind="task_changed", task_id=task_id) for n in (1, 2)
    ]
    state.watch_heads[client] = 2
    return client
