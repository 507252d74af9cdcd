"""Projects, as the dispatcher announces them (ProjectChanged on crewline.projects.v1):
the quality service keeps whose each is, its state, its tasks' lifetime and its
current answer spec, which gold keys are checked against; and the one check of a
caller's project that every client-facing handler makes (``own_project``)."""

from __future__ import annotations

import asyncpg

from crewline.consumer import EventContext
from crewline.errors import NotFound
from crewline.log import get_logger
from crewline.v1 import events_pb2
from quality.adapters import projects
from quality.adapters import protobuf as pb
from quality.deps import Deps
from quality.domain.projects import Project

log = get_logger(__name__)


async def on_project_changed(
    conn: asyncpg.Connection, event: events_pb2.ProjectChanged, ctx: EventContext, *, deps: Deps
) -> None:
    """Keep the newest revision; a redelivery or an older one changes nothing."""
    project = pb.project(event)
    if not await projects.save(conn, project):
        log.info("project_already_known", project_id=project.project_id)
        return
    log.info(
        "project_changed",
        project_id=project.project_id,
        revision=project.revision,
        state=project.state.value,
        answer_spec_version=project.answer_spec_version,
    )


async def own_project(conn: asyncpg.Connection, project_id: str, client_id: str | None) -> Project:
    """The project, if ``client_id`` owns it (None: anyone's, for an operator); another
    client's is NOT_FOUND, exactly as an unknown one."""
    project = await projects.get(conn, project_id, client_id=client_id)
    if project is None:
        raise NotFound(f"project {project_id} not found")
    return project
