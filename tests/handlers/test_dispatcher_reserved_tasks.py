"""Gold tasks in the dispatcher: the quality service's GoldIssued becomes a task reserved
for one contractor, published as SubmitTasks publishes one, and the task ends when that
contractor's claim on it ends. Through the dispatcher's handlers, on a real database and
a fake clock; events are read from the outbox."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from google.protobuf.message import Message

from crewline.consumer import EventContext
from crewline.errors import InvalidArgument
from crewline.events import PayloadTypes, parse_envelope
from crewline.money import Money
from crewline.pay_terms import Basis, PayTerms
from crewline.protobuf import from_timestamp, money_to_pb, timestamp
from crewline.timekeeping import FakeClock
from crewline.v1 import claim_pb2, events_pb2, task_service_pb2
from dispatcher import handlers
from dispatcher.adapters import protobuf as pb
from dispatcher.deps import PUBLISHES, Deps
from dispatcher.domain import model, projects
from dispatcher.domain.projects import ProjectFields, ProjectState
from dispatcher.domain.review import accept_submission
from dispatcher.domain.tasks import Task, TaskStatus
from dispatcher.handlers import projects as project_handlers
from dispatcher.handlers import review as review_handlers
from dispatcher.handlers import tasks as task_handlers

FIELDS = ProjectFields(
    title="Dermatology ratings",
    instructions="Rate the answer.",
    requirements=(),
    pay_terms=PayTerms(basis=Basis.PER_SUBMISSION, rate=Money("USD", 1250)),
    assignments_per_task=3,
    claim_timeout_seconds=600,
    task_lifetime_seconds=86_400,
    auto_accept_delay_seconds=7200,
    priority=40,
    max_claims_per_contractor=0,
)
TYPES = PayloadTypes.of(PUBLISHES)


async def new_project(deps: Deps, client: str = "acme", request_id: str = "p") -> str:
    cmd = projects.create_project(request_id=request_id, client_id=client, fields=FIELDS)
    return (await project_handlers.create_project(cmd, deps)).project_id


def gold(project_id: str, *, task_id: str = "", client: str = "acme") -> events_pb2.GoldIssued:
    return events_pb2.GoldIssued(
        task_id=task_id or str(uuid.uuid4()),
        project_id=project_id,
        client_id=client,
        contractor_id="ann",
        payload_json='{"case": 17}',
    )


async def consume(deps: Deps, *events: Message) -> None:
    """What the consumer does with each event: its route, in a transaction of its own."""
    routes = handlers.event_routes(deps)
    for event in events:
        ctx = EventContext(str(uuid.uuid4()), "c", "quality", "t", 0, 0)
        async with deps.pool.acquire() as conn, conn.transaction():
            await routes[type(event)](conn, event, ctx)


async def published(deps: Deps, kind: type[Message]) -> list[Any]:
    rows = await deps.pool.fetch("SELECT envelope FROM outbox ORDER BY id")
    envelopes = [parse_envelope(r["envelope"]) for r in rows]
    return [TYPES.unpack(e) for e in envelopes if e.type == kind.DESCRIPTOR.full_name]


async def all_tasks(deps: Deps) -> list[Task]:
    query = model.list_tasks(client_id="acme", page_size=100, page_token="")
    found, _ = await task_handlers.list_tasks(query, deps)
    return found


async def the_task(deps: Deps, task_id: str) -> Task:
    from dispatcher.adapters import repository

    async with deps.pool.acquire() as conn:
        task = await repository.get_task(conn, uuid.UUID(task_id))
    assert task is not None
    return task


# --- GoldIssued publishes a reserved task -----------------------------------------------


async def test_a_gold_task_is_published_reserved_with_the_projects_settings(
    dispatcher_deps: Deps, clock: FakeClock
) -> None:
    deps = dispatcher_deps
    project_id = await new_project(deps)
    event = gold(project_id)
    await consume(deps, event)

    [task] = await all_tasks(deps)
    assert str(task.task_id) == event.task_id and task.reserved_for == "ann"
    assert (task.slots, task.priority, task.own_priority) == (3, 40, False)
    assert task.expires_at == clock.now() + timedelta(seconds=86_400)
    assert task.idempotency_key == f"gold/{event.task_id}"
    assert (task.status, task.payload_json) == (TaskStatus.OPEN, '{"case": 17}')

    # The client sees whom it is reserved for; a task of its own is reserved for no one.
    assert pb.task_to_pb(task).reserved_for == "ann"
    [own] = await task_handlers.submit_tasks(
        model.submit_tasks(
            client_id="acme",
            project_id=project_id,
            tasks=[model.TaskSpec(idempotency_key="own", payload_json="{}")],
        ),
        deps,
    )
    assert own.reserved_for == "" and pb.task_to_pb(own).reserved_for == ""

    [sent, ordinary] = await published(deps, events_pb2.TaskPublished)
    assert (sent.task_id, sent.reserved_for, sent.slots, sent.priority) == (
        event.task_id,
        "ann",
        3,
        40,
    )
    assert from_timestamp(sent.expires_at) == task.expires_at
    assert sent.payload_json == '{"case": 17}' and ordinary.reserved_for == ""


async def test_a_redelivered_gold_task_changes_nothing(dispatcher_deps: Deps) -> None:
    deps = dispatcher_deps
    event = gold(await new_project(deps))
    await consume(deps, event)
    before = await all_tasks(deps)
    await consume(deps, event, event)  # new event ids: past the inbox, into the handler
    assert await all_tasks(deps) == before
    assert len(await published(deps, events_pb2.TaskPublished)) == 1


async def test_the_same_task_id_issued_to_another_contractor_is_refused(
    dispatcher_deps: Deps,
) -> None:
    """A gold task's id is its issuer's: the same id for someone else is a fault of the
    issuer, refused naming the key (dead-lettered), not taken for a redelivery."""
    deps = dispatcher_deps
    event = gold(await new_project(deps))
    await consume(deps, event)
    other = events_pb2.GoldIssued()
    other.CopyFrom(event)
    other.contractor_id = "ben"
    with pytest.raises(InvalidArgument) as refused:
        await consume(deps, other)
    assert refused.value.field == "task.idempotency_key"
    assert [t.reserved_for for t in await all_tasks(deps)] == ["ann"]


@pytest.mark.parametrize("case", ["unknown", "foreign", "closed"])
async def test_a_gold_task_for_a_project_that_cannot_take_it_is_skipped(
    dispatcher_deps: Deps, case: str
) -> None:
    deps = dispatcher_deps
    mine = await new_project(deps)
    if case == "unknown":
        event = gold(str(uuid.uuid4()))
    elif case == "foreign":
        event = gold(await new_project(deps, client="globex"))  # acme names globex's
    else:
        close = projects.change_project_state(
            project_id=mine, client_id="acme", state=ProjectState.CLOSED
        )
        await project_handlers.change_state(close, deps)
        event = gold(mine)
    await consume(deps, event)  # no error: nothing to dead-letter
    assert await all_tasks(deps) == []
    assert await published(deps, events_pb2.TaskPublished) == []
    rows = await deps.pool.fetchval("SELECT count(*) FROM tasks")
    assert rows == 0


async def test_a_paused_project_takes_a_gold_task(dispatcher_deps: Deps) -> None:
    deps = dispatcher_deps
    project_id = await new_project(deps)
    pause = projects.change_project_state(
        project_id=project_id, client_id="acme", state=ProjectState.PAUSED
    )
    await project_handlers.change_state(pause, deps)
    event = gold(project_id)
    await consume(deps, event)
    [task] = await all_tasks(deps)
    assert (str(task.task_id), task.reserved_for) == (event.task_id, "ann")
    assert len(await published(deps, events_pb2.TaskPublished)) == 1


@pytest.mark.parametrize(
    ("field", "change"),
    [
        ("task_id", {"task_id": "not-a-uuid"}),
        ("contractor_id", {"contractor_id": ""}),
        ("payload_json", {"payload_json": "{not json"}),
    ],
)
async def test_a_malformed_gold_task_is_refused_naming_its_field(
    dispatcher_deps: Deps, field: str, change: dict[str, str]
) -> None:
    deps = dispatcher_deps
    event = gold(await new_project(deps))
    for name, value in change.items():
        setattr(event, name, value)
    with pytest.raises(InvalidArgument) as refused:
        await consume(deps, event)
    assert refused.value.field == field
    assert await all_tasks(deps) == []


# --- the task ends with its contractor's claim ------------------------------------------


def granted(task_id: str, project_id: str, claim: str, deps: Deps) -> events_pb2.ClaimGranted:
    now = deps.clock.now()
    return events_pb2.ClaimGranted(
        claim_id=claim,
        task_id=task_id,
        contractor_id="ann",
        granted_at=timestamp(now),
        project_id=project_id,
        deadline_at=timestamp(now + timedelta(minutes=10)),
        max_deadline_at=timestamp(now + timedelta(hours=1)),
        client_id="acme",
    )


def claim_over(
    how: str, task_id: str, project_id: str, claim: str, deps: Deps, contractor: str = "ann"
) -> Message:
    if how == "submitted":
        return events_pb2.WorkSubmitted(
            claim_id=claim,
            task_id=task_id,
            contractor_id=contractor,
            reward=money_to_pb(Money("USD", 1250)),
            result=b'{"rating": 4}',
            submitted_at=timestamp(deps.clock.now()),
            project_id=project_id,
            client_id="acme",
        )
    reason = {
        "released": claim_pb2.CLAIM_END_REASON_RELEASED,
        "expired": claim_pb2.CLAIM_END_REASON_EXPIRED,
    }[how]
    return events_pb2.ClaimEnded(
        claim_id=claim,
        task_id=task_id,
        contractor_id=contractor,
        project_id=project_id,
        reason=reason,
        ended_at=timestamp(deps.clock.now()),
        client_id="acme",
    )


@pytest.mark.parametrize("how", ["submitted", "released", "expired"])
async def test_a_reserved_task_ends_when_its_contractors_claim_ends(
    dispatcher_deps: Deps, how: str
) -> None:
    deps = dispatcher_deps
    project_id = await new_project(deps)
    event = gold(project_id)
    await consume(deps, event)
    claim = str(uuid.uuid4())
    await consume(deps, granted(event.task_id, project_id, claim, deps))
    assert (await the_task(deps, event.task_id)).status is TaskStatus.OPEN
    assert await published(deps, events_pb2.TaskChanged) == []

    await consume(deps, claim_over(how, event.task_id, project_id, claim, deps))
    task = await the_task(deps, event.task_id)
    assert task.status is TaskStatus.CANCELLED and task.cancelled_at is not None
    assert task.live_claims == 0
    assert task.cancel_reason == (
        "gold answered" if how == "submitted" else "gold claim ended without work"
    )
    [changed] = await published(deps, events_pb2.TaskChanged)
    assert (changed.task_id, changed.lifecycle) == (
        event.task_id,
        events_pb2.TASK_LIFECYCLE_CANCELLED,
    )
    # A redelivery of the claim's end changes nothing more.
    await consume(deps, claim_over(how, event.task_id, project_id, claim, deps))
    assert await the_task(deps, event.task_id) == task
    assert len(await published(deps, events_pb2.TaskChanged)) == 1


async def test_work_on_an_ended_reserved_task_is_reviewed_and_paid_as_any(
    dispatcher_deps: Deps,
) -> None:
    deps = dispatcher_deps
    project_id = await new_project(deps)
    event = gold(project_id)
    await consume(deps, event)
    claim = str(uuid.uuid4())
    await consume(
        deps,
        granted(event.task_id, project_id, claim, deps),
        claim_over("submitted", event.task_id, project_id, claim, deps),
    )
    accept = accept_submission(
        client_id="acme", submission_id=claim, feedback="", override_rejection=False
    )
    accepted, _bonuses = await review_handlers.accept_submission(accept, deps)
    assert accepted.status.value == "accepted" and accepted.reward == Money("USD", 1250)
    [paid] = await published(deps, events_pb2.SubmissionAccepted)
    assert (paid.submission_id, paid.contractor_id) == (claim, "ann")
    task = await the_task(deps, event.task_id)
    assert (task.status, task.accepted_count) == (TaskStatus.CANCELLED, 1)
    shown = pb.task_to_pb(task)
    assert shown.status == task_service_pb2.TASK_STATUS_CANCELLED and shown.reserved_for == "ann"


async def test_an_ordinary_tasks_claim_ending_does_not_end_it(dispatcher_deps: Deps) -> None:
    deps = dispatcher_deps
    project_id = await new_project(deps)
    [task] = await task_handlers.submit_tasks(
        model.submit_tasks(
            client_id="acme",
            project_id=project_id,
            tasks=[model.TaskSpec(idempotency_key="own", payload_json="{}")],
        ),
        deps,
    )
    claim = str(uuid.uuid4())
    task_id = str(task.task_id)
    await consume(
        deps,
        granted(task_id, project_id, claim, deps),
        claim_over("submitted", task_id, project_id, claim, deps),
    )
    assert (await the_task(deps, task_id)).status is TaskStatus.OPEN
    assert await published(deps, events_pb2.TaskChanged) == []
