"""Gold and exams' questions whose key holds text or rubric fields, in the dispatcher
(GoldIssued.needs_review): their work waits for the client's review, whose verdict
judges those fields. An exam's question is then not accepted when handed in, and no
auto-accept clock is armed for it nor for hidden gold (either would pass the work
unjudged); the client's acceptance pays it once, with nothing for an unpaid exam
(SubmissionAccepted.unpaid). An unpaid exam's question is published with
TaskPublished.unpaid, every other task without. Through the handlers, on real databases
and a fake clock."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from test_dispatcher_exam_tasks import REWARD, answered, clocks, exam_gold
from test_dispatcher_reserved_tasks import consume, new_project, published
from test_dispatcher_review import fire
from test_ledger_books import deliver as ledger_deliver
from test_ledger_books import ledger, sources, verify

from crewline.money import Money
from crewline.timekeeping import FakeClock
from crewline.v1 import events_pb2
from dispatcher.deps import Deps
from dispatcher.domain.review import (
    AcceptedBy,
    SubmissionStatus,
    accept_submission,
    reject_submission,
)
from dispatcher.handlers import review


@pytest.mark.parametrize("unpaid", [True, False], ids=["unpaid", "paid"])
async def test_a_question_that_needs_review_waits_for_it_and_is_paid_once_accepted(
    dispatcher_deps: Deps, clock: FakeClock, request: pytest.FixtureRequest, unpaid: bool
) -> None:
    deps = dispatcher_deps
    event = exam_gold(deps, await new_project(deps), ends_in=timedelta(hours=1), unpaid=unpaid)
    event.needs_review = True
    await consume(deps, event)
    claim, submitted = await answered(deps, event)

    # Not accepted at hand-in, and no clock to accept it: it waits for its client.
    sub, _ = await review.get_submission(uuid.UUID(claim), "acme", deps)
    assert sub.status is SubmissionStatus.PENDING_REVIEW and sub.auto_accept_at is None
    assert sub.reward == Money("USD", 0 if unpaid else REWARD) and sub.unpaid == unpaid
    assert await clocks(deps, "auto_accept") == []
    assert await published(deps, events_pb2.SubmissionAccepted) == []
    clock.advance(timedelta(days=30))
    await fire(deps, clock)
    await consume(deps, submitted)  # a redelivery changes nothing either
    assert (await review.get_submission(uuid.UUID(claim), "acme", deps))[0] == sub

    accept = accept_submission(
        client_id="acme", submission_id=claim, feedback="fits the key", override_rejection=False
    )
    await review.accept_submission(accept, deps)
    await review.accept_submission(accept, deps)  # again: as it is
    [accepted] = await published(deps, events_pb2.SubmissionAccepted)
    assert accepted.accepted_by == events_pb2.ACCEPTED_BY_CLIENT
    assert (accepted.unpaid, accepted.reward.amount_minor) == (unpaid, 0 if unpaid else REWARD)
    done, _ = await review.get_submission(uuid.UUID(claim), "acme", deps)
    assert (done.status, done.accepted_by) == (SubmissionStatus.ACCEPTED, AcceptedBy.CLIENT)

    books_deps = await ledger(request.node.name, clock)
    try:
        await ledger_deliver(books_deps, accepted, accepted)  # and redelivered
        expected = [] if unpaid else [f"submission:{claim}"]
        assert await sources(books_deps) == expected  # paid once, or not at all
        report = await verify(books_deps)
        assert report.every_submission_paid_once and report.balanced
    finally:
        await books_deps.pool.close()


async def test_a_question_that_needs_review_may_be_rejected(
    dispatcher_deps: Deps, clock: FakeClock
) -> None:
    deps = dispatcher_deps
    event = exam_gold(deps, await new_project(deps), ends_in=timedelta(hours=1))
    event.needs_review = True
    await consume(deps, event)
    claim, _ = await answered(deps, event)
    refuse = reject_submission(client_id="acme", submission_id=claim, feedback="misses it")
    await review.reject_submission(refuse, deps)
    [rejected] = await published(deps, events_pb2.SubmissionRejected)
    assert (rejected.submission_id, rejected.task_id) == (claim, event.task_id)
    assert await published(deps, events_pb2.SubmissionAccepted) == []


async def test_hidden_gold_that_needs_review_has_no_auto_accept_clock(
    dispatcher_deps: Deps, clock: FakeClock
) -> None:
    deps = dispatcher_deps
    project = await new_project(deps)
    held = exam_gold(deps, project, ends_in=timedelta(hours=1))
    plain = exam_gold(deps, project, ends_in=timedelta(hours=1))
    for event in (held, plain):
        event.exam_attempt_id = ""
        event.ClearField("ends_by")
    held.needs_review = True
    await consume(deps, held, plain)
    held_claim, _ = await answered(deps, held)
    plain_claim, _ = await answered(deps, plain)
    assert [ref for ref, _ in await clocks(deps, "auto_accept")] == [plain_claim]
    clock.advance(timedelta(days=30))
    await fire(deps, clock)
    [accepted] = await published(deps, events_pb2.SubmissionAccepted)
    assert (accepted.submission_id, accepted.accepted_by) == (
        plain_claim,
        events_pb2.ACCEPTED_BY_AUTO_ACCEPT,
    )
    sub, _ = await review.get_submission(uuid.UUID(held_claim), "acme", deps)
    assert sub.status is SubmissionStatus.PENDING_REVIEW and sub.reward.amount_minor == REWARD


async def test_an_unpaid_question_is_published_as_unpaid(dispatcher_deps: Deps) -> None:
    deps = dispatcher_deps
    project = await new_project(deps)
    unpaid = exam_gold(deps, project, ends_in=timedelta(hours=1), unpaid=True)
    paid = exam_gold(deps, project, ends_in=timedelta(hours=1))
    hidden = exam_gold(deps, project, ends_in=timedelta(hours=1), unpaid=True)
    hidden.exam_attempt_id = ""  # unpaid means nothing without an exam
    hidden.ClearField("ends_by")
    await consume(deps, unpaid, paid, hidden, unpaid)  # and a redelivery
    found = {e.task_id: e.unpaid for e in await published(deps, events_pb2.TaskPublished)}
    assert found == {unpaid.task_id: True, paid.task_id: False, hidden.task_id: False}
    assert len(await published(deps, events_pb2.TaskPublished)) == 3
