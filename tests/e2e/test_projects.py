"""Projects and batches of tasks through the dispatcher's gRPC API, on the real stack."""

from __future__ import annotations

import time

import grpc
from google.protobuf import field_mask_pb2

from crewline.client.errors import error_reason
from crewline.events import PROJECTS_TOPIC, TASKS_TOPIC, PayloadTypes, parse_envelope
from crewline.v1 import contractor_admin_service_pb2 as contractor_admin
from crewline.v1 import events_pb2, money_pb2, project_pb2
from crewline.v1 import task_service_pb2 as task_api

from flow import as_client, as_operator, new_project, refused, unique
from harness import Stack
from stack import eventually, read_topic


def per_submission(amount: int) -> project_pb2.PayTerms:
    reward = money_pb2.Money(currency_code="USD", amount_minor=amount)
    return project_pb2.PayTerms(per_submission=project_pb2.PerSubmissionPay(reward=reward))


def specs(n: int, prefix: str = "") -> list[task_api.TaskSpec]:
    prefix = prefix or unique("k")
    return [
        task_api.TaskSpec(idempotency_key=f"{prefix}-{i}", payload_json=f'{{"case": {i}}}')
        for i in range(n)
    ]


async def all_tasks(stack: Stack, client: str, project_id: str) -> list[task_api.Task]:
    found: list[task_api.Task] = []
    token = ""
    while True:
        reply = await stack.tasks.ListTasks(
            task_api.ListTasksRequest(project_id=project_id, page_size=500, page_token=token),
            metadata=await as_client(stack, client),
        )
        found.extend(reply.tasks)
        token = reply.next_page_token
        if not token:
            return found


async def project_events(stack: Stack, project_id: str) -> list[events_pb2.ProjectChanged]:
    types = PayloadTypes.of([events_pb2.ProjectChanged])
    found = []
    for record in await read_topic(stack.kafka, PROJECTS_TOPIC):
        event = types.unpack(parse_envelope(record.value))
        if isinstance(event, events_pb2.ProjectChanged) and event.project.project_id == project_id:
            found.append(event)
    return found


async def test_a_project_is_created_read_listed_and_updated_with_its_pay_terms_history(
    stack: Stack,
) -> None:
    client = unique("lab")
    md = await as_client(stack, client)
    request = task_api.CreateProjectRequest(
        request_id=unique("proj"),
        title="Dermatology ratings",
        instructions="Rate the answer.",
        pay_terms=per_submission(1250),
        assignments_per_task=3,
        priority=20,
    )
    created = (await stack.tasks.CreateProject(request, metadata=md)).project
    again = (await stack.tasks.CreateProject(request, metadata=md)).project
    assert again == created
    assert (created.client_id, created.revision, created.claim_timeout_seconds) == (client, 1, 3600)
    assert created.pay_terms.version == 1
    other = await new_project(stack, client=client, title="Second")

    listed = await stack.tasks.ListProjects(task_api.ListProjectsRequest(page_size=1), metadata=md)
    assert [p.project_id for p in listed.projects] == [other]  # newest first
    rest = await stack.tasks.ListProjects(
        task_api.ListProjectsRequest(page_token=listed.next_page_token), metadata=md
    )
    assert [p.project_id for p in rest.projects] == [created.project_id]
    assert rest.next_page_token == ""

    change = project_pb2.Project(
        project_id=created.project_id, pay_terms=per_submission(1500), priority=20
    )
    mask = field_mask_pb2.FieldMask(paths=["pay_terms", "priority"])
    update = task_api.UpdateProjectRequest(project=change, update_mask=mask, expected_revision=1)
    updated = (await stack.tasks.UpdateProject(update, metadata=md)).project
    assert (updated.revision, updated.pay_terms.version, updated.priority) == (2, 2, 20)
    # The same update again changes nothing (a retry), though revision 1 is gone.
    assert (await stack.tasks.UpdateProject(update, metadata=md)).project == updated
    stale = task_api.UpdateProjectRequest(
        project=project_pb2.Project(project_id=created.project_id, title="New"),
        update_mask=field_mask_pb2.FieldMask(paths=["title"]),
        expected_revision=1,
    )
    err = await refused(stack.tasks.UpdateProject(stale, metadata=md))
    assert err.code() == grpc.StatusCode.ABORTED

    got = await stack.tasks.GetProject(
        task_api.GetProjectRequest(project_id=created.project_id), metadata=md
    )
    assert got.project == updated
    assert [(t.version, t.per_submission.reward.amount_minor) for t in got.pay_terms_history] == [
        (1, 1250),
        (2, 1500),
    ]

    async def both_changes_published() -> bool:
        events = await project_events(stack, created.project_id)
        return [e.project.revision for e in events] == [1, 2]

    await eventually(both_changes_published)
    last = (await project_events(stack, created.project_id))[-1]
    assert last.project.pay_terms.per_submission.reward.amount_minor == 1500


async def test_malformed_project_requests_name_the_field(stack: Stack) -> None:
    md = await as_client(stack, "acme")
    good = task_api.CreateProjectRequest(
        request_id=unique("proj"), title="T", pay_terms=per_submission(100)
    )
    cases = [
        (task_api.CreateProjectRequest(request_id=unique("p"), title="T"), "pay_terms"),
        (
            task_api.CreateProjectRequest(
                request_id=unique("p"), title="T", pay_terms=per_submission(0)
            ),
            "pay_terms.per_submission.reward.amount_minor",
        ),
        (
            task_api.CreateProjectRequest(
                request_id=unique("p"), title=" ", pay_terms=per_submission(1)
            ),
            "title",
        ),
        (
            task_api.CreateProjectRequest(
                request_id=unique("p"), title="T", pay_terms=per_submission(1), priority=101
            ),
            "priority",
        ),
    ]
    for request, field in cases:
        err = await refused(stack.tasks.CreateProject(request, metadata=md))
        assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert (err.details() or "").startswith(f"{field}:"), (field, err.details())
    project_id = (await stack.tasks.CreateProject(good, metadata=md)).project.project_id
    for paths, field in ((["title", "nope"], "update_mask"), ([], "update_mask")):
        err = await refused(
            stack.tasks.UpdateProject(
                task_api.UpdateProjectRequest(
                    project=project_pb2.Project(project_id=project_id),
                    update_mask=field_mask_pb2.FieldMask(paths=paths),
                ),
                metadata=md,
            )
        )
        assert (err.details() or "").startswith(f"{field}:")


async def test_a_batch_of_1000_tasks_is_published_in_one_call(stack: Stack) -> None:
    client = unique("lab")
    project_id = await new_project(stack, client=client, assignments_per_task=2)
    batch = specs(1000)
    batch[3].priority, batch[3].slots = 90, 5
    started = time.perf_counter()
    reply = await stack.tasks.SubmitTasks(
        task_api.SubmitTasksRequest(project_id=project_id, tasks=batch),
        metadata=await as_client(stack, client),
    )
    print(f"\nSubmitTasks of 1000 tasks: {time.perf_counter() - started:.3f} s")
    assert [t.idempotency_key for t in reply.tasks] == [s.idempotency_key for s in batch]
    assert (reply.tasks[0].slots, reply.tasks[0].priority) == (2, 0)
    assert (reply.tasks[3].slots, reply.tasks[3].priority) == (5, 90)
    assert reply.tasks[7].payload_json == '{"case": 7}'
    listed = await all_tasks(stack, client, project_id)
    assert sorted(t.task_id for t in listed) == sorted(t.task_id for t in reply.tasks)

    # A later batch reusing keys gets the same tasks back.
    again = await stack.tasks.SubmitTasks(
        task_api.SubmitTasksRequest(project_id=project_id, tasks=batch[:10]),
        metadata=await as_client(stack, client),
    )
    assert list(again.tasks) == list(reply.tasks[:10])

    ours = {t.task_id for t in reply.tasks}
    types = PayloadTypes.of([events_pb2.TaskPublished])

    async def all_published() -> bool:
        records = await read_topic(stack.kafka, TASKS_TOPIC)
        events = [types.unpack(parse_envelope(r.value)) for r in records]
        published = [e for e in events if isinstance(e, events_pb2.TaskPublished)]
        mine = [e for e in published if e.task_id in ours]
        return len(mine) == 1000 and any(
            e.priority == 90 and e.HasField("expires_at") for e in mine
        )

    await eventually(all_published)


async def test_a_batch_with_one_bad_task_is_refused_naming_it_and_changes_nothing(
    stack: Stack,
) -> None:
    client = unique("lab")
    md = await as_client(stack, client)
    project_id = await new_project(stack, client=client)
    batch = specs(50)
    batch[17].payload_json = "{oops"
    err = await refused(
        stack.tasks.SubmitTasks(
            task_api.SubmitTasksRequest(project_id=project_id, tasks=batch), metadata=md
        )
    )
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert (err.details() or "").startswith("tasks[17].payload_json:")
    assert await all_tasks(stack, client, project_id) == []

    # A key that made another task earlier refuses the whole batch, too.
    first = specs(1)
    await stack.tasks.SubmitTasks(
        task_api.SubmitTasksRequest(project_id=project_id, tasks=first), metadata=md
    )
    batch = specs(10)
    batch[4].idempotency_key = first[0].idempotency_key
    err = await refused(
        stack.tasks.SubmitTasks(
            task_api.SubmitTasksRequest(project_id=project_id, tasks=batch), metadata=md
        )
    )
    assert (err.details() or "").startswith("tasks[4].idempotency_key:")
    assert len(await all_tasks(stack, client, project_id)) == 1


async def test_another_clients_project_is_not_found(stack: Stack) -> None:
    owner, other = unique("lab"), unique("lab")
    project_id = await new_project(stack, client=owner)
    md = await as_client(stack, other)
    calls = [
        stack.tasks.GetProject(task_api.GetProjectRequest(project_id=project_id), metadata=md),
        stack.tasks.SubmitTasks(
            task_api.SubmitTasksRequest(project_id=project_id, tasks=specs(1)), metadata=md
        ),
        stack.tasks.UpdateProject(
            task_api.UpdateProjectRequest(
                project=project_pb2.Project(project_id=project_id, priority=1),
                update_mask=field_mask_pb2.FieldMask(paths=["priority"]),
            ),
            metadata=md,
        ),
    ]
    for call in calls:
        assert (await refused(call)).code() == grpc.StatusCode.NOT_FOUND


async def test_requirements_name_only_qualification_types_the_matcher_defined(
    stack: Stack,
) -> None:
    name = unique("domain.q").lower()
    requirement = project_pb2.Requirement(
        qualification=name, comparator=project_pb2.COMPARATOR_GREATER_OR_EQUAL, scores=[80]
    )
    md = await as_client(stack, "acme")
    request = task_api.CreateProjectRequest(
        request_id=unique("proj"),
        title="Needs a qualification",
        requirements=[requirement],
        pay_terms=per_submission(100),
    )
    err = await refused(stack.tasks.CreateProject(request, metadata=md))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error_reason(err) == "UNKNOWN_QUALIFICATION"
    assert (err.details() or "").startswith("requirements[0].qualification:")

    await stack.contractors.DefineQualificationType(
        contractor_admin.DefineQualificationTypeRequest(
            name=name, kind=project_pb2.QUALIFICATION_KIND_SCORE
        ),
        metadata=as_operator(stack),
    )
    made: list[project_pb2.Project] = []

    async def created() -> bool:  # once the type has reached the dispatcher's copy
        try:
            made.append((await stack.tasks.CreateProject(request, metadata=md)).project)
        except grpc.aio.AioRpcError as err:
            if error_reason(err) == "UNKNOWN_QUALIFICATION":
                return False
            raise
        return True

    await eventually(created)
    assert made[0].requirements == [requirement]
