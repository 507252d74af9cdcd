"""What the dispatcher does with projects: clients' commands, and the qualification
types it copies from the matcher to check requirements against."""

from __future__ import annotations

import uuid

import asyncpg

from crewline import clock
from crewline.auth.principal import Principal
from crewline.consumer import EventContext
from crewline.errors import NotFound
from crewline.log import bind_contextvars
from crewline.paging import PageCursor
from crewline.pay_terms import PayTerms
from crewline.protobuf import KINDS
from crewline.qualifications import Requirement, check_count, type_name
from crewline.v1 import events_pb2
from dispatcher.adapters import projects as repo
from dispatcher.adapters import protobuf as pb
from dispatcher.deps import Deps
from dispatcher.domain.projects import (
    PROJECT_CLOSED,
    ChangeProjectState,
    CreateProject,
    ListProjects,
    Project,
    ProjectState,
    RequirementSpec,
    UpdateProject,
    named_projects,
    resolve_requirements,
)


async def _requirements(
    conn: asyncpg.Connection,
    specs: tuple[RequirementSpec, ...],
    *,
    field: str,
    project_id: str,
    client_id: str,
) -> tuple[Requirement, ...]:
    """The specs resolved for ``project_id``, one of ``client_id``'s projects."""
    # Their count, names and project ids are checked before they are looked up (a request
    # of 4 MB could name 10^5 of them; one with a NUL byte would make the lookup fail in
    # PostgreSQL); resolve_requirements checks the rest.
    check_count(specs, field=field)
    names = {
        type_name(s.qualification, field=f"{field}[{i}].qualification") for i, s in enumerate(specs)
    }
    named = named_projects(specs, field=field) - {project_id}
    types = await repo.qualification_kinds(conn, names)
    own = await repo.projects_of_client(conn, client_id, named) if named else set()
    return resolve_requirements(specs, types, field=field, project_id=project_id, own_projects=own)


async def create_project(cmd: CreateProject, deps: Deps) -> Project:
    """Create a project, or return the one this request id already created."""
    assert cmd.fields.requirements is not None
    async with deps.pool.acquire() as conn, conn.transaction():
        project_id = str(uuid.uuid4())  # a measure in "this project" is stored as this id
        requirements = await _requirements(
            conn,
            cmd.fields.requirements,
            field="requirements",
            project_id=project_id,
            client_id=cmd.client_id,
        )
        project = Project.create(
            cmd, requirements=requirements, project_id=project_id, now=deps.clock.now()
        )
        fingerprint = cmd.fingerprint()
        if await repo.insert_project(
            conn, project, request_id=cmd.request_id, fingerprint=fingerprint
        ):
            await deps.publisher.publish(conn, pb.project_changed(project))
            bind_contextvars(project_id=project.project_id)
            return project
        # Used before (perhaps by a concurrent copy of this request that just committed).
        found = await repo.project_by_request(
            conn, client_id=cmd.client_id, request_id=cmd.request_id
        )
        assert found is not None, "ON CONFLICT said the row exists"
        existing, earlier = found
        return existing.answers(earlier, cmd)


async def _owned(
    conn: asyncpg.Connection, project_id: str, caller: str, *, for_update: bool = False
) -> Project:
    """The caller's project; another client's is NOT_FOUND, so existence never leaks."""
    project = await repo.get_project(conn, project_id, for_update=for_update)
    if project is None or project.client_id != caller:
        raise NotFound(f"project {project_id} not found")
    return project


async def get_project(
    project_id: str, caller: Principal, deps: Deps
) -> tuple[Project, list[PayTerms]]:
    """The caller's project and every version of its pay terms, oldest first."""
    async with deps.pool.acquire() as conn:
        project = await _owned(conn, project_id, caller.id)
        return project, await repo.pay_terms_history(conn, project_id)


async def list_projects(query: ListProjects, deps: Deps) -> tuple[list[Project], PageCursor | None]:
    """One page of the caller's projects, newest first, and where the next page starts."""
    async with deps.pool.acquire() as conn:
        found = await repo.list_projects(conn, query)
    page = found[: query.page_size]
    return page, (page[-1].cursor if len(found) > query.page_size else None)


async def update_project(cmd: UpdateProject, deps: Deps) -> Project:
    """Apply the changes; a no-op changes nothing and publishes nothing."""
    async with deps.pool.acquire() as conn, conn.transaction():
        current = await _owned(conn, cmd.project_id, cmd.client_id, for_update=True)
        bind_contextvars(project_id=current.project_id)
        specs = cmd.changes.requirements
        requirements = (
            None
            if specs is None
            else await _requirements(
                conn,
                specs,
                field="project.requirements",
                project_id=current.project_id,
                client_id=cmd.client_id,
            )
        )
        project = current.updated(cmd, requirements=requirements, now=deps.clock.now())
        if project is current:
            return current
        await repo.save_project(conn, project)
        if project.pay_terms.version != current.pay_terms.version:
            await repo.insert_pay_terms(conn, project)
        await deps.publisher.publish(conn, pb.project_changed(project))
        return project


async def change_state(cmd: ChangeProjectState, deps: Deps) -> Project:
    """Pause, resume or close: ProjectChanged (the next revision) tells the matcher,
    which withdraws or offers again the project's open slots. A repeat changes nothing;
    a closed project stays closed.

    Closing also arms a clock, due at once, that cancels the project's unfinished tasks
    (``deadlines.project_closed``): none of them will take a claim again, so none stays
    OPEN. A clock rather than this transaction, because a project may hold many tasks,
    and tasks are locked before their project everywhere else."""
    async with deps.pool.acquire() as conn, conn.transaction():
        current = await _owned(conn, cmd.project_id, cmd.client_id, for_update=True)
        bind_contextvars(project_id=current.project_id)
        now = deps.clock.now()
        project = current.moved_to(cmd.state, now=now)
        if project is current:
            return current
        await repo.save_project(conn, project)
        await deps.publisher.publish(conn, pb.project_changed(project))
        if project.state is ProjectState.CLOSED:
            await clock.schedule(conn, kind=PROJECT_CLOSED, ref=project.project_id, due_at=now)
        return project


async def on_qualification_type_defined(
    conn: asyncpg.Connection,
    event: events_pb2.QualificationTypeDefined,
    ctx: EventContext,
    *,
    deps: Deps,
) -> None:
    """Keep the copy of the matcher's qualification types (a repeat changes nothing)."""
    qt = event.qualification_type
    kind = KINDS.get(qt.kind)
    if kind is None:
        raise ValueError(f"qualification type {qt.name!r} has no kind")
    await repo.upsert_qualification_type(conn, qt.name, kind)
