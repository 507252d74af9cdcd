"""What must get through in the end: every deadline fired once, every client's Watch
whole and in order, and nothing left in a dead letter or an outbox."""

from __future__ import annotations

from collections import Counter

from chaos.checks.common import Findings, Verdict
from chaos.model import Op, State, WatchedEvent

# A clock due this long before the state was taken should have fired: the clocks poll
# every 50 ms, and the run waited for the stack to quiesce before taking it.
DEADLINE_GRACE_SECONDS = 5.0


def deadlines_once(ops: list[Op], state: State) -> Verdict:
    """No clock is overdue and unfired, none is dead-lettered, and no firing's effect
    (LeaseElapsed, TaskChanged to expired, an auto-acceptance) was published twice."""
    f = Findings("overdue", "dead", "published_twice")
    for d in state.deadlines:
        name = f"{d.kind} {d.ref} (generation {d.generation})"
        if d.dead_at is not None:
            f.add("dead", name)
        elif d.fired_at is None and d.due_at < state.taken_at - DEADLINE_GRACE_SECONDS:
            f.add("overdue", f"{name} due {state.taken_at - d.due_at:.1f} s before the end")
    for key, n in sorted(state.deadline_effects.items()):
        if n > 1:
            f.add("published_twice", f"{key} x{n}")
    fired = sum(1 for d in state.deadlines if d.fired_at is not None)
    return f.verdict(
        "deadlines_once",
        deadlines=len(state.deadlines),
        fired=fired,
        effects=sum(state.deadline_effects.values()),
    )


def _sequence(client: str, events: list[WatchedEvent], head: int | None, f: Findings) -> None:
    """Seqs 1, 2, 3... up to the client's head: no gap, none twice."""
    expected = 1
    for event in events:
        if event.seq < expected:
            f.add("repeated", f"client {client} seq {event.seq}")
        elif event.seq > expected:
            f.add("gap", f"client {client} seqs {expected}..{event.seq - 1}")
        expected = max(expected, event.seq + 1)
    if head is not None and expected - 1 < head:
        f.add("short", f"client {client}: replay ends at {expected - 1}, its head is {head}")


def _live(
    client: str,
    live: list[WatchedEvent],
    replay: list[WatchedEvent],
    head: int | None,
    f: Findings,
) -> None:
    """The live watch, followed from the client's first event and resumed from its last
    cursor after every fault, saw exactly the replay: each event once, in order, none
    skipped, up to the head. (A client nobody watched live has nothing to compare.)"""
    if not live:
        return
    by_seq = {e.seq: e for e in replay}
    last = 0
    for event in live:
        if event.seq <= last:
            f.add("live_differs", f"client {client}: live seq {event.seq} after {last}")
        elif by_seq.get(event.seq) != event:
            f.add("live_differs", f"client {client}: live {event}, replay {by_seq.get(event.seq)}")
        last = max(last, event.seq)
    seen = {e.seq for e in live}
    for e in replay:
        if e.seq <= last and e.seq not in seen:
            f.add("live_skipped", f"client {client}: live watch skipped seq {e.seq}")
    if head is not None and last < head:
        f.add("live_short", f"client {client}: live watch ends at {last}, its head is {head}")


def _agrees(client: str, events: list[WatchedEvent], state: State, f: Findings) -> None:
    """Each task of the client was shown (published), each submission once, each
    acceptance once."""
    count = Counter((e.kind, e.claim_id or e.task_id) for e in events)
    for task in state.tasks:
        if task.client_id == client and count["task_changed", task.task_id] < 1:
            f.add("missing_event", f"client {client}: no task_changed of task {task.task_id}")
    for sub in state.submissions:
        if sub.client_id != client:
            continue
        wanted = [("work_submitted", 1), ("submission_accepted", int(sub.status == "accepted"))]
        for kind, n in wanted:
            if count[kind, sub.submission_id] != n:
                have = count[kind, sub.submission_id]
                f.add("missing_event", f"client {client}: {have} {kind} of {sub.submission_id}")


def watch(ops: list[Op], state: State) -> Verdict:
    """Each client's Watch replayed from the start has seqs 1..N with no gap or repeat up
    to its head; what it saw live is that, in order; and it shows every task, every
    submission and every acceptance once."""
    f = Findings(
        "gap", "repeated", "short", "live_differs", "live_skipped", "live_short", "missing_event"
    )
    for client in sorted(set(state.watch_replay) | set(state.watched_live)):
        events, head = state.watch_replay.get(client, []), state.watch_heads.get(client)
        _sequence(client, events, head, f)
        _live(client, state.watched_live.get(client, []), events, head, f)
        _agrees(client, events, state, f)
    return f.verdict(
        "watch",
        clients=len(state.watch_replay),
        events=sum(len(e) for e in state.watch_replay.values()),
        live=sum(len(e) for e in state.watched_live.values()),
    )


def dead_letters(ops: list[Op], state: State) -> Verdict:
    """No service holds an open dead letter, a dead-lettered clock or an unsent outbox row."""
    f = Findings("open_dead_letters", "dead_deadlines", "unsent_outbox")
    for service, n in sorted(state.open_dead_letters.items()):
        if n:
            f.add("open_dead_letters", f"{service}: {n}", count=n)
    if state.dead_deadlines:
        f.add("dead_deadlines", f"{state.dead_deadlines} clocks", count=state.dead_deadlines)
    for service, n in sorted(state.unsent_outbox.items()):
        if n:
            f.add("unsent_outbox", f"{service}: {n}", count=n)
    return f.verdict("dead_letters", services=len(state.open_dead_letters))
