"""Projects, batches of tasks and task listing through the dispatcher's handlers, on a
real database of the test's own, with a fake clock."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from crewline.auth.principal import Kind as PrincipalKind
from crewline.auth.principal import Principal
from crewline.consumer import EventContext
from crewline.errors import Aborted, FailedPrecondition, InvalidArgument, NotFound
from crewline.events import parse_envelope
from crewline.money import Money
from crewline.pay_terms import Basis, PayTerms
from crewline.protobuf import kind_to_pb, timestamp
from crewline.qualifications import Comparator, Kind
from crewline.timekeeping import FakeClock
from crewline.v1 import contractor_admin_service_pb2 as admin_api
from crewline.v1 import events_pb2, project_pb2
from dispatcher.deps import Deps
from dispatcher.domain import lifecycle, model, projects, review
from dispatcher.domain.projects import ProjectFields, ProjectState, RequirementSpec
from dispatcher.domain.tasks import TaskStatus
from dispatcher.handlers import claims as claim_handlers
from dispatcher.handlers import projects as project_handlers
from dispatcher.handlers import review as review_handlers
from dispatcher.handlers import tasks as task_handlers
from dispatcher.handlers import watch as watch_handlers
from dispatcher.settings import DispatcherSettings

from stack import outbox_types

ACME = Principal(PrincipalKind.CLIENT, "acme")
PER_SUBMISSION = PayTerms(basis=Basis.PER_SUBMISSION, rate=Money("USD", 1250))
HOURLY = PayTerms(basis=Basis.HOURLY, rate=Money("USD", 3000), max_paid_seconds=3600)
FIELDS = ProjectFields(
    title="Dermatology ratings",
    instructions="Rate the answer.",
    requirements=(),
    pay_terms=PER_SUBMISSION,
    assignments_per_task=2,
    claim_timeout_seconds=0,
    task_lifetime_seconds=86_400,
    auto_accept_delay_seconds=0,
    priority=10,
    max_claims_per_contractor=0,
)
PROJECT_CHANGED = "crewline.v1.ProjectChanged"
TASK_PUBLISHED = "crewline.v1.TaskPublished"


def create_cmd(
    request_id: str = "p-1", client: str = "acme", **changes: Any
) -> projects.CreateProject:
    return projects.create_project(
        request_id=request_id, client_id=client, fields=replace(FIELDS, **changes)
    )


async def new_project(deps: Deps, request_id: str = "p-1", client: str = "acme") -> str:
    project = await project_handlers.create_project(create_cmd(request_id, client), deps)
    return project.project_id


async def define_type(deps: Deps, name: str, kind: Kind) -> None:
    """What the consumer does with the matcher's QualificationTypeDefined."""
    event = events_pb2.QualificationTypeDefined(
        qualification_type=admin_api.QualificationType(name=name, kind=kind_to_pb(kind))
    )
    ctx = EventContext(str(uuid.uuid4()), "c", "matcher", "t", 0, 0)
    async with deps.pool.acquire() as conn, conn.transaction():
        await project_handlers.on_qualification_type_defined(conn, event, ctx, deps=deps)


def spec(key: str, payload: str = '{"q": 1}', **changes: object) -> model.TaskSpec:
    values: dict[str, object] = dict(
        idempotency_key=key,
        payload_json=payload,
        payload_bytes=None,
        slots=0,
        priority=None,
        lifetime_seconds=0,
        field="x",
    )
    return model.task_spec(**{**values, **changes})  # type: ignore[arg-type]


def batch(project_id: str, *specs: model.TaskSpec, client: str = "acme") -> model.SubmitTasks:
    return model.submit_tasks(client_id=client, project_id=project_id, tasks=specs)


async def count(deps: Deps, table: str) -> int:
    return int(await deps.pool.fetchval(f"SELECT count(*) FROM {table}"))


# --- projects --------------------------------------------------------------------------


async def test_concurrent_copies_of_a_create_agree_and_make_one_project(
    dispatcher_deps: Deps,
) -> None:
    cmd = create_cmd()
    results = await asyncio.gather(
        *(project_handlers.create_project(cmd, dispatcher_deps) for _ in range(5))
    )
    assert len({r.project_id for r in results}) == 1
    assert results[0].pay_terms.version == 1
    assert await count(dispatcher_deps, "projects") == 1
    assert await outbox_types(dispatcher_deps.pool) == [PROJECT_CHANGED]
    with pytest.raises(InvalidArgument) as err:
        await project_handlers.create_project(create_cmd(title="Other"), dispatcher_deps)
    assert err.value.field == "request_id"
    other = await project_handlers.create_project(create_cmd(client="globex"), dispatcher_deps)
    assert other.project_id != results[0].project_id  # request ids are per client


async def test_requirements_name_only_types_the_matcher_defined(
    dispatcher_deps: Deps,
) -> None:
    reqs = (
        RequirementSpec("locale", Comparator.IN, strings=("US", "CA")),
        RequirementSpec("domain.dermatology", Comparator.GREATER_OR_EQUAL, scores=(80,)),
    )
    with pytest.raises(InvalidArgument) as err:
        await project_handlers.create_project(create_cmd(requirements=reqs), dispatcher_deps)
    assert (err.value.field, err.value.reason) == (
        "requirements[0].qualification",
        "UNKNOWN_QUALIFICATION",
    )
    await define_type(dispatcher_deps, "locale", Kind.STRING)
    await define_type(dispatcher_deps, "locale", Kind.STRING)  # a repeat changes nothing
    await define_type(dispatcher_deps, "domain.dermatology", Kind.SCORE)
    project = await project_handlers.create_project(create_cmd(requirements=reqs), dispatcher_deps)
    assert [r.qualification for r in project.requirements] == ["locale", "domain.dermatology"]
    found, _ = await project_handlers.get_project(project.project_id, ACME, dispatcher_deps)
    assert found == project  # requirements survive the round trip through jsonb

    bad = (RequirementSpec("domain.dermatology", Comparator.IN, scores=(1, 200)),)
    with pytest.raises(InvalidArgument) as err:
        await project_handlers.update_project(
            projects.update_project(
                project_id=project.project_id,
                client_id="acme",
                changes=ProjectFields(requirements=bad),
                expected_revision=0,
            ),
            dispatcher_deps,
        )
    assert err.value.field == "project.requirements[0].scores[1]"

    # A name PostgreSQL could not even look up (a NUL byte) is refused by name, first.
    nul = (reqs[0], RequirementSpec("locale\x00", Comparator.EXISTS))
    with pytest.raises(InvalidArgument) as err:
        await project_handlers.create_project(create_cmd(requirements=nul), dispatcher_deps)
    assert err.value.field == "requirements[1].qualification"
    with pytest.raises(InvalidArgument) as err:
        await project_handlers.update_project(
            update_cmd(project.project_id, requirements=nul), dispatcher_deps
        )
    assert err.value.field == "project.requirements[1].qualification"

    # Too many are refused before any name is checked or looked up.
    many = tuple(RequirementSpec(f"nobody.{i}\x00", Comparator.EXISTS) for i in range(10_000))
    with pytest.raises(InvalidArgument) as err:
        await project_handlers.create_project(create_cmd(requirements=many), dispatcher_deps)
    assert err.value.field == "requirements" and "at most 20" in str(err.value)


def update_cmd(
    project_id: str, *, expected_revision: int = 0, client: str = "acme", **changes: Any
) -> projects.UpdateProject:
    return projects.update_project(
        project_id=project_id,
        client_id=client,
        changes=ProjectFields(**changes),
        expected_revision=expected_revision,
    )


async def test_pay_terms_history_grows_only_when_the_terms_change(
    dispatcher_deps: Deps, clock: FakeClock
) -> None:
    project_id = await new_project(dispatcher_deps)
    start = clock.now()
    clock.advance(timedelta(hours=1))
    hourly = await project_handlers.update_project(
        update_cmd(project_id, pay_terms=HOURLY, expected_revision=1), dispatcher_deps
    )
    assert (hourly.revision, hourly.pay_terms.version) == (2, 2)
    # The same update again (a retry) is a no-op, even with its stale expected revision.
    again = await project_handlers.update_project(
        update_cmd(project_id, pay_terms=HOURLY, expected_revision=1), dispatcher_deps
    )
    assert again == hourly
    with pytest.raises(Aborted):
        await project_handlers.update_project(
            update_cmd(project_id, priority=99, expected_revision=1), dispatcher_deps
        )
    clock.advance(timedelta(hours=1))
    titled = await project_handlers.update_project(
        update_cmd(project_id, title="Renamed", pay_terms=HOURLY), dispatcher_deps
    )
    assert (titled.revision, titled.pay_terms.version) == (3, 2)

    found, history = await project_handlers.get_project(project_id, ACME, dispatcher_deps)
    assert found == titled
    assert [(t.version, t.basis, t.effective_at) for t in history] == [
        (1, Basis.PER_SUBMISSION, start),
        (2, Basis.HOURLY, start + timedelta(hours=1)),
    ]
    assert await outbox_types(dispatcher_deps.pool) == [PROJECT_CHANGED] * 3


async def test_another_clients_project_is_not_found_anywhere(dispatcher_deps: Deps) -> None:
    project_id = await new_project(dispatcher_deps)
    globex = Principal(PrincipalKind.CLIENT, "globex")
    with pytest.raises(NotFound):
        await project_handlers.get_project(project_id, globex, dispatcher_deps)
    with pytest.raises(NotFound):
        await project_handlers.update_project(
            update_cmd(project_id, title="Mine", client="globex"), dispatcher_deps
        )
    with pytest.raises(NotFound):
        await task_handlers.submit_tasks(
            batch(project_id, spec("k"), client="globex"), dispatcher_deps
        )
    with pytest.raises(NotFound):
        await project_handlers.get_project(str(uuid.uuid4()), ACME, dispatcher_deps)


async def test_lists_and_watch_of_a_project_not_the_callers_are_not_found(
    dispatcher_deps: Deps,
) -> None:
    project_id = await new_project(dispatcher_deps)
    await task_handlers.submit_tasks(batch(project_id, spec("k")), dispatcher_deps)
    # Another client's project and a project nobody has answer alike: existence never leaks.
    for client, project in (("globex", project_id), ("acme", str(uuid.uuid4()))):
        tasks = model.list_tasks(client_id=client, page_size=0, page_token="", project_id=project)
        with pytest.raises(NotFound):
            await task_handlers.list_tasks(tasks, dispatcher_deps)
        subs = review.list_submissions(
            client_id=client,
            task_id="",
            project_id=project,
            status=None,
            page_size=0,
            page_token="",
        )
        with pytest.raises(NotFound):
            await review_handlers.list_submissions(subs, dispatcher_deps)
        with pytest.raises(NotFound):
            await watch_handlers.start(
                lifecycle.watch(client_id=client, cursor="", project_id=project), dispatcher_deps
            )
    # The owner lists and watches it; so do owners of tasks from before projects, whose
    # project ids name no project.
    await dispatcher_deps.pool.execute(
        "UPDATE tasks SET project_id = 'legacy-derm' WHERE client_id = 'acme'"
    )
    for project, count in ((project_id, 0), ("legacy-derm", 1)):
        query = model.list_tasks(client_id="acme", page_size=0, page_token="", project_id=project)
        assert len((await task_handlers.list_tasks(query, dispatcher_deps))[0]) == count
        subs = review.list_submissions(
            client_id="acme",
            task_id="",
            project_id=project,
            status=None,
            page_size=0,
            page_token="",
        )
        assert await review_handlers.list_submissions(subs, dispatcher_deps) == ([], None)
        watched = lifecycle.watch(client_id="acme", cursor="", project_id=project)
        await watch_handlers.start(watched, dispatcher_deps)


async def test_projects_are_listed_newest_first_a_page_at_a_time(
    dispatcher_deps: Deps, clock: FakeClock
) -> None:
    made = []
    for i in range(5):
        made.append(await new_project(dispatcher_deps, request_id=f"p-{i}"))
        if i != 2:  # two share a creation time: the project id breaks the tie
            clock.advance(timedelta(seconds=1))
    await new_project(dispatcher_deps, client="globex")
    seen: list[str] = []
    token = ""
    while True:
        query = projects.list_projects(client_id="acme", page_size=2, page_token=token)
        page, more = await project_handlers.list_projects(query, dispatcher_deps)
        seen.extend(p.project_id for p in page)
        if more is None:
            break
        token = more.token()
    assert sorted(seen) == sorted(made) and len(seen) == 5
    assert seen[0] == made[4] and seen[-1] == made[0]


# --- tasks -----------------------------------------------------------------------------


async def test_a_batch_publishes_each_task_once_with_one_event_each(
    dispatcher_deps: Deps, clock: FakeClock
) -> None:
    project_id = await new_project(dispatcher_deps)
    specs = [spec(f"k{i}", f'{{"i": {i}}}') for i in range(300)]
    specs[7] = spec("k7", payload_json=None, payload_bytes=b"\x00\x01", slots=5, priority=90)
    tasks = await task_handlers.submit_tasks(batch(project_id, *specs), dispatcher_deps)
    assert [t.idempotency_key for t in tasks] == [s.idempotency_key for s in specs]
    assert (tasks[0].slots, tasks[0].priority, tasks[0].payload_json) == (2, 10, '{"i": 0}')
    assert (tasks[7].slots, tasks[7].priority, tasks[7].payload_bytes) == (5, 90, b"\x00\x01")
    assert tasks[0].expires_at == clock.now() + timedelta(days=1)
    assert await count(dispatcher_deps, "tasks") == 300
    assert await outbox_types(dispatcher_deps.pool) == [PROJECT_CHANGED] + [TASK_PUBLISHED] * 300
    stored, _ = await task_handlers.get_task(tasks[7].task_id, ACME, dispatcher_deps)
    assert stored == tasks[7]


async def test_a_bad_task_refuses_the_whole_batch_and_writes_nothing(
    dispatcher_deps: Deps,
) -> None:
    project_id = await new_project(dispatcher_deps)
    await task_handlers.submit_tasks(batch(project_id, spec("used")), dispatcher_deps)
    before = await outbox_types(dispatcher_deps.pool)
    specs = [spec(f"k{i}") for i in range(20)]
    specs[17] = spec("used", '{"different": true}')  # the key made another task before
    with pytest.raises(InvalidArgument) as err:
        await task_handlers.submit_tasks(batch(project_id, *specs), dispatcher_deps)
    assert err.value.field == "tasks[17].idempotency_key"
    assert await count(dispatcher_deps, "tasks") == 1
    assert await outbox_types(dispatcher_deps.pool) == before
    # The keys the refused batch would have used are still free.
    made = await task_handlers.submit_tasks(batch(project_id, spec("k0")), dispatcher_deps)
    assert made[0].idempotency_key == "k0"


async def test_a_key_returns_its_task_forever_in_any_later_batch(dispatcher_deps: Deps) -> None:
    project_id = await new_project(dispatcher_deps)
    [first] = await task_handlers.submit_tasks(batch(project_id, spec("a")), dispatcher_deps)
    again = await task_handlers.submit_tasks(
        batch(project_id, spec("b"), spec("a"), spec("b")), dispatcher_deps
    )
    assert again[1] == first
    assert again[0] == again[2] and again[0].task_id != first.task_id
    assert (await outbox_types(dispatcher_deps.pool)).count(TASK_PUBLISHED) == 2
    # Project defaults changing later does not make a retry a different task.
    await project_handlers.update_project(update_cmd(project_id, priority=77), dispatcher_deps)
    [retry] = await task_handlers.submit_tasks(batch(project_id, spec("a")), dispatcher_deps)
    assert retry == first


async def test_concurrent_copies_of_a_batch_agree_on_every_task(dispatcher_deps: Deps) -> None:
    project_id = await new_project(dispatcher_deps)
    keys = [f"k{i}" for i in range(50)]
    copies = [batch(project_id, *(spec(k) for k in order)) for order in (keys, keys[::-1], keys)]
    results = await asyncio.gather(
        *(task_handlers.submit_tasks(c, dispatcher_deps) for c in copies)
    )
    by_key = [{t.idempotency_key: t.task_id for t in r} for r in results]
    assert by_key[0] == by_key[1] == by_key[2]
    assert await count(dispatcher_deps, "tasks") == 50
    assert (await outbox_types(dispatcher_deps.pool)).count(TASK_PUBLISHED) == 50


async def test_tasks_are_listed_by_update_time_with_filters_and_pages(
    dispatcher_deps: Deps, clock: FakeClock
) -> None:
    derm = await new_project(dispatcher_deps, request_id="derm")
    law = await new_project(dispatcher_deps, request_id="law")
    a = await task_handlers.submit_tasks(
        batch(derm, *(spec(f"d{i}") for i in range(5))), dispatcher_deps
    )
    clock.advance(timedelta(minutes=1))
    b = await task_handlers.submit_tasks(
        batch(law, *(spec(f"l{i}") for i in range(3))), dispatcher_deps
    )
    await new_project(dispatcher_deps, client="globex")
    clock.advance(timedelta(minutes=1))
    # A claim on the first task moves it to the end of the list.
    async with dispatcher_deps.pool.acquire() as conn, conn.transaction():
        claim = events_pb2.ClaimGranted(
            claim_id=str(uuid.uuid4()),
            task_id=str(a[0].task_id),
            contractor_id="ann",
            granted_at=timestamp(clock.now()),
            deadline_at=timestamp(clock.now() + timedelta(hours=1)),
        )
        ctx = EventContext(str(uuid.uuid4()), "c", "matcher", "t", 0, 0)
        await claim_handlers.on_claim_granted(conn, claim, ctx, deps=dispatcher_deps)

    async def listed(**filters: Any) -> list[uuid.UUID]:
        found: list[uuid.UUID] = []
        token = ""
        while True:
            query = model.list_tasks(client_id="acme", page_size=3, page_token=token, **filters)
            page, more = await task_handlers.list_tasks(query, dispatcher_deps)
            found.extend(t.task_id for t in page)
            if more is None:
                return found
            token = more.token()

    ids_a, ids_b = [t.task_id for t in a], [t.task_id for t in b]
    everything = await listed()
    assert everything[-1] == ids_a[0]
    assert sorted(everything[:4]) == sorted(ids_a[1:]) and sorted(everything[4:7]) == sorted(ids_b)
    assert sorted(await listed(project_id=law)) == sorted(ids_b)
    assert await listed(updated_since=clock.now()) == [ids_a[0]]
    assert await listed(status=TaskStatus.COMPLETED) == []
    claimed, _ = await task_handlers.get_task(ids_a[0], ACME, dispatcher_deps)
    assert (claimed.claimed_count, claimed.updated_at) == (1, clock.now())


# --- project states --------------------------------------------------------------------


def state_cmd(project_id: str, state: ProjectState, client: str = "acme") -> Any:
    return projects.change_project_state(project_id=project_id, client_id=client, state=state)


async def changes_published(deps: Deps) -> list[events_pb2.ProjectChanged]:
    rows = await deps.pool.fetch("SELECT envelope FROM outbox ORDER BY id")
    found = []
    for row in rows:
        env = parse_envelope(row["envelope"])
        if env.type == PROJECT_CHANGED:
            event = events_pb2.ProjectChanged()
            env.payload.Unpack(event)
            found.append(event)
    return found


async def test_pause_resume_and_close_each_announce_one_revision(
    dispatcher_deps: Deps, clock: FakeClock
) -> None:
    deps = dispatcher_deps
    project_id = await new_project(deps)
    moves = [ProjectState.PAUSED, ProjectState.PAUSED, ProjectState.ACTIVE, ProjectState.ACTIVE]
    for state in moves:
        clock.advance(timedelta(minutes=1))
        moved = await project_handlers.change_state(state_cmd(project_id, state), deps)
        assert moved.state is state
    closed = await project_handlers.change_state(state_cmd(project_id, ProjectState.CLOSED), deps)
    assert await project_handlers.change_state(
        state_cmd(project_id, ProjectState.CLOSED), deps
    ) == (closed)
    announced = await changes_published(deps)
    assert [(c.project.revision, c.project.state) for c in announced] == [
        (1, project_pb2.PROJECT_STATE_ACTIVE),
        (2, project_pb2.PROJECT_STATE_PAUSED),
        (3, project_pb2.PROJECT_STATE_ACTIVE),
        (4, project_pb2.PROJECT_STATE_CLOSED),
    ]
    found, _ = await project_handlers.get_project(project_id, ACME, deps)
    assert found == closed and found.revision == 4

    # Closed is for good, and nothing changes when refused.
    for state in (ProjectState.PAUSED, ProjectState.ACTIVE):
        with pytest.raises(FailedPrecondition) as err:
            await project_handlers.change_state(state_cmd(project_id, state), deps)
        assert err.value.reason == "PROJECT_CLOSED"
    with pytest.raises(FailedPrecondition) as err:
        await project_handlers.update_project(update_cmd(project_id, title="New"), deps)
    assert err.value.reason == "PROJECT_CLOSED"
    with pytest.raises(NotFound):
        await project_handlers.change_state(
            state_cmd(project_id, ProjectState.PAUSED, client="globex"), deps
        )
    assert len(await changes_published(deps)) == 4


async def test_a_closed_project_takes_no_new_tasks_but_repeats_return_theirs(
    dispatcher_deps: Deps,
) -> None:
    deps = dispatcher_deps
    project_id = await new_project(deps)
    paused = await project_handlers.change_state(state_cmd(project_id, ProjectState.PAUSED), deps)
    assert paused.state is ProjectState.PAUSED
    [earlier] = await task_handlers.submit_tasks(batch(project_id, spec("a")), deps)  # paused: ok
    await project_handlers.change_state(state_cmd(project_id, ProjectState.CLOSED), deps)
    with pytest.raises(FailedPrecondition) as err:
        await task_handlers.submit_tasks(batch(project_id, spec("a"), spec("b")), deps)
    assert err.value.reason == "PROJECT_CLOSED"
    assert await task_handlers.submit_tasks(batch(project_id, spec("a")), deps) == [earlier]
    assert await count(deps, "tasks") == 1


async def test_min_duration_is_the_dispatchers_setting(dispatcher_deps: Deps) -> None:
    with pytest.raises(InvalidArgument) as err:
        create_cmd(claim_timeout_seconds=1)
    assert err.value.field == "claim_timeout_seconds"
    fast = projects.create_project(
        request_id="fast",
        client_id="acme",
        fields=replace(
            FIELDS, claim_timeout_seconds=1, task_lifetime_seconds=2, auto_accept_delay_seconds=1
        ),
        min_seconds=1,
    )
    project = await project_handlers.create_project(fast, dispatcher_deps)
    assert (project.claim_timeout_seconds, project.task_lifetime_seconds) == (1, 2)
    settings = DispatcherSettings.from_env({"CREWLINE_DISPATCHER_MIN_DURATION_SECONDS": "1"})
    assert settings.min_duration_seconds == 1
    assert DispatcherSettings.from_env({}).min_duration_seconds == 60
    with pytest.raises(ValueError, match="MIN_DURATION"):
        DispatcherSettings.from_env({"CREWLINE_DISPATCHER_MIN_DURATION_SECONDS": "0"})
