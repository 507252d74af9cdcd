"""ScoreChanged through the quality service's handlers, on a real database: written to
the outbox with the score, keyed by contractor, only when the value changes, each with
the next version."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from google.protobuf.message import Message

from crewline.consumer import EventContext
from crewline.events import QUALITY_TOPIC, TASKS_TOPIC, parse_envelope
from crewline.protobuf import from_timestamp, timestamp
from crewline.timekeeping import FakeClock
from crewline.v1 import events_pb2
from crewline.v1 import quality_service_pb2 as api
from quality.deps import Deps
from quality.handlers import event_routes

CTX = EventContext("e", "c", "dispatcher", TASKS_TOPIC, 0, 0)
T0 = datetime(2026, 1, 1, 12, tzinfo=UTC)


def review(sub: str, minute: int, *, ok: bool = True, project: str = "p1") -> Message:
    common = dict(
        submission_id=sub,
        task_id=f"task-{sub}",
        contractor_id="ann",
        client_id="acme",
        project_id=project,
    )
    at = timestamp(T0 + timedelta(minutes=minute))
    if ok:
        return events_pb2.SubmissionAccepted(**common, accepted_at=at)
    return events_pb2.SubmissionRejected(**common, rejected_at=at)


async def deliver(deps: Deps, *events: Message) -> None:
    routes = event_routes(deps)
    for event in events:
        async with deps.pool.acquire() as conn, conn.transaction():
            await routes[type(event)](conn, event, CTX)


async def published(deps: Deps) -> list[events_pb2.ScoreChanged]:
    rows = await deps.pool.fetch("SELECT topic, key, envelope FROM outbox ORDER BY id")
    found = []
    for row in rows:
        assert (row["topic"], bytes(row["key"])) == (QUALITY_TOPIC, b"ann")
        event = events_pb2.ScoreChanged()
        assert parse_envelope(row["envelope"]).payload.Unpack(event)
        found.append(event)
    return found


async def test_a_score_change_is_published_only_when_its_value_changes(
    quality_deps: Deps, clock: FakeClock
) -> None:
    deps = quality_deps
    # 1/1 .. 10/10 accepted: 75, 83, 88, 90, 92, 93, 94, 94, 95, 95. The eighth and the
    # tenth move the counts (the score is stored) but not the value: nothing published.
    await deliver(deps, *(review(f"a{i}", i) for i in range(10)))
    events = await published(deps)
    assert [e.value for e in events] == [75, 83, 88, 90, 92, 93, 94, 95]
    assert [e.version for e in events] == list(range(1, 9))
    first = events[0]
    assert (first.contractor_id, first.project_id, first.client_id) == ("ann", "p1", "acme")
    assert first.measure == api.SCORE_MEASURE_ACCEPTANCE_RATE
    assert (first.accepted, first.reviewed, first.window) == (1, 1, 10)
    assert from_timestamp(first.changed_at) == clock.now()
    stored = await deps.pool.fetchrow("SELECT reviewed, value, version FROM scores")
    assert tuple(stored) == (10, 95, 8)

    # A copy of a review already counted writes nothing, publishes nothing.
    await deliver(deps, review("a3", 3))
    assert len(await published(deps)) == 8
    # A rejection: 9 of the last 10, 9.5 / 11 = 86.
    clock.advance(timedelta(minutes=1))
    await deliver(deps, review("r1", 20, ok=False))
    last = (await published(deps))[-1]
    assert (last.value, last.accepted, last.reviewed, last.version) == (86, 9, 10, 9)
    assert from_timestamp(last.changed_at) == clock.now()


async def test_each_project_has_its_own_versions(quality_deps: Deps) -> None:
    deps = quality_deps
    await deliver(deps, review("a", 1), review("b", 2, ok=False, project="p2"), review("c", 3))
    events = await published(deps)
    assert [(e.project_id, e.value, e.version) for e in events] == [
        ("p1", 75, 1),
        ("p2", 25, 1),
        ("p1", 83, 2),
    ]
