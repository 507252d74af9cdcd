"""Time flags through the dispatcher's WorkSubmitted handler: fast work among its
project's timed submissions, and hourly time tracked on two claims at once, are stored
flagged, announced, and wait for their client (no auto-accept), who reviews them as any
other. A real database of the test's own, and a fake clock the deadlines fire by."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from test_dispatcher_review import (
    DELAY,
    accept,
    consume,
    fire,
    hand_in,
    new_task,
    published,
    reject,
    work,
)

from crewline.protobuf import from_timestamp, timestamp
from crewline.timekeeping import FakeClock
from crewline.v1 import claim_pb2, events_pb2
from crewline.v1 import task_service_pb2 as api
from dispatcher.adapters import review_pb
from dispatcher.deps import Deps
from dispatcher.domain.review import AcceptedBy, SubmissionStatus
from dispatcher.domain.tasks import Task
from dispatcher.domain.time_flags import FlagKind
from dispatcher.handlers import review

# Twenty ordinary submissions: median 600 s, median absolute deviation 60 s.
ORDINARY = [540] * 10 + [660] * 10


async def timed(deps: Deps, task: Task, clock: FakeClock, seconds: list[int]) -> list[str]:
    return [await hand_in(deps, task, clock, worked=s) for s in seconds]


async def shown(deps: Deps, sub: str) -> Any:
    found, _ = await review.get_submission(uuid.UUID(sub), "acme", deps)
    return found


async def auto_accept_clock(deps: Deps, sub: str) -> bool:
    found = await deps.pool.fetchval(
        "SELECT count(*) FROM deadlines WHERE kind = 'auto_accept' AND ref = $1", sub
    )
    return bool(found)


async def test_under_twenty_timed_submissions_nothing_is_flagged(
    dispatcher_deps: Deps, clock: FakeClock
) -> None:
    deps = dispatcher_deps
    task = await new_task(deps, slots=40)
    await timed(deps, task, clock, ORDINARY[:19])
    await hand_in(deps, task, clock, worked=0)  # untimed work is no sample
    # Another project's submissions are no samples either.
    other = await new_task(deps, slots=40, key="other")
    await timed(deps, other, clock, ORDINARY)
    quick = await hand_in(deps, task, clock, worked=10)
    sub = await shown(deps, quick)
    assert sub.flags == () and sub.auto_accept_at == clock.now() + DELAY
    assert await published(deps, events_pb2.SubmissionFlagged) == []


async def test_fast_work_is_flagged_with_its_evidence_and_waits_for_its_client(
    dispatcher_deps: Deps, clock: FakeClock
) -> None:
    deps = dispatcher_deps
    task = await new_task(deps, slots=40)
    ordinary = await timed(deps, task, clock, ORDINARY)
    quick = await hand_in(deps, task, clock, worked=60, contractor="zed")

    sub = await shown(deps, quick)
    [flag] = sub.flags
    assert (flag.kind, flag.worked_seconds, flag.sample_size) == (FlagKind.FAST, 60, 20)
    assert (flag.median_seconds, flag.mad_seconds, flag.scale_seconds) == (600, 60, 60)
    assert flag.z_score == round(0.6745 * (60 - 600) / 60, 4)  # -6.07
    assert "median of 600 s" in flag.evidence and "= -6.07" in flag.evidence
    assert sub.auto_accept_at is None and not await auto_accept_clock(deps, quick)
    pb = review_pb.submission_to_pb(sub)
    assert not pb.HasField("auto_accept_at")
    assert [(f.kind, f.sample_size, f.median_seconds) for f in pb.flags] == [
        (events_pb2.FLAG_KIND_FAST, 20, 600.0)
    ]
    # Announced once, through the outbox, for whoever counts flags per contractor.
    [event] = await published(deps, events_pb2.SubmissionFlagged)
    assert (event.submission_id, event.task_id, event.project_id) == (
        quick,
        str(task.task_id),
        task.project_id,
    )
    assert (event.client_id, event.contractor_id) == ("acme", "zed")
    assert list(event.flags) == list(pb.flags) and from_timestamp(event.flagged_at) == clock.now()

    # Past the delay (within the task's lifetime) the ordinary work is accepted; the
    # flagged work still waits.
    clock.advance(DELAY + timedelta(days=1))
    assert await fire(deps, clock) == len(ordinary)
    assert (await shown(deps, quick)).status is SubmissionStatus.PENDING_REVIEW
    auto = {e.submission_id for e in await published(deps, events_pb2.SubmissionAccepted)}
    assert auto == set(ordinary)
    # Its client accepts it as any other.
    accepted, _ = await review.accept_submission(accept(quick), deps)
    assert (accepted.status, accepted.accepted_by) == (SubmissionStatus.ACCEPTED, AcceptedBy.CLIENT)
    assert accepted.flags == sub.flags
    paid = await published(deps, events_pb2.SubmissionAccepted)
    assert [e.accepted_by for e in paid if e.submission_id == quick] == [
        events_pb2.ACCEPTED_BY_CLIENT
    ]


async def test_ordinary_work_among_twenty_is_not_flagged_and_auto_accepts(
    dispatcher_deps: Deps, clock: FakeClock
) -> None:
    deps = dispatcher_deps
    task = await new_task(deps, slots=40)
    await timed(deps, task, clock, ORDINARY)
    usual = await hand_in(deps, task, clock, worked=400)  # z = -2.25
    sub = await shown(deps, usual)
    assert sub.flags == () and sub.auto_accept_at == clock.now() + DELAY
    clock.advance(DELAY)
    await fire(deps, clock)
    done = await shown(deps, usual)
    assert (done.status, done.accepted_by) == (SubmissionStatus.ACCEPTED, AcceptedBy.AUTO_ACCEPT)
    assert await published(deps, events_pb2.SubmissionFlagged) == []


async def test_flagged_work_is_rejected_and_overridden_as_any_other(
    dispatcher_deps: Deps, clock: FakeClock
) -> None:
    deps = dispatcher_deps
    task = await new_task(deps, slots=40)
    await timed(deps, task, clock, ORDINARY)
    quick = await hand_in(deps, task, clock, worked=30)
    rejected, _ = await review.reject_submission(reject(quick, "too quick to be read"), deps)
    assert rejected.status is SubmissionStatus.REJECTED and rejected.flags
    clock.advance(timedelta(days=1))
    overridden, _ = await review.accept_submission(accept(quick, override=True), deps)
    assert (overridden.status, overridden.accepted_by) == (
        SubmissionStatus.ACCEPTED,
        AcceptedBy.OVERRIDE,
    )


async def test_flagged_only_lists_the_flagged(dispatcher_deps: Deps, clock: FakeClock) -> None:
    deps = dispatcher_deps
    task = await new_task(deps, slots=40)
    await timed(deps, task, clock, ORDINARY)
    quick = []
    for seconds in (20, 600, 40):
        clock.advance(timedelta(seconds=1))  # listed oldest first
        quick.append(await hand_in(deps, task, clock, worked=seconds))

    async def listed(**filters: Any) -> list[str]:
        req = api.ListSubmissionsRequest(page_size=100, **filters)
        page, _ = await review.list_submissions(
            review_pb.list_submissions_query(req, client_id="acme"), deps
        )
        return [str(s.submission_id) for s, _ in page]

    flagged = [quick[0], quick[2]]
    assert await listed(project_id=task.project_id, flagged_only=True) == flagged
    assert await listed(task_id=str(task.task_id), flagged_only=True) == flagged
    assert len(await listed(project_id=task.project_id)) == 23


# --- implausible time ----------------------------------------------------------------------


async def hand_in_tracked(
    deps: Deps, task: Task, clock: FakeClock, contractor: str, minutes: list[tuple[int, int]]
) -> events_pb2.WorkSubmitted:
    """An hourly claim granted an hour ago, its time tracked in the given minutes of
    that hour."""
    start = clock.now() - timedelta(hours=1)
    segments = [
        claim_pb2.WorkSegment(
            started_at=timestamp(start + timedelta(minutes=a)),
            ended_at=timestamp(start + timedelta(minutes=b)),
        )
        for a, b in minutes
    ]
    worked = sum(b - a for a, b in minutes) * 60
    event = work(task, clock, contractor=contractor, worked=worked)
    event.granted_at.CopyFrom(timestamp(start))
    event.segments.extend(segments)
    grant = events_pb2.ClaimGranted(
        claim_id=event.claim_id,
        task_id=event.task_id,
        contractor_id=contractor,
        granted_at=event.granted_at,
        project_id=task.project_id,
        deadline_at=timestamp(clock.now() + timedelta(minutes=10)),
        client_id=task.client_id,
    )
    await consume(deps, grant, event)
    return event


async def test_hourly_time_tracked_on_two_claims_at_once_is_flagged(
    dispatcher_deps: Deps, clock: FakeClock
) -> None:
    deps = dispatcher_deps
    one, two = await new_task(deps, key="one"), await new_task(deps, key="two")
    first = await hand_in_tracked(deps, one, clock, "bob", [(0, 30)])
    # Another contractor at the same time, and bob's own time touching it: nothing.
    await hand_in_tracked(deps, two, clock, "carol", [(0, 30)])
    await hand_in_tracked(deps, two, clock, "bob", [(30, 31)])
    assert await published(deps, events_pb2.SubmissionFlagged) == []
    clock.advance(timedelta(minutes=5))
    twice = await hand_in_tracked(deps, two, clock, "bob", [(10, 20), (40, 50)])

    sub = await shown(deps, twice.claim_id)
    [flag] = sub.flags
    assert flag.kind is FlagKind.IMPLAUSIBLE_TIME
    # Granted 5 minutes later: its 10-20 and 40-50 are the first's 15-25 and 45-55.
    assert (flag.worked_seconds, flag.overlap_seconds, flag.overlapping_claims) == (1200, 600, 1)
    assert "600 s overlap" in flag.evidence
    assert sub.auto_accept_at is None and not await auto_accept_clock(deps, twice.claim_id)
    [event] = await published(deps, events_pb2.SubmissionFlagged)
    assert (event.submission_id, event.contractor_id) == (twice.claim_id, "bob")
    assert [f.kind for f in event.flags] == [events_pb2.FLAG_KIND_IMPLAUSIBLE_TIME]
    # The first was alone when it came: it is not flagged, and auto-accepts.
    assert (await shown(deps, first.claim_id)).flags == ()
    clock.advance(DELAY)
    await fire(deps, clock)
    assert (await shown(deps, first.claim_id)).status is SubmissionStatus.ACCEPTED
    assert (await shown(deps, twice.claim_id)).status is SubmissionStatus.PENDING_REVIEW


async def test_a_repeated_event_flags_and_announces_once(
    dispatcher_deps: Deps, clock: FakeClock
) -> None:
    """A WorkSubmitted again (past the inbox) finds its submission stored: nothing new."""
    deps = dispatcher_deps
    one, two = await new_task(deps, key="one"), await new_task(deps, key="two")
    await hand_in_tracked(deps, one, clock, "bob", [(0, 30)])
    twice = await hand_in_tracked(deps, two, clock, "bob", [(0, 30)])
    await consume(deps, twice)
    assert len(await published(deps, events_pb2.SubmissionFlagged)) == 1
    assert len((await shown(deps, twice.claim_id)).flags) == 1
    assert await deps.pool.fetchval("SELECT count(*) FROM tracked_time") == 2
