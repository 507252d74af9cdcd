"""Review through the dispatcher's handlers (issue 8): accept, reject, override within
the revert window, auto-accept, bonuses and listing, on a real database of the test's
own with a fake clock that the kernel's deadline clock fires by."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from google.protobuf.message import Message

from crewline.auth.principal import Kind as PrincipalKind
from crewline.auth.principal import Principal
from crewline.clock import DeadlineClock
from crewline.consumer import EventContext
from crewline.errors import DomainError, FailedPrecondition, InvalidArgument, NotFound
from crewline.events import PayloadTypes, parse_envelope
from crewline.metrics import Metrics
from crewline.money import Money
from crewline.pay_terms import Basis, PayTerms
from crewline.protobuf import from_timestamp, money_to_pb, pay_terms_to_pb, timestamp
from crewline.timekeeping import FakeClock
from crewline.v1 import events_pb2, money_pb2
from crewline.v1 import task_service_pb2 as api
from dispatcher import handlers
from dispatcher.adapters import review_pb
from dispatcher.deps import PUBLISHES, Deps
from dispatcher.domain import lifecycle, model, projects
from dispatcher.domain.projects import ProjectFields
from dispatcher.domain.review import AcceptedBy, SubmissionStatus
from dispatcher.domain.tasks import Task, TaskStatus
from dispatcher.handlers import projects as project_handlers
from dispatcher.handlers import review
from dispatcher.handlers import tasks as task_handlers
from dispatcher.handlers import watch as watch_handlers

HOURLY = PayTerms(basis=Basis.HOURLY, rate=Money("USD", 3600), max_paid_seconds=3600, version=1)
DELAY = timedelta(hours=2)  # the project's auto-accept delay
WINDOW = timedelta(days=30)  # the default revert window
FIELDS = ProjectFields(
    title="Dermatology ratings",
    instructions="Rate the answer.",
    requirements=(),
    pay_terms=HOURLY,
    assignments_per_task=2,
    claim_timeout_seconds=600,
    task_lifetime_seconds=7 * 86_400,
    auto_accept_delay_seconds=int(DELAY.total_seconds()),
    priority=10,
    max_claims_per_contractor=0,
)
TYPES = PayloadTypes.of(PUBLISHES)


# --- helpers -----------------------------------------------------------------------------


async def new_task(deps: Deps, *, client: str = "acme", slots: int = 2, key: str = "t") -> Task:
    cmd = projects.create_project(request_id=f"p-{key}", client_id=client, fields=FIELDS)
    project = await project_handlers.create_project(cmd, deps)
    spec = model.task_spec(
        idempotency_key=key,
        payload_json="{}",
        payload_bytes=None,
        slots=slots,
        priority=None,
        lifetime_seconds=0,
        field="task",
    )
    batch = model.submit_tasks(client_id=client, project_id=project.project_id, tasks=[spec])
    [task] = await task_handlers.submit_tasks(batch, deps)
    return task


async def consume(deps: Deps, *events: Message) -> None:
    routes = handlers.event_routes(deps)
    for event in events:
        ctx = EventContext(str(uuid.uuid4()), "c", "matcher", "t", 0, 0)
        async with deps.pool.acquire() as conn, conn.transaction():
            await routes[type(event)](conn, event, ctx)


def work(
    task: Task, clock: FakeClock, *, contractor: str = "ann", worked: int = 90, **fields: Any
) -> events_pb2.WorkSubmitted:
    """The matcher's WorkSubmitted, with the time worked (not tracked: one contractor's
    claims at once would track the same time twice, a time flag), its grant and its terms."""
    now = clock.now()
    granted = now - timedelta(minutes=5)
    event = events_pb2.WorkSubmitted(
        claim_id=str(uuid.uuid4()),
        task_id=str(task.task_id),
        contractor_id=contractor,
        reward=money_to_pb(HOURLY.earned(worked)),
        result=b"4/5",
        submitted_at=timestamp(now),
        project_id=task.project_id,
        pay_terms=pay_terms_to_pb(HOURLY),
        worked_seconds=worked,
        granted_at=timestamp(granted),
        client_id=task.client_id,
    )
    for name, value in fields.items():
        setattr(event, name, value)
    return event


async def hand_in(deps: Deps, task: Task, clock: FakeClock, **fields: Any) -> str:
    """A claim granted and its work submitted; the submission's id."""
    event = work(task, clock, **fields)
    grant = events_pb2.ClaimGranted(
        claim_id=event.claim_id,
        task_id=event.task_id,
        contractor_id=event.contractor_id,
        granted_at=event.granted_at,
        project_id=task.project_id,
        deadline_at=timestamp(clock.now() + timedelta(minutes=10)),
        client_id=task.client_id,
    )
    await consume(deps, grant, event)
    return event.claim_id


def accept(sub: str, *, client: str = "acme", feedback: str = "", override: bool = False) -> Any:
    req = api.AcceptSubmissionRequest(
        submission_id=sub, feedback=feedback, override_rejection=override
    )
    return review_pb.accept_command(req, client_id=client)


def reject(sub: str, feedback: str = "ratings were random", *, client: str = "acme") -> Any:
    req = api.RejectSubmissionRequest(submission_id=sub, feedback=feedback)
    return review_pb.reject_command(req, client_id=client)


def usd(minor: int, currency: str = "USD") -> money_pb2.Money:
    return money_pb2.Money(currency_code=currency, amount_minor=minor)


def bonus(sub: str, key: str = "b-1", amount: int = 250, reason: str = "careful", **kw: Any) -> Any:
    req = api.GrantBonusRequest(
        submission_id=sub,
        idempotency_key=key,
        amount=usd(amount, kw.get("currency", "USD")),
        reason=reason,
    )
    return review_pb.grant_bonus_command(req, client_id=kw.get("client", "acme"))


async def refused(call: Any, error: type[DomainError]) -> Any:
    with pytest.raises(error) as err:
        await call
    return err.value


async def published(deps: Deps, kind: type[Message] | None = None) -> list[Any]:
    rows = await deps.pool.fetch("SELECT envelope FROM outbox ORDER BY id")
    found = []
    for row in rows:
        env = parse_envelope(row["envelope"])
        if kind is None or env.type == kind.DESCRIPTOR.full_name:
            found.append(TYPES.unpack(env))
    return found


async def fire(deps: Deps, clock: FakeClock) -> int:
    ticker = DeadlineClock(
        pool=deps.pool,
        handlers=handlers.deadline_routes(deps),
        metrics=Metrics.create("dispatcher_review_test"),
        clock=clock,
    )
    return await ticker.fire_due()


async def task_now(deps: Deps, task: Task) -> Task:
    from dispatcher.adapters import repository

    async with deps.pool.acquire() as conn:
        found = await repository.get_task(conn, task.task_id)
    assert found is not None
    return found


async def watched(deps: Deps, client: str = "acme") -> list[str]:
    query = lifecycle.watch(client_id=client, cursor="", project_id="")
    return [
        api.WatchEvent.FromString(body).WhichOneof("event") or ""
        for _, body in await watch_handlers.read(query, 0, deps)
    ]


async def snapshot(deps: Deps) -> tuple[Any, ...]:
    """Everything a refused request must leave as it was."""
    tables = ("submissions", "bonuses", "tasks", "outbox", "deadlines", "watch_events")
    found = []
    for table in tables:
        rows = await deps.pool.fetch(f"SELECT * FROM {table} ORDER BY 1")
        found.append([tuple(r) for r in rows])
    return tuple(found)


# --- accept --------------------------------------------------------------------------------


async def test_accepting_pending_work_pays_it_once_with_what_it_was_earned_on(
    dispatcher_deps: Deps, clock: FakeClock
) -> None:
    deps = dispatcher_deps
    task = await new_task(deps)
    sub = await hand_in(deps, task, clock, worked=90)
    submitted_at = clock.now()
    clock.advance(timedelta(minutes=3))

    shown, bonuses = await review.accept_submission(accept(sub, feedback="great"), deps)
    assert (shown.status, shown.accepted_by, shown.feedback) == (
        SubmissionStatus.ACCEPTED,
        AcceptedBy.CLIENT,
        "great",
    )
    assert shown.accepted_at == shown.reviewed_at == clock.now() and bonuses == []
    [event] = await published(deps, events_pb2.SubmissionAccepted)
    assert (event.submission_id, event.task_id, event.client_id, event.contractor_id) == (
        sub,
        str(task.task_id),
        "acme",
        "ann",
    )
    assert event.accepted_by == events_pb2.ACCEPTED_BY_CLIENT
    assert (event.reward.currency_code, event.reward.amount_minor) == ("USD", 90)  # 90 s at 1/s
    assert (event.project_id, event.worked_seconds) == (task.project_id, 90)
    assert event.pay_terms == pay_terms_to_pb(HOURLY)
    assert from_timestamp(event.submitted_at) == submitted_at
    assert from_timestamp(event.granted_at) == submitted_at - timedelta(minutes=5)
    assert from_timestamp(event.accepted_at) == clock.now()
    t = await task_now(deps, task)
    assert (t.accepted_count, t.rejected_count, t.status) == (1, 0, TaskStatus.OPEN)
    assert (await watched(deps)).count("submission_accepted") == 1

    # Again, with anything: the same submission, nothing new.
    before = await snapshot(deps)
    for again in (accept(sub), accept(sub, feedback="other", override=True)):
        assert await review.accept_submission(again, deps) == (shown, [])
    assert await snapshot(deps) == before
    # Its auto-accept clock is gone: nothing fires after the delay.
    clock.advance(DELAY)
    assert await fire(deps, clock) == 0
    assert len(await published(deps, events_pb2.SubmissionAccepted)) == 1


async def test_a_rejection_is_announced_once_and_completes_the_slot(
    dispatcher_deps: Deps, clock: FakeClock
) -> None:
    deps = dispatcher_deps
    task = await new_task(deps, slots=1)
    sub = await hand_in(deps, task, clock)
    shown, _ = await review.reject_submission(reject(sub), deps)
    assert (shown.status, shown.feedback, shown.rejected_at) == (
        SubmissionStatus.REJECTED,
        "ratings were random",
        clock.now(),
    )
    assert shown.revert_until == clock.now() + WINDOW and shown.accepted_by is None
    [event] = await published(deps, events_pb2.SubmissionRejected)
    assert (event.submission_id, event.task_id, event.contractor_id, event.client_id) == (
        sub,
        str(task.task_id),
        "ann",
        "acme",
    )
    assert (event.project_id, event.feedback) == (task.project_id, "ratings were random")
    assert from_timestamp(event.rejected_at) == clock.now()
    assert from_timestamp(event.revert_until) == clock.now() + WINDOW
    t = await task_now(deps, task)
    assert (t.status, t.accepted_count, t.rejected_count) == (TaskStatus.COMPLETED, 0, 1)
    assert (await watched(deps)).count("submission_rejected") == 1

    # The same rejection again: the same answer, nothing new. Other feedback, or
    # accepting without override: refused, with reasons.
    before = await snapshot(deps)
    assert (await review.reject_submission(reject(sub), deps))[0] == shown
    other = await refused(review.reject_submission(reject(sub, "other"), deps), FailedPrecondition)
    assert other.reason == "ALREADY_REJECTED"
    plain = await refused(review.accept_submission(accept(sub), deps), FailedPrecondition)
    assert plain.reason == "REJECTED"
    assert plain.metadata["revert_until"] == (clock.now() + WINDOW).isoformat()
    assert await snapshot(deps) == before
    # Not auto-accepted later either.
    clock.advance(DELAY)
    assert await fire(deps, clock) == 0
    assert await published(deps, events_pb2.SubmissionAccepted) == []

    # The slot stays used: the client adds one, and the task is open again.
    more = lifecycle.add_slots(client_id="acme", request_id="r", task_id=str(task.task_id), slots=1)
    reopened = await task_handlers.add_slots(more, deps)
    assert (reopened.slots, reopened.status) == (2, TaskStatus.OPEN)


async def test_a_rejection_is_overridden_within_its_window_and_paid_then_once(
    dispatcher_deps: Deps, clock: FakeClock
) -> None:
    deps = dispatcher_deps
    task = await new_task(deps, slots=2)
    good, lucky = await hand_in(deps, task, clock), await hand_in(deps, task, clock, worked=30)
    await review.accept_submission(accept(good), deps)
    await review.reject_submission(reject(lucky), deps)
    assert (await task_now(deps, task)).status is TaskStatus.COMPLETED

    clock.advance(WINDOW)  # the last moment of the window
    shown, _ = await review.accept_submission(accept(lucky, override=True), deps)
    assert (shown.status, shown.accepted_by, shown.feedback) == (
        SubmissionStatus.ACCEPTED,
        AcceptedBy.OVERRIDE,
        "",
    )
    assert shown.revert_until is None and shown.accepted_at == clock.now()
    accepted = await published(deps, events_pb2.SubmissionAccepted)
    assert [(e.submission_id, e.accepted_by) for e in accepted] == [
        (good, events_pb2.ACCEPTED_BY_CLIENT),
        (lucky, events_pb2.ACCEPTED_BY_OVERRIDE),
    ]
    assert (accepted[1].reward.amount_minor, accepted[1].worked_seconds) == (30, 30)
    t = await task_now(deps, task)
    assert (t.status, t.accepted_count, t.rejected_count) == (TaskStatus.COMPLETED, 2, 0)
    assert (await watched(deps)).count("submission_accepted") == 2

    # Overridden once: again is the same answer; rejecting accepted work is refused.
    before = await snapshot(deps)
    again = await review.accept_submission(accept(lucky, override=True), deps)
    assert again == (shown, [])
    for sub in (good, lucky):
        no = await refused(review.reject_submission(reject(sub), deps), FailedPrecondition)
        assert no.reason == "ALREADY_ACCEPTED"
    assert await snapshot(deps) == before


async def test_a_rejection_cannot_be_overridden_after_its_window(
    dispatcher_deps: Deps, clock: FakeClock
) -> None:
    deps = dispatcher_deps
    task = await new_task(deps)
    sub = await hand_in(deps, task, clock)
    await review.reject_submission(reject(sub), deps)
    clock.advance(WINDOW + timedelta(microseconds=1))
    before = await snapshot(deps)
    late = await refused(
        review.accept_submission(accept(sub, override=True), deps), FailedPrecondition
    )
    assert late.reason == "REVERT_WINDOW_OVER"
    assert await snapshot(deps) == before


async def test_the_revert_window_is_the_dispatchers_setting(
    dispatcher_deps: Deps, clock: FakeClock
) -> None:
    from dispatcher.settings import DispatcherSettings

    settings = DispatcherSettings.from_env({"CREWLINE_DISPATCHER_REVERT_WINDOW_SECONDS": "60"})
    deps = replace(dispatcher_deps, settings=settings)
    sub = await hand_in(deps, await new_task(deps), clock)
    shown, _ = await review.reject_submission(reject(sub), deps)
    assert shown.revert_until == clock.now() + timedelta(seconds=60)
    clock.advance(timedelta(seconds=61))
    late = await refused(
        review.accept_submission(accept(sub, override=True), deps), FailedPrecondition
    )
    assert late.reason == "REVERT_WINDOW_OVER"


# --- auto-accept ---------------------------------------------------------------------------


async def test_auto_accept_takes_only_work_still_pending(
    dispatcher_deps: Deps, clock: FakeClock
) -> None:
    deps = dispatcher_deps
    task = await new_task(deps, slots=3)
    accepted, rejected, pending = [await hand_in(deps, task, clock) for _ in range(3)]
    await review.accept_submission(accept(accepted), deps)
    await review.reject_submission(reject(rejected), deps)
    got = await review.get_submission(uuid.UUID(pending), "acme", deps)
    assert got[0].auto_accept_at == clock.now() + DELAY

    clock.advance(DELAY - timedelta(microseconds=1))
    assert await fire(deps, clock) == 0
    clock.advance(timedelta(microseconds=1))
    assert await fire(deps, clock) == 1  # the reviewed ones' clocks were removed
    assert await fire(deps, clock) == 0
    events = await published(deps, events_pb2.SubmissionAccepted)
    assert [(e.submission_id, e.accepted_by) for e in events] == [
        (accepted, events_pb2.ACCEPTED_BY_CLIENT),
        (pending, events_pb2.ACCEPTED_BY_AUTO_ACCEPT),
    ]
    assert events[1].pay_terms == pay_terms_to_pb(HOURLY) and events[1].worked_seconds == 90
    auto, _ = await review.get_submission(uuid.UUID(pending), "acme", deps)
    assert (auto.status, auto.accepted_by, auto.accepted_at) == (
        SubmissionStatus.ACCEPTED,
        AcceptedBy.AUTO_ACCEPT,
        clock.now(),
    )
    t = await task_now(deps, task)
    assert (t.status, t.accepted_count, t.rejected_count) == (TaskStatus.COMPLETED, 2, 1)
    assert (await watched(deps)).count("submission_accepted") == 2
    # Auto-accepted work is accepted: a late review gets the same answer or a refusal.
    assert (await review.accept_submission(accept(pending), deps))[0] == auto
    late = await refused(review.reject_submission(reject(pending), deps), FailedPrecondition)
    assert late.reason == "ALREADY_ACCEPTED"


@pytest.mark.parametrize("clock_first", [True, False])
async def test_a_review_racing_the_auto_accept_clock_makes_one_decision(
    dispatcher_deps: Deps, clock: FakeClock, clock_first: bool
) -> None:
    """Whichever commits first decides; neither deadlocks with the other."""
    deps = dispatcher_deps
    task = await new_task(deps, slots=2)
    subs = [await hand_in(deps, task, clock) for _ in range(2)]
    clock.advance(DELAY)

    async def rejected(sub: str) -> bool:
        try:
            await review.reject_submission(reject(sub), deps)
        except FailedPrecondition as err:
            assert err.reason == "ALREADY_ACCEPTED"
            return False
        return True

    reviews = [rejected(s) for s in subs]
    calls = [fire(deps, clock), *reviews] if clock_first else [*reviews, fire(deps, clock)]
    outcome = await asyncio.gather(*calls)
    won = outcome[1:] if clock_first else outcome[:-1]
    accepted = {e.submission_id for e in await published(deps, events_pb2.SubmissionAccepted)}
    kept = {e.submission_id for e in await published(deps, events_pb2.SubmissionRejected)}
    assert accepted | kept == set(subs) and not accepted & kept
    assert kept == {s for s, rejected_first in zip(subs, won, strict=True) if rejected_first}
    t = await task_now(deps, task)
    assert (t.accepted_count, t.rejected_count) == (len(accepted), len(kept))
    assert await fire(deps, clock) == 0


# --- concurrent copies ---------------------------------------------------------------------


async def test_concurrent_copies_of_a_review_get_the_same_answer(
    dispatcher_deps: Deps, clock: FakeClock
) -> None:
    deps = dispatcher_deps
    task = await new_task(deps, slots=2)
    a, b = await hand_in(deps, task, clock), await hand_in(deps, task, clock)
    accepts = await asyncio.gather(*(review.accept_submission(accept(a), deps) for _ in range(5)))
    rejects = await asyncio.gather(*(review.reject_submission(reject(b), deps) for _ in range(5)))
    assert all(r == accepts[0] for r in accepts) and all(r == rejects[0] for r in rejects)
    assert len(await published(deps, events_pb2.SubmissionAccepted)) == 1
    assert len(await published(deps, events_pb2.SubmissionRejected)) == 1
    t = await task_now(deps, task)
    assert (t.accepted_count, t.rejected_count) == (1, 1)


# --- bonuses -------------------------------------------------------------------------------


async def test_a_bonus_key_names_one_bonus_forever(dispatcher_deps: Deps, clock: FakeClock) -> None:
    deps = dispatcher_deps
    task = await new_task(deps)
    sub, other = await hand_in(deps, task, clock), await hand_in(deps, task, clock)
    await review.reject_submission(reject(sub), deps)  # any submission may get one

    granted, (shown, bonuses) = await review.grant_bonus(bonus(sub), deps)
    assert (granted.idempotency_key, granted.amount, granted.reason) == (
        "b-1",
        Money("USD", 250),
        "careful",
    )
    assert granted.bonus_id == uuid.uuid5(
        uuid.UUID("5d0c6f0e-4f0a-5b8e-9c61-2b1c9a3e7b10"), "acme/b-1"
    )
    assert shown.submission_id == uuid.UUID(sub) and bonuses == [granted]
    [event] = await published(deps, events_pb2.BonusGranted)
    assert (event.bonus_id, event.submission_id, event.task_id, event.contractor_id) == (
        str(granted.bonus_id),
        sub,
        str(task.task_id),
        "ann",
    )
    assert (event.client_id, event.project_id, event.reason) == ("acme", task.project_id, "careful")
    assert event.amount == usd(250) and from_timestamp(event.granted_at) == clock.now()

    # A year later: the same bonus. Concurrent copies of a new key: one bonus.
    clock.advance(timedelta(days=365))
    assert (await review.grant_bonus(bonus(sub), deps))[0] == granted
    copies = await asyncio.gather(*(review.grant_bonus(bonus(sub, "b-2"), deps) for _ in range(5)))
    assert len({c[0] for c in copies}) == 1
    assert len(await published(deps, events_pb2.BonusGranted)) == 2
    assert len((await review.get_submission(uuid.UUID(sub), "acme", deps))[1]) == 2
    assert (await watched(deps)).count("bonus_granted") == 2  # the client sees each once

    # The key reused for another bonus: refused, naming the key, and nothing written.
    before = await snapshot(deps)
    for reused in (bonus(sub, amount=251), bonus(sub, reason="other"), bonus(other)):
        err = await refused(review.grant_bonus(reused, deps), InvalidArgument)
        assert err.field == "idempotency_key"
    wrong = await refused(
        review.grant_bonus(bonus(sub, "b-3", currency="EUR"), deps), InvalidArgument
    )
    assert wrong.field == "amount.currency_code"
    assert await snapshot(deps) == before


async def test_concurrent_uses_of_one_key_on_two_submissions_grant_one_bonus(
    dispatcher_deps: Deps, clock: FakeClock
) -> None:
    deps = dispatcher_deps
    task = await new_task(deps)
    a, b = await hand_in(deps, task, clock), await hand_in(deps, task, clock)

    async def grant(sub: str) -> str | None:
        try:
            return str((await review.grant_bonus(bonus(sub, "same"), deps))[0].submission_id)
        except InvalidArgument as err:
            assert err.field == "idempotency_key"
            return None

    results = await asyncio.gather(*(grant(s) for s in (a, b, a, b)))
    winners = {r for r in results if r is not None}
    assert len(winners) == 1
    [event] = await published(deps, events_pb2.BonusGranted)
    assert event.submission_id in winners


async def test_keys_belong_to_their_client(dispatcher_deps: Deps, clock: FakeClock) -> None:
    deps = dispatcher_deps
    mine = await hand_in(deps, await new_task(deps), clock)
    theirs = await hand_in(deps, await new_task(deps, client="globex", key="g"), clock)
    b1, _ = await review.grant_bonus(bonus(mine), deps)
    b2, _ = await review.grant_bonus(bonus(theirs, client="globex"), deps)
    assert b1.bonus_id != b2.bonus_id
    assert len(await published(deps, events_pb2.BonusGranted)) == 2


# --- reading -------------------------------------------------------------------------------


async def test_submissions_are_listed_oldest_first_by_task_project_and_state(
    dispatcher_deps: Deps, clock: FakeClock
) -> None:
    deps = dispatcher_deps
    one = await new_task(deps, slots=3)
    # A second task in the same project.
    spec = model.task_spec(
        idempotency_key="t2",
        payload_json="{}",
        payload_bytes=None,
        slots=2,
        priority=None,
        lifetime_seconds=0,
        field="task",
    )
    [two] = await task_handlers.submit_tasks(
        model.submit_tasks(client_id="acme", project_id=one.project_id, tasks=[spec]), deps
    )
    order = []
    for task in (one, two, one, two, one):
        order.append(await hand_in(deps, task, clock))
        clock.advance(timedelta(seconds=1))
    await review.accept_submission(accept(order[0]), deps)
    await review.reject_submission(reject(order[3]), deps)
    await review.grant_bonus(bonus(order[0]), deps)

    async def listed(**filters: Any) -> list[list[str]]:
        pages, token = [], ""
        while True:
            req = api.ListSubmissionsRequest(page_size=2, page_token=token, **filters)
            query = review_pb.list_submissions_query(req, client_id="acme")
            page, more = await review.list_submissions(query, deps)
            pages.append([str(s.submission_id) for s, _ in page])
            if more is None:
                return pages
            token = more.token()

    assert await listed(project_id=one.project_id) == [order[0:2], order[2:4], order[4:]]
    assert await listed(task_id=str(one.task_id)) == [[order[0], order[2]], [order[4]]]
    pending = api.SUBMISSION_STATUS_PENDING_REVIEW
    assert await listed(project_id=one.project_id, status=pending) == [
        [order[1], order[2]],
        [order[4]],
    ]
    assert await listed(task_id=str(two.task_id), status=api.SUBMISSION_STATUS_REJECTED) == [
        [order[3]]
    ]
    # Each with its result and bonuses; the listing and GetSubmission agree.
    query = review_pb.list_submissions_query(
        api.ListSubmissionsRequest(task_id=str(one.task_id)), client_id="acme"
    )
    [first, *_], _ = await review.list_submissions(query, deps)
    assert first == await review.get_submission(uuid.UUID(order[0]), "acme", deps)
    assert first[0].result == b"4/5" and len(first[1]) == 1
    pb = review_pb.submission_to_pb(*first)
    assert (pb.status, pb.accepted_by, pb.earned, pb.worked_seconds) == (
        api.SUBMISSION_STATUS_ACCEPTED,
        events_pb2.ACCEPTED_BY_CLIENT,
        usd(90),
        90,
    )
    assert not pb.HasField("revert_until") and not pb.HasField("auto_accept_at")
    # GetTask shows them too (without results).
    acme = Principal(PrincipalKind.CLIENT, "acme")
    _, with_task = await task_handlers.get_task(one.task_id, acme, deps)
    assert [str(s.submission_id) for s, _ in with_task] == [order[0], order[2], order[4]]
    assert all(s.result is None for s, _ in with_task)
    # Another client sees none of them: neither a project nor a task not theirs.
    other = review_pb.list_submissions_query(
        api.ListSubmissionsRequest(project_id=one.project_id), client_id="globex"
    )
    await refused(review.list_submissions(other, deps), NotFound)
    theirs = review_pb.list_submissions_query(
        api.ListSubmissionsRequest(task_id=str(one.task_id)), client_id="globex"
    )
    await refused(review.list_submissions(theirs, deps), NotFound)


async def test_another_clients_submission_is_not_found_anywhere(
    dispatcher_deps: Deps, clock: FakeClock
) -> None:
    deps = dispatcher_deps
    sub = await hand_in(deps, await new_task(deps), clock)
    before = await snapshot(deps)
    g = "globex"
    for call in (
        review.get_submission(uuid.UUID(sub), g, deps),
        review.accept_submission(accept(sub, client=g), deps),
        review.reject_submission(reject(sub, client=g), deps),
        review.grant_bonus(bonus(sub, client=g), deps),
        review.get_submission(uuid.uuid4(), "acme", deps),
        review.accept_submission(accept(str(uuid.uuid4())), deps),
    ):
        await refused(call, NotFound)
    assert await snapshot(deps) == before


@pytest.mark.parametrize(
    ("make", "field"),
    [
        (lambda s: accept(""), "submission_id"),
        (lambda s: accept("not-a-uuid"), "submission_id"),
        (lambda s: accept(s, feedback="x" * 2001), "feedback"),
        (lambda s: reject(s, ""), "feedback"),
        (lambda s: reject(s, "   "), "feedback"),
        (lambda s: reject(s, "x" * 2001), "feedback"),
        (lambda s: reject(s, "a\x00b"), "feedback"),
        (lambda s: bonus(s, amount=0), "amount.amount_minor"),
        (lambda s: bonus(s, amount=-5), "amount.amount_minor"),
        (lambda s: bonus(s, currency="usd"), "amount.currency_code"),
        (lambda s: bonus(s, reason=""), "reason"),
        (lambda s: bonus(s, reason="x" * 501), "reason"),
        (lambda s: bonus(s, key=""), "idempotency_key"),
        (lambda s: bonus(s, key="a b"), "idempotency_key"),
        (
            lambda s: review_pb.list_submissions_query(
                api.ListSubmissionsRequest(), client_id="acme"
            ),
            "project_id",
        ),
        (
            lambda s: review_pb.list_submissions_query(
                api.ListSubmissionsRequest(task_id=s, status=9), client_id="acme"
            ),
            "status",
        ),
        (
            lambda s: review_pb.list_submissions_query(
                api.ListSubmissionsRequest(task_id=s, page_size=501), client_id="acme"
            ),
            "page_size",
        ),
        (
            lambda s: review_pb.list_submissions_query(
                api.ListSubmissionsRequest(task_id=s, page_token="nope"), client_id="acme"
            ),
            "page_token",
        ),
        (
            lambda s: review_pb.list_submissions_query(
                api.ListSubmissionsRequest(task_id="x"), client_id="acme"
            ),
            "task_id",
        ),
    ],
)
def test_bad_review_requests_name_their_field(make: Any, field: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        make(str(uuid.uuid4()))
    assert err.value.field == field


# --- older events --------------------------------------------------------------------------


async def test_work_from_an_older_matcher_is_reviewed_with_what_is_known(
    dispatcher_deps: Deps, clock: FakeClock
) -> None:
    deps = dispatcher_deps
    task = await new_task(deps)
    old = work(task, clock)
    for name in ("worked_seconds", "segments", "granted_at", "client_id", "pay_terms"):
        old.ClearField(name)  # type: ignore[arg-type]
    grant_at = clock.now() - timedelta(minutes=7)
    grant = events_pb2.ClaimGranted(
        claim_id=old.claim_id,
        task_id=old.task_id,
        contractor_id="ann",
        granted_at=timestamp(grant_at),
        deadline_at=timestamp(clock.now() + timedelta(minutes=3)),
    )
    await consume(deps, grant, old)
    shown, _ = await review.accept_submission(accept(old.claim_id), deps)
    assert (shown.worked_seconds, shown.pay_terms, shown.granted_at) == (0, None, grant_at)
    [event] = await published(deps, events_pb2.SubmissionAccepted)
    assert not event.HasField("pay_terms") and from_timestamp(event.granted_at) == grant_at
    assert event.reward == old.reward and event.client_id == "acme"
