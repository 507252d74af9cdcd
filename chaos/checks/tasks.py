"""Tasks and their slots: every task an ok SubmitTasks returned exists once, and no
task ever had more claims holding its slots than it has slots."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable

from chaos.checks.common import Findings, Ops, Verdict, arg
from chaos.model import ClaimRow, Op, State


def tasks_once(ops: list[Op], state: State) -> Verdict:
    """Each task an ok SubmitTasks returned exists exactly once, as the one task of its
    (client, idempotency key); a key whose SubmitTasks is info names at most one task."""
    history = Ops(ops)
    by_id = Counter(t.task_id for t in state.tasks)
    by_key = Counter((t.client_id, t.idempotency_key) for t in state.tasks)
    key_of = {t.task_id: (t.client_id, t.idempotency_key) for t in state.tasks}
    f = Findings("missing", "duplicated", "key_twice")
    returned = indefinite = 0
    for op in history.ok("submit_tasks"):
        client = arg(op, "client_id")
        pairs = zip(op.value.get("task_ids", []), op.args.get("keys", []), strict=False)
        for task_id, key in pairs:
            returned += 1
            if task_id not in by_id:
                f.add("missing", f"task {task_id} (client {client}, key {key}, op {op.index})")
            elif key_of[task_id] != (client, key):
                f.add("missing", f"task {task_id} holds {key_of[task_id]}, not ({client}, {key})")
    for op in history.of("submit_tasks", "info"):
        indefinite += len(op.args.get("keys", []))
    for task_id, n in sorted(by_id.items()):
        if n > 1:
            f.add("duplicated", f"task {task_id} x{n}")
    for (client, key), n in sorted(by_key.items()):
        if n > 1:
            f.add("key_twice", f"client {client} key {key}: {n} tasks")
    return f.verdict("tasks_once", tasks=len(state.tasks), returned=returned, info_keys=indefinite)


def _span(claim: ClaimRow, *, ordered: bool) -> tuple[float, float | None]:
    if ordered and claim.granted_seq is not None:
        return claim.granted_seq, claim.ended_seq
    return claim.granted_at, claim.ended_at


def _moments(claims: Iterable[ClaimRow]) -> list[tuple[float, int]]:
    """(when, +1 or -1): a claim takes a slot when granted and gives it back when it ends
    without work; submitted work keeps its slot. "When" is the outbox order of the grants
    and ends, where every claim of the task has it; else the services' clock."""
    claims = list(claims)
    ordered = all(
        c.granted_seq is not None and (c.status != "ended" or c.ended_seq is not None)
        for c in claims
    )
    moments: list[tuple[float, int]] = []
    for c in claims:
        granted, ended = _span(c, ordered=ordered)
        moments.append((granted, 1))
        if c.status == "ended" and ended is not None:
            moments.append((ended, -1))
    return moments


def peak_live(claims: Iterable[ClaimRow]) -> int:
    """The most claims that held one task's slots at one moment."""
    live = peak = 0
    for _, step in sorted(_moments(claims)):  # at one moment an end (-1) comes first
        live += step
        peak = max(peak, live)
    return peak


def slots(ops: list[Op], state: State) -> Verdict:
    """No task had more live or submitted claims than slots at any moment (its slots as
    they are now: added slots only raise them), and no contractor two claims on one task."""
    slots_of = {t.task_id: t.slots for t in state.tasks}
    of_task: dict[str, list[ClaimRow]] = defaultdict(list)
    for claim in state.claims:
        of_task[claim.task_id].append(claim)
    f = Findings("over_slots", "two_claims", "unknown_task")
    highest = 0
    for task_id, claims in sorted(of_task.items()):
        peak = peak_live(claims)
        highest = max(highest, peak)
        if task_id not in slots_of:
            f.add("unknown_task", f"task {task_id} of claims {[c.claim_id for c in claims]}")
        elif peak > slots_of[task_id]:
            f.add("over_slots", f"task {task_id}: {peak} claims held {slots_of[task_id]} slots")
        for contractor, n in Counter(c.contractor_id for c in claims).items():
            if n > 1:
                f.add("two_claims", f"task {task_id} contractor {contractor}: {n} claims")
    return f.verdict("slots", tasks=len(of_task), claims=len(state.claims), peak_live=highest)
