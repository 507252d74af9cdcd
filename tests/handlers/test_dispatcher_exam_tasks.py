"""Exams' questions in the dispatcher (and the ledger's books of their work): a GoldIssued
with an exam_attempt_id is published as a reserved gold task living until the attempt
ends (at least the dispatcher's minimum duration), and the work handed in for it is
accepted at once, by exam, through the path every acceptance takes: no auto-accept
clock, nothing for the client to review, SubmissionAccepted.unpaid for an unpaid exam.
The ledger records unpaid work without any posting and pays paid work once, with its
fee; VerifyBooks stays clean. Through the handlers, on real databases and a fake clock."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from test_dispatcher_reserved_tasks import (
    claim_over,
    consume,
    granted,
    new_project,
    published,
    the_task,
)
from test_dispatcher_sanctions import kinds, watch
from test_ledger_books import deliver as ledger_deliver
from test_ledger_books import entries, ledger, sources, verify

from crewline.auth.principal import OPERATOR
from crewline.errors import FailedPrecondition, InvalidArgument
from crewline.money import Money
from crewline.protobuf import from_timestamp, timestamp
from crewline.timekeeping import FakeClock
from crewline.v1 import events_pb2
from crewline.v1 import task_service_pb2 as api
from dispatcher.adapters import review_pb
from dispatcher.deps import Deps
from dispatcher.domain.review import (
    AcceptedBy,
    SubmissionStatus,
    accept_submission,
    list_submissions,
    reject_submission,
)
from dispatcher.domain.tasks import TaskStatus
from dispatcher.handlers import review
from ledger.handlers import books

REWARD = 1250  # test_dispatcher_reserved_tasks' project pays USD 12.50 a submission


def exam_gold(
    deps: Deps, project_id: str, *, ends_in: timedelta, unpaid: bool = False
) -> events_pb2.GoldIssued:
    """As the quality service issues an exam's question."""
    now = deps.clock.now()
    return events_pb2.GoldIssued(
        task_id=str(uuid.uuid4()),
        project_id=project_id,
        client_id="acme",
        contractor_id="ann",
        payload_json='{"case": 17}',
        issued_at=timestamp(now),
        exam_attempt_id=str(uuid.uuid4()),
        unpaid=unpaid,
        ends_by=timestamp(now + ends_in),
    )


async def clocks(deps: Deps, kind: str) -> list[Any]:
    rows = await deps.pool.fetch("SELECT ref, due_at FROM deadlines WHERE kind = $1", kind)
    return [(r["ref"], r["due_at"]) for r in rows]


async def answered(deps: Deps, event: events_pb2.GoldIssued) -> tuple[str, Any]:
    """The question claimed and its work handed in: (the claim id, the WorkSubmitted)."""
    claim = str(uuid.uuid4())
    await consume(deps, granted(event.task_id, event.project_id, claim, deps))
    submitted = claim_over("submitted", event.task_id, event.project_id, claim, deps)
    await consume(deps, submitted)
    return claim, submitted


# --- the question's task -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("ends_in", "lives"),
    [
        (timedelta(hours=2), timedelta(hours=2)),  # until the attempt ends
        (timedelta(seconds=10), timedelta(seconds=60)),  # at least the minimum duration
        (timedelta(minutes=-5), timedelta(seconds=60)),  # ended on its way: still claimable
    ],
    ids=["until-ends-by", "floor", "late"],
)
async def test_an_exam_question_lives_until_its_attempt_ends(
    dispatcher_deps: Deps, clock: FakeClock, ends_in: timedelta, lives: timedelta
) -> None:
    deps = dispatcher_deps
    assert deps.settings.min_duration_seconds == 60
    event = exam_gold(deps, await new_project(deps), ends_in=ends_in)
    await consume(deps, event)
    task = await the_task(deps, event.task_id)
    assert task.expires_at == clock.now() + lives
    assert (task.reserved_for, task.status, task.slots) == ("ann", TaskStatus.OPEN, 3)
    [sent] = await published(deps, events_pb2.TaskPublished)
    assert from_timestamp(sent.expires_at) == task.expires_at and sent.reserved_for == "ann"
    assert await clocks(deps, "task_lifetime") == [(event.task_id, task.expires_at)]


async def test_a_redelivered_question_changes_nothing(
    dispatcher_deps: Deps, clock: FakeClock
) -> None:
    """Later, too: its lifetime is the event's own ends_by, so the redelivery is the same
    task, not a key reused for a different one."""
    deps = dispatcher_deps
    event = exam_gold(deps, await new_project(deps), ends_in=timedelta(hours=1))
    await consume(deps, event)
    task = await the_task(deps, event.task_id)
    clock.advance(timedelta(minutes=20))
    await consume(deps, event, event)
    assert await the_task(deps, event.task_id) == task
    assert len(await published(deps, events_pb2.TaskPublished)) == 1
    assert await deps.pool.fetchval("SELECT count(*) FROM exam_questions") == 1


@pytest.mark.parametrize(
    ("field", "change"),
    [("ends_by", "no-ends-by"), ("exam_attempt_id", "bad-attempt-id")],
)
async def test_a_malformed_question_is_refused_naming_its_field(
    dispatcher_deps: Deps, field: str, change: str
) -> None:
    deps = dispatcher_deps
    event = exam_gold(deps, await new_project(deps), ends_in=timedelta(hours=1))
    if change == "no-ends-by":
        event.ClearField("ends_by")
    else:
        event.exam_attempt_id = "-not an id"
    with pytest.raises(InvalidArgument) as refused:
        await consume(deps, event)
    assert refused.value.field == field
    assert await deps.pool.fetchval("SELECT count(*) FROM tasks") == 0


# --- its work is accepted at once --------------------------------------------------------


@pytest.mark.parametrize("unpaid", [False, True], ids=["paid", "unpaid"])
async def test_work_on_a_question_is_accepted_at_once_by_exam(
    dispatcher_deps: Deps, clock: FakeClock, unpaid: bool
) -> None:
    deps = dispatcher_deps
    event = exam_gold(deps, await new_project(deps), ends_in=timedelta(hours=1), unpaid=unpaid)
    await consume(deps, event)
    claim, submitted = await answered(deps, event)
    earned = 0 if unpaid else REWARD

    [accepted] = await published(deps, events_pb2.SubmissionAccepted)
    assert (accepted.submission_id, accepted.contractor_id) == (claim, "ann")
    assert accepted.accepted_by == events_pb2.ACCEPTED_BY_EXAM
    assert (accepted.unpaid, accepted.reward.amount_minor) == (unpaid, earned)
    assert from_timestamp(accepted.accepted_at) == clock.now()
    assert await clocks(deps, "auto_accept") == []  # no clock: accepted already

    sub, _ = await review.get_submission(uuid.UUID(claim), "acme", deps)
    assert (sub.status, sub.accepted_by, sub.unpaid) == (
        SubmissionStatus.ACCEPTED,
        AcceptedBy.EXAM,
        unpaid,
    )
    shown = review_pb.submission_to_pb(sub)
    assert shown.accepted_by == events_pb2.ACCEPTED_BY_EXAM
    assert shown.status == api.SUBMISSION_STATUS_ACCEPTED
    assert shown.earned.amount_minor == earned and not shown.HasField("auto_accept_at")
    query = list_submissions(
        client_id="acme",
        task_id=event.task_id,
        project_id="",
        status=None,
        page_size=10,
        page_token="",
    )
    [(listed, _)], _ = await review.list_submissions(query, deps)
    assert (listed.submission_id, listed.accepted_by) == (sub.submission_id, AcceptedBy.EXAM)

    task = await the_task(deps, event.task_id)
    assert (task.status, task.submitted_count, task.accepted_count) == (
        TaskStatus.CANCELLED,  # its contractor's claim ended with work: no one else's
        1,
        1,
    )
    seen = kinds(await watch(deps))
    assert seen.index("work_submitted") < seen.index("submission_accepted")

    # Nothing for the client to review: accepting returns it as it is, a rejection is
    # refused; a redelivered WorkSubmitted changes nothing.
    again = accept_submission(
        client_id="acme", submission_id=claim, feedback="", override_rejection=False
    )
    assert (await review.accept_submission(again, deps))[0] == sub
    refuse = reject_submission(client_id="acme", submission_id=claim, feedback="wrong")
    with pytest.raises(FailedPrecondition) as refused:
        await review.reject_submission(refuse, deps)
    assert refused.value.reason == "ALREADY_ACCEPTED"
    clock.advance(timedelta(minutes=1))
    await consume(deps, submitted)
    assert len(await published(deps, events_pb2.SubmissionAccepted)) == 1
    assert await the_task(deps, event.task_id) == task


async def test_hidden_gold_work_still_waits_for_its_client(dispatcher_deps: Deps) -> None:
    """Only an exam's question is accepted at once: hidden gold is reviewed as any work."""
    deps = dispatcher_deps
    event = exam_gold(deps, await new_project(deps), ends_in=timedelta(hours=1))
    event.exam_attempt_id = ""
    event.ClearField("ends_by")
    await consume(deps, event)
    claim, _ = await answered(deps, event)
    sub, _ = await review.get_submission(uuid.UUID(claim), "acme", deps)
    assert (sub.status, sub.unpaid, sub.reward) == (
        SubmissionStatus.PENDING_REVIEW,
        False,
        Money("USD", REWARD),
    )
    assert [ref for ref, _ in await clocks(deps, "auto_accept")] == [claim]
    assert await published(deps, events_pb2.SubmissionAccepted) == []


# --- the ledger ----------------------------------------------------------------------------


async def test_the_ledger_records_unpaid_exam_work_without_any_posting(
    dispatcher_deps: Deps, clock: FakeClock, request: pytest.FixtureRequest
) -> None:
    deps = dispatcher_deps
    event = exam_gold(deps, await new_project(deps), ends_in=timedelta(hours=1), unpaid=True)
    await consume(deps, event)
    claim, _ = await answered(deps, event)
    [accepted] = await published(deps, events_pb2.SubmissionAccepted)

    books_deps = await ledger(request.node.name, clock)
    try:
        await ledger_deliver(books_deps, accepted, accepted)  # and redelivered
        assert await sources(books_deps) == []  # no pay, no fee: nothing at all
        row = await books_deps.pool.fetchrow(
            "SELECT accepted_by, unpaid, reward_minor, accepted_at FROM submissions"
            " WHERE submission_id = $1",
            claim,
        )
        assert row is not None
        assert (row["accepted_by"], row["unpaid"], row["reward_minor"]) == ("exam", True, 0)
        assert row["accepted_at"] == from_timestamp(accepted.accepted_at)
        report = await verify(books_deps)
        assert report.every_submission_paid_once and report.balanced
        assert (
            report.accepted_submission_count,
            report.unpaid_count,
            report.paid_twice_count,
            report.rejected_with_pay_count,
        ) == (0, 0, 0, 0)
        earned = await books.get_earnings("ann", OPERATOR, books_deps)
        assert earned.total == ()  # it earned nothing

        # Were it ever paid, Verify would say so: pay on work owed none.
        paid = events_pb2.SubmissionAccepted()
        paid.CopyFrom(accepted)
        paid.unpaid = False
        paid.reward.amount_minor = REWARD
        await ledger_deliver(books_deps, paid)
        report = await verify(books_deps)
        assert report.rejected_with_pay_count == 1 and not report.every_submission_paid_once
    finally:
        await books_deps.pool.close()


async def test_the_ledger_pays_paid_exam_work_once_with_its_fee(
    dispatcher_deps: Deps, clock: FakeClock, request: pytest.FixtureRequest
) -> None:
    deps = dispatcher_deps
    event = exam_gold(deps, await new_project(deps), ends_in=timedelta(hours=1))
    await consume(deps, event)
    claim, _ = await answered(deps, event)
    [accepted] = await published(deps, events_pb2.SubmissionAccepted)

    books_deps = await ledger(request.node.name, clock)
    try:
        await ledger_deliver(books_deps, accepted, accepted)
        source = f"submission:{claim}"
        assert await sources(books_deps) == [source]
        fee = -(-REWARD * 2000 // 10_000)  # the default 20 %, rounded up
        assert await entries(books_deps, source) == [
            ("client:acme", -(REWARD + fee), -(REWARD + fee)),
            ("contractor:ann", REWARD, REWARD),
            ("platform:fees", fee, fee),
        ]
        by = await books_deps.pool.fetchval(
            "SELECT accepted_by FROM submissions WHERE submission_id = $1", claim
        )
        assert by == "exam"
        report = await verify(books_deps)
        assert report.every_submission_paid_once and report.balanced
        assert (report.accepted_submission_count, report.paid_once_count) == (1, 1)
    finally:
        await books_deps.pool.close()
