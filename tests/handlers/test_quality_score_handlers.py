"""Acceptance-rate scores through the quality service's handlers, on a real database and a
fake clock: a review counted once however often and in whatever order its events come,
an override replacing its rejection, the window of the last N, concurrent reviews of one
window, who sees which scores, pages, and malformed events dead-lettered by the kernel's
consumer with the field named."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest
from aiokafka import ConsumerRecord
from google.protobuf.message import Message

from crewline.auth.principal import OPERATOR, Kind, Principal
from crewline.consumer import EventConsumer, EventContext
from crewline.errors import InvalidArgument
from crewline.events import TASKS_TOPIC, wrap
from crewline.metrics import Metrics
from crewline.protobuf import timestamp
from crewline.settings import KafkaSettings
from crewline.timekeeping import FakeClock
from crewline.v1 import events_pb2
from quality.deps import Deps
from quality.domain import queries
from quality.domain.scores import Measure, Score
from quality.handlers import event_routes
from quality.handlers.scores import find_scores
from quality.settings import QualitySettings

CTX = EventContext("e", "c", "dispatcher", TASKS_TOPIC, 0, 0)
ANN = Principal(Kind.CONTRACTOR, "ann")
ACME = Principal(Kind.CLIENT, "acme")
GLOBEX = Principal(Kind.CLIENT, "globex")
T0 = datetime(2026, 1, 1, 12, tzinfo=UTC)


def accepted(
    sub: str,
    *,
    minute: int = 0,
    by: events_pb2.AcceptedBy.ValueType = events_pb2.ACCEPTED_BY_CLIENT,
    contractor: str = "ann",
    client: str = "acme",
    project: str = "p1",
) -> events_pb2.SubmissionAccepted:
    return events_pb2.SubmissionAccepted(
        submission_id=sub,
        task_id=f"task-{sub}",
        contractor_id=contractor,
        client_id=client,
        project_id=project,
        accepted_by=by,
        accepted_at=timestamp(T0 + timedelta(minutes=minute)),
    )


def rejected(
    sub: str, *, minute: int = 0, contractor: str = "ann", client: str = "acme", project: str = "p1"
) -> events_pb2.SubmissionRejected:
    return events_pb2.SubmissionRejected(
        submission_id=sub,
        task_id=f"task-{sub}",
        contractor_id=contractor,
        client_id=client,
        project_id=project,
        rejected_at=timestamp(T0 + timedelta(minutes=minute)),
    )


async def deliver(deps: Deps, *events: Message) -> None:
    """Each event as the consumer applies it, in a transaction of its own (no inbox)."""
    routes = event_routes(deps)
    for event in events:
        async with deps.pool.acquire() as conn, conn.transaction():
            await routes[type(event)](conn, event, CTX)


async def scores_of(deps: Deps, caller: Principal, contractor: str = "ann") -> list[Score]:
    found, token = await find_scores(queries.contractor_scores(caller, contractor), deps)
    assert token == ""
    return found


def counts(found: Sequence[Score]) -> list[tuple[str, int, int, int, int]]:
    return [(s.project_id, s.value, s.accepted, s.reviewed, s.window) for s in found]


def reviews_counted(deps: Deps, kind: str) -> float:
    value = deps.metrics.registry.get_sample_value("crewline_quality_reviews_total", {"kind": kind})
    assert value is not None
    return value


async def test_one_acceptance_and_one_rejection_score_50_for_the_contractor_and_the_client(
    quality_deps: Deps, clock: FakeClock
) -> None:
    deps = quality_deps
    await deliver(deps, accepted("s1", minute=1), rejected("s2", minute=2))

    mine, token = await find_scores(queries.my_scores(ANN), deps)
    assert token == ""
    assert counts(mine) == [("p1", 50, 1, 2, 10)]
    assert mine[0].measure is Measure.ACCEPTANCE_RATE
    assert mine[0].updated_at == clock.now()
    assert await scores_of(deps, ACME) == mine
    assert await scores_of(deps, OPERATOR) == mine
    assert await scores_of(deps, GLOBEX) == []  # another client's projects: nothing
    assert await scores_of(deps, ACME, contractor="bob") == []  # never reviewed
    assert (reviews_counted(deps, "accepted"), reviews_counted(deps, "rejected")) == (1, 1)


async def test_an_override_replaces_the_rejection_in_either_order(
    quality_deps: Deps, clock: FakeClock
) -> None:
    deps = quality_deps
    override = accepted("s1", minute=5, by=events_pb2.ACCEPTED_BY_OVERRIDE)
    await deliver(deps, rejected("s1", minute=1), accepted("s2", minute=2))
    assert counts(await scores_of(deps, OPERATOR)) == [("p1", 50, 1, 2, 10)]
    await deliver(deps, override)
    assert counts(await scores_of(deps, OPERATOR)) == [("p1", 83, 2, 2, 10)]  # 2.5 / 3
    assert reviews_counted(deps, "overridden") == 1

    # The override first, then its rejection (late): the same outcome, still one review.
    await deliver(
        deps,
        accepted("s3", minute=7, by=events_pb2.ACCEPTED_BY_OVERRIDE, project="p2"),
        rejected("s3", minute=6, project="p2"),
    )
    p2 = [s for s in await scores_of(deps, OPERATOR) if s.project_id == "p2"]
    assert counts(p2) == [("p2", 75, 1, 1, 10)]


async def test_redelivery_changes_nothing_under_the_same_or_a_new_event_id(
    quality_deps: Deps, clock: FakeClock
) -> None:
    deps = quality_deps
    consumer = EventConsumer(
        group_id="quality",
        topics=[TASKS_TOPIC],
        routes=event_routes(deps),
        pool=deps.pool,
        kafka=KafkaSettings(),  # never contacted: records are handed to apply()
        metrics=Metrics.create("quality"),
        client_id="test",
    )
    first = record(0, wrap(accepted("s1"), producer="dispatcher", correlation_id="c"))
    second = record(1, wrap(rejected("s2", minute=1), producer="dispatcher", correlation_id="c"))
    assert [await consumer.apply(first), await consumer.apply(second)] == ["applied"] * 2
    before = await scores_of(deps, OPERATOR)

    clock.advance(timedelta(hours=1))
    assert await consumer.apply(first) == "duplicate"  # the inbox drops it
    # The same reviews again under new event ids (past the inbox): the merge drops them.
    await deliver(deps, accepted("s1"), rejected("s2", minute=1), rejected("s1", minute=3))
    assert await scores_of(deps, OPERATOR) == before  # updated_at included
    assert (reviews_counted(deps, "accepted"), reviews_counted(deps, "rejected")) == (1, 1)


def record(offset: int, envelope: Message) -> ConsumerRecord[bytes, bytes]:
    value = envelope.SerializeToString()
    return ConsumerRecord(TASKS_TOPIC, 0, offset, 0, 0, b"k", value, None, 1, len(value), ())


async def test_only_the_last_n_reviews_count(quality_deps: Deps) -> None:
    deps = dataclasses.replace(
        quality_deps, settings=QualitySettings.from_env({"CREWLINE_QUALITY_SCORE_WINDOW": "3"})
    )
    await deliver(deps, *(accepted(f"a{i}", minute=i) for i in range(5)))
    assert counts(await scores_of(deps, OPERATOR)) == [("p1", 88, 3, 3, 3)]  # 3.5 / 4
    # Newer rejections push the acceptances out, one by one.
    await deliver(deps, rejected("r1", minute=10), rejected("r2", minute=11))
    assert counts(await scores_of(deps, OPERATOR)) == [("p1", 38, 1, 3, 3)]  # 1.5 / 4
    # A late review older than the window's changes no score.
    await deliver(deps, rejected("old", minute=-5))
    assert counts(await scores_of(deps, OPERATOR)) == [("p1", 38, 1, 3, 3)]
    # An override inside the window does.
    await deliver(deps, accepted("r1", minute=20, by=events_pb2.ACCEPTED_BY_OVERRIDE))
    assert counts(await scores_of(deps, OPERATOR)) == [("p1", 63, 2, 3, 3)]  # 2.5 / 4


async def test_two_reviews_of_one_window_at_once_are_both_counted(quality_deps: Deps) -> None:
    """Two partitions (two tasks) of one contractor's project applied side by side: the
    second waits for the first's commit, then counts it."""
    deps = quality_deps
    routes = event_routes(deps)
    async with deps.pool.acquire() as first, deps.pool.acquire() as second:
        tx = first.transaction()
        await tx.start()
        await routes[events_pb2.SubmissionAccepted](first, accepted("s1"), CTX)

        async def other() -> None:
            async with second.transaction():
                await routes[events_pb2.SubmissionRejected](second, rejected("s2", minute=1), CTX)

        racing = asyncio.create_task(other())
        await asyncio.sleep(0.2)
        assert not racing.done()  # held until the first commits
        await tx.commit()
        await racing
    assert counts(await scores_of(deps, OPERATOR)) == [("p1", 50, 1, 2, 10)]


async def test_scores_per_project_page_by_project_and_filter(quality_deps: Deps) -> None:
    deps = quality_deps
    await deliver(
        deps,
        accepted("s1", project="p3"),
        accepted("s2", project="p1"),
        rejected("s3", project="p2"),
        accepted("s4", project="g1", client="globex"),
    )
    first, token = await find_scores(queries.my_scores(ANN, page_size=2), deps)
    assert [s.project_id for s in first] == ["g1", "p1"] and token
    rest, last = await find_scores(queries.my_scores(ANN, page_size=2, page_token=token), deps)
    assert [s.project_id for s in rest] == ["p2", "p3"] and last == ""

    assert [s.project_id for s in await scores_of(deps, ACME)] == ["p1", "p2", "p3"]
    assert [s.project_id for s in await scores_of(deps, GLOBEX)] == ["g1"]
    only, _ = await find_scores(queries.contractor_scores(ACME, "ann", project_id="p2"), deps)
    assert counts(only) == [("p2", 25, 0, 1, 10)]
    # Another client's project, asked for by name: nothing either.
    theirs, _ = await find_scores(queries.contractor_scores(ACME, "ann", project_id="g1"), deps)
    assert theirs == []


@pytest.mark.parametrize("field", ["contractor_id", "client_id", "project_id", "submission_id"])
async def test_a_malformed_review_is_refused_naming_its_field_and_dead_lettered(
    quality_deps: Deps, field: str
) -> None:
    deps = quality_deps
    bad = rejected("s1")
    setattr(bad, field, "")
    with pytest.raises(InvalidArgument) as err:
        await deliver(deps, bad)
    assert err.value.field == field

    consumer = EventConsumer(
        group_id="quality",
        topics=[TASKS_TOPIC],
        routes=event_routes(deps),
        pool=deps.pool,
        kafka=KafkaSettings(),
        metrics=Metrics.create("quality"),
        client_id="test",
    )
    envelope = wrap(bad, producer="dispatcher", correlation_id="c")
    assert await consumer.apply(record(0, envelope)) == "dead_lettered"
    error = await deps.pool.fetchval("SELECT error FROM dead_letters")
    assert f"{field}: is required" in error
    assert await deps.pool.fetchval("SELECT count(*) FROM reviewed_submissions") == 0
