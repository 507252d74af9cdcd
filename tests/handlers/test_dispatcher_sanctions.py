"""Sanctions in the dispatcher: the quality service's SanctionChanged, kept at its highest
version. While a review-everything sanction of a contractor in a project is active and
not past its end (by the dispatcher's clock), their new work there gets no auto-accept
clock and waits for its client, as time-flagged work does; work held stays held when it
ends. Every change is shown in the project's client's Watch (task_id empty). Through
the dispatcher's handlers on a real database and a fake clock the deadlines fire by."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest
from google.protobuf.message import Message
from test_dispatcher_review import DELAY, accept, fire, hand_in, new_task, published

from crewline.consumer import EventContext
from crewline.errors import InvalidArgument, NotFound
from crewline.protobuf import from_timestamp, timestamp
from crewline.timekeeping import FakeClock
from crewline.v1 import events_pb2
from crewline.v1 import quality_service_pb2 as quality
from crewline.v1 import task_service_pb2 as api
from dispatcher import handlers
from dispatcher.adapters import review_pb
from dispatcher.deps import Deps
from dispatcher.domain import lifecycle
from dispatcher.domain.review import AcceptedBy, SubmissionStatus
from dispatcher.handlers import review
from dispatcher.handlers import watch as watch_handlers

ACTIVE = quality.SANCTION_STATE_ACTIVE
ENDED = quality.SANCTION_STATE_ENDED
LIFTED = quality.SANCTION_STATE_LIFTED
REVIEW_ALL = quality.RULE_ACTION_REVIEW_ALL


def sanction_changed(
    project_id: str,
    *,
    contractor: str = "ann",
    state: quality.SanctionState.ValueType = ACTIVE,
    version: int = 1,
    ends_at: datetime | None = None,
    action: quality.RuleAction.ValueType = REVIEW_ALL,
    sanction_id: str = "sanction-1",
    client: str = "acme",
) -> events_pb2.SanctionChanged:
    sanction = quality.Sanction(
        sanction_id=sanction_id,
        contractor_id=contractor,
        project_id=project_id,
        client_id=client,
        rule=quality.QualityRule(rule_id="gold-low", action=action, below=70),
        action=action,
        measured_value=55,
        sample=9,
        state=state,
    )
    if ends_at is not None:
        sanction.ends_at.CopyFrom(timestamp(ends_at))
    return events_pb2.SanctionChanged(sanction=sanction, version=version)


async def consume(deps: Deps, *events: Message) -> None:
    """Each event as the consumer applies it, in a transaction of its own, without the
    inbox (which would drop a redelivery before the handler sees it)."""
    routes = handlers.event_routes(deps)
    for event in events:
        ctx = EventContext(str(uuid.uuid4()), "c", "quality", "crewline.quality.v1", 0, 0)
        async with deps.pool.acquire() as conn, conn.transaction():
            await routes[type(event)](conn, event, ctx)


async def shown(deps: Deps, sub: str) -> Any:
    found, _ = await review.get_submission(uuid.UUID(sub), "acme", deps)
    return found


async def clocked(deps: Deps, sub: str) -> bool:
    """Whether the submission has an auto-accept clock."""
    found = await deps.pool.fetchval(
        "SELECT count(*) FROM deadlines WHERE kind = 'auto_accept' AND ref = $1", sub
    )
    return bool(found)


async def watch(deps: Deps, client: str = "acme", project_id: str = "") -> list[api.WatchEvent]:
    query = lifecycle.watch(client_id=client, cursor="", project_id=project_id)
    await watch_handlers.start(query, deps)
    return [api.WatchEvent.FromString(b) for _, b in await watch_handlers.read(query, 0, deps)]


def kinds(events: list[api.WatchEvent]) -> list[str]:
    return [e.WhichOneof("event") or "" for e in events]


# --- review everything --------------------------------------------------------------------


async def test_review_all_holds_only_that_contractors_work_in_that_project_while_active(
    dispatcher_deps: Deps, clock: FakeClock
) -> None:
    deps = dispatcher_deps
    task = await new_task(deps, slots=10)
    other = await new_task(deps, slots=10, key="other")  # another project of acme's
    await consume(deps, sanction_changed(task.project_id, ends_at=clock.now() + timedelta(days=7)))

    held = await hand_in(deps, task, clock, contractor="ann")
    bobs = await hand_in(deps, task, clock, contractor="bob")
    elsewhere = await hand_in(deps, other, clock, contractor="ann")

    sub = await shown(deps, held)
    assert sub.auto_accept_at is None and not await clocked(deps, held)
    assert sub.flags == () and not review_pb.submission_to_pb(sub).HasField("auto_accept_at")
    for free in (bobs, elsewhere):
        assert (await shown(deps, free)).auto_accept_at == clock.now() + DELAY
        assert await clocked(deps, free)

    # Past the delay the others are accepted; the held work waits for its client.
    clock.advance(DELAY + timedelta(minutes=1))
    assert await fire(deps, clock) == 2
    assert (await shown(deps, held)).status is SubmissionStatus.PENDING_REVIEW
    auto = {e.submission_id for e in await published(deps, events_pb2.SubmissionAccepted)}
    assert auto == {bobs, elsewhere}
    # Its client reviews it as any other.
    accepted, _ = await review.accept_submission(accept(held), deps)
    assert (accepted.status, accepted.accepted_by) == (SubmissionStatus.ACCEPTED, AcceptedBy.CLIENT)


async def test_a_sanction_past_its_end_or_ended_lets_later_work_auto_accept(
    dispatcher_deps: Deps, clock: FakeClock
) -> None:
    deps = dispatcher_deps
    task = await new_task(deps, slots=10)
    ends_at = clock.now() + timedelta(hours=1)
    await consume(deps, sanction_changed(task.project_id, ends_at=ends_at))
    held = await hand_in(deps, task, clock)
    assert not await clocked(deps, held)

    # Past ends_at by the dispatcher's clock, before the quality service says it ended.
    clock.advance(timedelta(hours=1))
    after_end = await hand_in(deps, task, clock)
    assert (await shown(deps, after_end)).auto_accept_at == clock.now() + DELAY

    ended = sanction_changed(task.project_id, state=ENDED, version=2, ends_at=ends_at)
    await consume(deps, ended)
    later = await hand_in(deps, task, clock)
    assert await clocked(deps, later)

    # Work held while it was active stays waiting for its client after it ended.
    clock.advance(DELAY * 10)
    assert await fire(deps, clock) == 2
    assert (await shown(deps, held)).status is SubmissionStatus.PENDING_REVIEW
    for sub in (after_end, later):
        assert (await shown(deps, sub)).accepted_by is AcceptedBy.AUTO_ACCEPT


async def test_the_highest_version_wins_and_a_redelivery_changes_nothing(
    dispatcher_deps: Deps, clock: FakeClock
) -> None:
    deps = dispatcher_deps
    task = await new_task(deps, slots=10)
    ends_at = clock.now() + timedelta(days=7)
    active = sanction_changed(task.project_id, ends_at=ends_at)
    lifted = sanction_changed(task.project_id, state=LIFTED, version=2, ends_at=ends_at)

    # The lift comes first; the older activation after it changes nothing.
    await consume(deps, lifted, active, lifted)
    assert await clocked(deps, await hand_in(deps, task, clock))
    [event] = [e for e in await watch(deps) if e.HasField("sanction_changed")]
    assert (event.sanction_changed.version, event.sanction_changed.sanction.state) == (2, LIFTED)

    # Another sanction of the same contractor and project holds on its own.
    second = sanction_changed(task.project_id, sanction_id="sanction-2", ends_at=ends_at)
    await consume(deps, second, second)
    assert not await clocked(deps, await hand_in(deps, task, clock))
    assert kinds(await watch(deps)).count("sanction_changed") == 2


@pytest.mark.parametrize(
    "action", [quality.RULE_ACTION_SUSPEND, quality.RULE_ACTION_NOTIFY], ids=["suspend", "notify"]
)
async def test_other_actions_hold_nothing_but_are_shown(
    dispatcher_deps: Deps, clock: FakeClock, action: quality.RuleAction.ValueType
) -> None:
    deps = dispatcher_deps
    task = await new_task(deps, slots=10)
    ends_at = clock.now() + timedelta(days=7)
    await consume(deps, sanction_changed(task.project_id, action=action, ends_at=ends_at))
    assert await clocked(deps, await hand_in(deps, task, clock))
    assert "sanction_changed" in kinds(await watch(deps))


# --- Watch ----------------------------------------------------------------------------------


async def test_watch_shows_a_change_to_the_projects_client_only(
    dispatcher_deps: Deps, clock: FakeClock
) -> None:
    deps = dispatcher_deps
    task = await new_task(deps)
    theirs = await new_task(deps, client="globex", key="g")
    event = sanction_changed(
        task.project_id, ends_at=clock.now() + timedelta(days=7), client="globex"
    )
    # Evidence never reaches a Watch, even if an event carried some.
    event.sanction.evidence.add(task_id=str(task.task_id), submission_id=str(uuid.uuid4()))
    await consume(deps, event)

    # The project's client (not the client the event names) sees it, filtered by the
    # project or not: with the project, no task, and the event as sent, less evidence.
    for project_id in ("", task.project_id):
        found = await watch(deps, "acme", project_id)
        [seen] = [e for e in found if e.WhichOneof("event") == "sanction_changed"]
        assert (seen.project_id, seen.task_id) == (task.project_id, "")
        assert from_timestamp(seen.at) == clock.now()
        assert seen.sanction_changed.sanction.sanction_id == "sanction-1"
        assert len(seen.sanction_changed.sanction.evidence) == 0
        assert seen.sanction_changed.version == 1
    # Another client's Watch never holds it, and cannot name the project.
    assert "sanction_changed" not in kinds(await watch(deps, "globex"))
    assert "sanction_changed" not in kinds(await watch(deps, "globex", theirs.project_id))
    with pytest.raises(NotFound):
        await watch(deps, "globex", task.project_id)


async def test_a_sanction_in_a_project_the_dispatcher_does_not_hold_is_kept_unshown(
    dispatcher_deps: Deps, clock: FakeClock
) -> None:
    deps = dispatcher_deps
    await new_task(deps)
    before = await deps.pool.fetchval("SELECT count(*) FROM watch_events")
    await consume(deps, sanction_changed("no-such-project", ends_at=clock.now() + DELAY))
    assert await deps.pool.fetchval("SELECT count(*) FROM watch_events") == before
    assert await deps.pool.fetchval("SELECT count(*) FROM sanctions") == 1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        pytest.param({"sanction_id": ""}, "sanction.sanction_id", id="no-sanction-id"),
        pytest.param({"contractor_id": ""}, "sanction.contractor_id", id="no-contractor"),
        pytest.param({"project_id": ""}, "sanction.project_id", id="no-project"),
        pytest.param({"state": quality.SANCTION_STATE_UNSPECIFIED}, "sanction.state", id="state"),
        pytest.param({"version": 0}, "version", id="no-version"),
    ],
)
async def test_a_malformed_sanction_is_refused_naming_its_field(
    dispatcher_deps: Deps, clock: FakeClock, change: dict[str, Any], field: str
) -> None:
    deps = dispatcher_deps
    event = sanction_changed("p1", ends_at=clock.now() + DELAY)
    for name, value in change.items():
        setattr(event if name == "version" else event.sanction, name, value)
    with pytest.raises(InvalidArgument) as refused:
        await consume(deps, event)
    assert refused.value.field == field
    assert await deps.pool.fetchval("SELECT count(*) FROM sanctions") == 0
