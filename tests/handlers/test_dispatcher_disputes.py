"""Disputes of gold keys in the dispatcher: the quality service's DisputeChanged is shown
in the project's client's Watch, and a corrected key turns each rejection it names, of
any contractor in the dispute's project, into an acceptance by key correction, through
the path every acceptance takes (SubmissionAccepted once in the outbox, which the
ledger pays once, with its fee), whatever the revert window. Through the dispatcher's
handlers (and the ledger's, for the pay) on real databases and a fake clock."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from test_dispatcher_review import (
    WINDOW,
    accept,
    hand_in,
    new_task,
    published,
    reject,
    snapshot,
    task_now,
)
from test_dispatcher_sanctions import consume, kinds, shown, watch
from test_ledger_books import balance, entries, ledger, sources, verify
from test_ledger_books import deliver as ledger_deliver

from crewline.errors import InvalidArgument
from crewline.protobuf import timestamp
from crewline.timekeeping import FakeClock
from crewline.v1 import events_pb2
from crewline.v1 import quality_service_pb2 as quality
from crewline.v1 import task_service_pb2 as api
from dispatcher.adapters import review_pb
from dispatcher.deps import Deps
from dispatcher.domain.review import AcceptedBy, SubmissionStatus
from dispatcher.domain.tasks import Task
from dispatcher.handlers import review

OPEN = quality.DISPUTE_STATE_OPEN
CORRECTED = quality.DISPUTE_STATE_CORRECTED
DISMISSED = quality.DISPUTE_STATE_DISMISSED
NOTE = "the key was wrong: severe is right"


def dispute_changed(
    task: Task,
    accepted: list[str],
    *,
    state: quality.DisputeState.ValueType = CORRECTED,
    dispute_id: str = "dispute-1",
    contractor: str = "ann",
) -> events_pb2.DisputeChanged:
    """As the quality service publishes it: without gold_id."""
    dispute = quality.Dispute(
        dispute_id=dispute_id,
        contractor_id=contractor,
        project_id=task.project_id,
        client_id=task.client_id,
        task_id=str(uuid.uuid4()),
        note="the expected answer is wrong",
        state=state,
        filed_at=timestamp(task.created_at),
    )
    if state != OPEN:
        dispute.resolved_at.CopyFrom(timestamp(task.created_at))
        dispute.resolution_note = NOTE
        dispute.accepted_submission_ids.extend(accepted if state == CORRECTED else [])
    if state == CORRECTED:
        dispute.overturned_sanction_ids.append("sanction-1")
    return events_pb2.DisputeChanged(dispute=dispute)


async def accepted_events(deps: Deps) -> list[Any]:
    return await published(deps, events_pb2.SubmissionAccepted)


async def rejected(deps: Deps, clock: FakeClock, task: Task, contractor: str = "ann") -> str:
    sub = await hand_in(deps, task, clock, contractor=contractor)
    await review.reject_submission(reject(sub), deps)
    return sub


async def test_a_corrected_key_accepts_every_contractors_rejection_once(
    dispatcher_deps: Deps, clock: FakeClock
) -> None:
    deps = dispatcher_deps
    task = await new_task(deps, slots=5)
    anns, bobs, kept = [await rejected(deps, clock, task, who) for who in ("ann", "bob", "cy")]
    done = await hand_in(deps, task, clock, contractor="dee")
    await review.accept_submission(accept(done), deps)
    clock.advance(WINDOW + timedelta(days=1))  # no override could accept them now
    before = len(await accepted_events(deps))

    unknown = str(uuid.uuid4())
    event = dispute_changed(task, [anns, bobs, done, unknown, "not-a-submission"])
    await consume(deps, event)

    for sub, who in ((anns, "ann"), (bobs, "bob")):  # the disputer's and another's
        found = await shown(deps, sub)
        assert (found.status, found.accepted_by) == (
            SubmissionStatus.ACCEPTED,
            AcceptedBy.KEY_CORRECTION,
        )
        assert found.accepted_at == found.reviewed_at == clock.now()
        assert (found.feedback, found.contractor_id) == (NOTE, who)
    paid = (await accepted_events(deps))[before:]
    assert sorted((e.submission_id, e.contractor_id, e.accepted_by) for e in paid) == sorted(
        [
            (anns, "ann", events_pb2.ACCEPTED_BY_KEY_CORRECTION),
            (bobs, "bob", events_pb2.ACCEPTED_BY_KEY_CORRECTION),
        ]
    )
    # What the client reads, as protobuf.
    req = api.ListSubmissionsRequest(task_id=str(task.task_id), page_size=10)
    page, _ = await review.list_submissions(
        review_pb.list_submissions_query(req, client_id="acme"), deps
    )
    by = {str(s.submission_id): review_pb.submission_to_pb(s).accepted_by for s, _ in page}
    assert by == {
        anns: events_pb2.ACCEPTED_BY_KEY_CORRECTION,
        bobs: events_pb2.ACCEPTED_BY_KEY_CORRECTION,
        kept: events_pb2.ACCEPTED_BY_UNSPECIFIED,  # not named: still rejected
        done: events_pb2.ACCEPTED_BY_CLIENT,  # accepted already: untouched
    }
    assert (await shown(deps, kept)).status is SubmissionStatus.REJECTED
    counts = await task_now(deps, task)
    assert (counts.accepted_count, counts.rejected_count) == (3, 1)
    # The client's Watch: the dispute (no task), then the acceptances it made.
    found = await watch(deps, project_id=task.project_id)
    assert kinds(found)[-3:] == ["dispute_changed", "submission_accepted", "submission_accepted"]
    [disputed] = [e for e in found if e.HasField("dispute_changed")]
    assert (disputed.task_id, disputed.project_id) == ("", task.project_id)
    assert disputed.dispute_changed == event
    assert "dispute_changed" not in kinds(await watch(deps, client="globex"))

    # Redelivered: nothing changes, the Watch log and the outbox included.
    state = await snapshot(deps)
    await consume(deps, event)
    assert await snapshot(deps) == state


async def test_a_submission_in_another_project_is_not_touched(
    dispatcher_deps: Deps, clock: FakeClock
) -> None:
    deps = dispatcher_deps
    task = await new_task(deps, slots=3)
    other = await new_task(deps, slots=3, key="other")  # another project of acme's
    elsewhere = await rejected(deps, clock, other, "bob")
    pending = await hand_in(deps, task, clock)
    here = await rejected(deps, clock, task, "bob")
    before = len(await accepted_events(deps))

    await consume(deps, dispute_changed(task, [elsewhere, pending, here]))

    assert (await shown(deps, elsewhere)).status is SubmissionStatus.REJECTED
    assert (await shown(deps, pending)).status is SubmissionStatus.PENDING_REVIEW
    assert (await shown(deps, here)).accepted_by is AcceptedBy.KEY_CORRECTION
    [paid] = (await accepted_events(deps))[before:]
    assert paid.submission_id == here
    assert "dispute_changed" not in kinds(await watch(deps, project_id=other.project_id))


async def test_open_then_corrected_accepts_once_and_a_late_open_changes_nothing(
    dispatcher_deps: Deps, clock: FakeClock
) -> None:
    deps = dispatcher_deps
    task = await new_task(deps, slots=3)
    first = await rejected(deps, clock, task)
    before = len(await accepted_events(deps))
    opened = dispute_changed(task, [], state=OPEN)

    await consume(deps, opened)
    assert (await shown(deps, first)).status is SubmissionStatus.REJECTED
    await consume(deps, dispute_changed(task, [first]), opened)

    assert (await shown(deps, first)).accepted_by is AcceptedBy.KEY_CORRECTION
    assert len(await accepted_events(deps)) == before + 1
    assert kinds(await watch(deps)).count("dispute_changed") == 2


async def test_a_dismissed_dispute_changes_nothing_but_the_watch(
    dispatcher_deps: Deps, clock: FakeClock
) -> None:
    deps = dispatcher_deps
    task = await new_task(deps, slots=3)
    first = await rejected(deps, clock, task)
    before = len(await accepted_events(deps))

    dismissed = dispute_changed(task, [], state=DISMISSED)
    dismissed.dispute.accepted_submission_ids.append(first)  # even naming it: none accepted
    await consume(deps, dismissed)

    assert (await shown(deps, first)).status is SubmissionStatus.REJECTED
    assert len(await accepted_events(deps)) == before
    assert kinds(await watch(deps)).count("dispute_changed") == 1
    # A corrected copy after the dismissal is no state the dispute can reach from it.
    await consume(deps, dispute_changed(task, [first]))
    assert (await shown(deps, first)).status is SubmissionStatus.REJECTED
    assert kinds(await watch(deps)).count("dispute_changed") == 1


@pytest.mark.parametrize(
    ("field", "spoil"),
    [
        ("dispute.dispute_id", lambda d: setattr(d, "dispute_id", "")),
        ("dispute.contractor_id", lambda d: setattr(d, "contractor_id", "")),
        ("dispute.project_id", lambda d: setattr(d, "project_id", "")),
        ("dispute.state", lambda d: setattr(d, "state", quality.DISPUTE_STATE_UNSPECIFIED)),
    ],
)
async def test_a_malformed_dispute_is_refused_naming_its_field(
    dispatcher_deps: Deps, clock: FakeClock, field: str, spoil: Any
) -> None:
    deps = dispatcher_deps
    task = await new_task(deps)
    event = dispute_changed(task, [])
    spoil(event.dispute)
    state = await snapshot(deps)
    with pytest.raises(InvalidArgument) as refused:
        await consume(deps, event)
    assert refused.value.field == field
    assert await snapshot(deps) == state


async def test_the_ledger_pays_an_acceptance_by_key_correction_once_with_its_fee(
    dispatcher_deps: Deps, clock: FakeClock, request: pytest.FixtureRequest
) -> None:
    deps = dispatcher_deps
    task = await new_task(deps, slots=3)
    bobs = await rejected(deps, clock, task, "bob")
    await consume(deps, dispute_changed(task, [bobs]))  # ann disputed; bob is paid
    [paid] = [e for e in await accepted_events(deps) if e.submission_id == bobs]
    rejections = [e for e in await published(deps, events_pb2.SubmissionRejected)]

    books = await ledger(request.node.name, clock)
    try:
        # The rejection, the acceptance by key correction, and both again (redelivered).
        await ledger_deliver(books, *rejections, paid, *rejections, paid)
        source = f"submission:{bobs}"
        assert await sources(books) == [source]
        reward = paid.reward.amount_minor
        fee = -(-reward * 2000 // 10_000)  # the default 20 %, rounded up
        assert await entries(books, source) == [
            ("client:acme", -(reward + fee), -(reward + fee)),
            ("contractor:bob", reward, reward),
            ("platform:fees", fee, fee),
        ]
        assert await balance(books, "contractor:bob") == reward
        by = await books.pool.fetchval(
            "SELECT accepted_by FROM submissions WHERE submission_id = $1", bobs
        )
        assert by == "key_correction"
        report = await verify(books)
        assert report.every_submission_paid_once and report.rejected_with_pay_count == 0
    finally:
        await books.pool.close()
