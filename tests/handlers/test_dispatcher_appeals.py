"""Appeals in the dispatcher: the quality service's AppealChanged is shown in the
project's client's Watch, and an upheld one turns each rejection it names into an
acceptance by appeal, through the path every acceptance takes (SubmissionAccepted once
in the outbox, which the ledger pays once, with its fee), whatever the revert window.
Through the dispatcher's handlers (and the ledger's, for the pay) on real databases and
a fake clock."""

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

PENDING = quality.APPEAL_STATE_PENDING
UPHELD = quality.APPEAL_STATE_UPHELD
DENIED = quality.APPEAL_STATE_DENIED


def appeal_changed(
    task: Task,
    accepted: list[str],
    *,
    state: quality.AppealState.ValueType = UPHELD,
    appeal_id: str = "appeal-1",
    contractor: str = "ann",
    note: str = "the answers were right",
) -> events_pb2.AppealChanged:
    appeal = quality.Appeal(
        appeal_id=appeal_id,
        contractor_id=contractor,
        project_id=task.project_id,
        client_id=task.client_id,
        sanction_id="sanction-1",
        text="my answers matched the instructions",
        state=state,
        filed_at=timestamp(task.created_at),
    )
    if state != PENDING:
        appeal.decided_by = quality.APPEAL_DECIDER_CLIENT
        appeal.decision_note = note
        appeal.accepted_submission_ids.extend(accepted if state == UPHELD else [])
    return events_pb2.AppealChanged(appeal=appeal)


async def reviewed(deps: Deps, clock: FakeClock, task: Task) -> tuple[str, str, str]:
    """Three of ann's submissions: two rejected, one accepted by the client."""
    first, second, third = [await hand_in(deps, task, clock) for _ in range(3)]
    for sub in (first, second):
        await review.reject_submission(reject(sub), deps)
    await review.accept_submission(accept(third), deps)
    return first, second, third


async def accepted_events(deps: Deps) -> list[Any]:
    return await published(deps, events_pb2.SubmissionAccepted)


async def test_upheld_turns_a_rejection_into_one_acceptance_by_appeal(
    dispatcher_deps: Deps, clock: FakeClock
) -> None:
    deps = dispatcher_deps
    task = await new_task(deps, slots=3)
    first, second, third = await reviewed(deps, clock, task)
    assert (await task_now(deps, task)).rejected_count == 2
    clock.advance(WINDOW + timedelta(days=1))  # no override could accept them now
    before = len(await accepted_events(deps))

    unknown = str(uuid.uuid4())
    event = appeal_changed(task, [first, third, unknown, "not-a-submission"])
    await consume(deps, event)

    sub = await shown(deps, first)
    assert (sub.status, sub.accepted_by) == (SubmissionStatus.ACCEPTED, AcceptedBy.APPEAL)
    assert sub.accepted_at == sub.reviewed_at == clock.now()
    assert sub.feedback == "the answers were right"
    [paid] = (await accepted_events(deps))[before:]
    assert (paid.submission_id, paid.accepted_by) == (first, events_pb2.ACCEPTED_BY_APPEAL)
    assert (paid.contractor_id, paid.client_id, paid.project_id) == ("ann", "acme", task.project_id)
    # What the client reads: GetSubmission and ListSubmissions, as protobuf.
    assert review_pb.submission_to_pb(sub).accepted_by == events_pb2.ACCEPTED_BY_APPEAL
    req = api.ListSubmissionsRequest(task_id=str(task.task_id), page_size=10)
    page, _ = await review.list_submissions(
        review_pb.list_submissions_query(req, client_id="acme"), deps
    )
    by = {str(s.submission_id): review_pb.submission_to_pb(s).accepted_by for s, _ in page}
    assert by == {
        first: events_pb2.ACCEPTED_BY_APPEAL,
        second: events_pb2.ACCEPTED_BY_UNSPECIFIED,  # not named: still rejected
        third: events_pb2.ACCEPTED_BY_CLIENT,  # accepted already: untouched
    }
    assert (await shown(deps, second)).status is SubmissionStatus.REJECTED
    counts = await task_now(deps, task)
    assert (counts.accepted_count, counts.rejected_count) == (2, 1)
    # The client's Watch: the appeal (no task), then the acceptance it made.
    found = await watch(deps, project_id=task.project_id)
    assert kinds(found)[-2:] == ["appeal_changed", "submission_accepted"]
    [appealed] = [e for e in found if e.HasField("appeal_changed")]
    assert (appealed.task_id, appealed.project_id) == ("", task.project_id)
    assert appealed.appeal_changed == event

    # Redelivered: nothing changes, the Watch log and the outbox included.
    state = await snapshot(deps)
    await consume(deps, event)
    assert await snapshot(deps) == state


async def test_a_denied_appeal_changes_nothing_but_the_watch(
    dispatcher_deps: Deps, clock: FakeClock
) -> None:
    deps = dispatcher_deps
    task = await new_task(deps, slots=3)
    first, _, _ = await reviewed(deps, clock, task)
    before = len(await accepted_events(deps))

    denied = appeal_changed(task, [first], state=DENIED)
    denied.appeal.accepted_submission_ids.append(first)  # even naming it: denied accepts none
    await consume(deps, denied)

    assert (await shown(deps, first)).status is SubmissionStatus.REJECTED
    assert len(await accepted_events(deps)) == before
    assert kinds(await watch(deps)).count("appeal_changed") == 1
    # An upheld copy after the denial is no state the appeal can reach from it.
    await consume(deps, appeal_changed(task, [first]))
    assert (await shown(deps, first)).status is SubmissionStatus.REJECTED


async def test_pending_then_upheld_accepts_once_and_a_late_pending_changes_nothing(
    dispatcher_deps: Deps, clock: FakeClock
) -> None:
    deps = dispatcher_deps
    task = await new_task(deps, slots=3)
    first, _, _ = await reviewed(deps, clock, task)
    before = len(await accepted_events(deps))
    pending = appeal_changed(task, [], state=PENDING)

    await consume(deps, pending)
    assert (await shown(deps, first)).status is SubmissionStatus.REJECTED
    await consume(deps, appeal_changed(task, [first]), pending)

    assert (await shown(deps, first)).accepted_by is AcceptedBy.APPEAL
    assert len(await accepted_events(deps)) == before + 1
    assert kinds(await watch(deps)).count("appeal_changed") == 2


async def test_an_upheld_appeal_accepts_only_the_appellants_work_in_its_project(
    dispatcher_deps: Deps, clock: FakeClock
) -> None:
    deps = dispatcher_deps
    task = await new_task(deps, slots=3)
    other = await new_task(deps, slots=3, key="other")
    bobs = await hand_in(deps, task, clock, contractor="bob")
    elsewhere = await hand_in(deps, other, clock)
    pending = await hand_in(deps, task, clock)
    for sub in (bobs, elsewhere):
        await review.reject_submission(reject(sub), deps)
    before = len(await accepted_events(deps))

    await consume(deps, appeal_changed(task, [bobs, elsewhere, pending]))

    for sub in (bobs, elsewhere):
        assert (await shown(deps, sub)).status is SubmissionStatus.REJECTED
    assert (await shown(deps, pending)).status is SubmissionStatus.PENDING_REVIEW
    assert len(await accepted_events(deps)) == before


async def test_a_malformed_appeal_is_refused_naming_its_field(
    dispatcher_deps: Deps, clock: FakeClock
) -> None:
    deps = dispatcher_deps
    task = await new_task(deps)
    event = appeal_changed(task, [])
    event.appeal.appeal_id = ""
    with pytest.raises(InvalidArgument) as refused:
        await consume(deps, event)
    assert refused.value.field == "appeal.appeal_id"


async def test_the_ledger_pays_an_acceptance_by_appeal_once_with_its_fee(
    dispatcher_deps: Deps, clock: FakeClock, request: pytest.FixtureRequest
) -> None:
    deps = dispatcher_deps
    task = await new_task(deps, slots=3)
    first, _, _ = await reviewed(deps, clock, task)
    await consume(deps, appeal_changed(task, [first]))
    [paid] = [e for e in await accepted_events(deps) if e.submission_id == first]
    rejected = [e for e in await published(deps, events_pb2.SubmissionRejected)]

    books = await ledger(request.node.name, clock)
    try:
        # The rejection, the acceptance by appeal, and both again (redelivered).
        await ledger_deliver(books, *rejected, paid, *rejected, paid)
        source = f"submission:{first}"
        assert await sources(books) == [source]
        reward = paid.reward.amount_minor
        fee = -(-reward * 2000 // 10_000)  # the default 20 %, rounded up
        assert await entries(books, source) == [
            ("client:acme", -(reward + fee), -(reward + fee)),
            ("contractor:ann", reward, reward),
            ("platform:fees", fee, fee),
        ]
        assert await balance(books, "contractor:ann") == reward
        by = await books.pool.fetchval(
            "SELECT accepted_by FROM submissions WHERE submission_id = $1", first
        )
        assert by == "appeal"
        report = await verify(books)
        assert report.every_submission_paid_once and report.rejected_with_pay_count == 0
    finally:
        await books.pool.close()
