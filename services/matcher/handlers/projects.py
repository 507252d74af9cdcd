"""Projects, as the dispatcher announces them: terms, priority and who may take the work."""

from __future__ import annotations

import asyncpg

from crewline.consumer import EventContext
from crewline.log import bind_contextvars
from crewline.v1 import events_pb2
from matcher.adapters import eligibility, offer_signals
from matcher.adapters import protobuf as pb
from matcher.adapters import repository as repo
from matcher.deps import Deps


async def on_project_changed(
    conn: asyncpg.Connection, event: events_pb2.ProjectChanged, ctx: EventContext, *, deps: Deps
) -> None:
    """Keep the newest revision; re-index who may take its tasks when its requirements change.

    New pay terms apply to claims granted from now on: claim_task() copies the
    project's current terms onto each claim it grants.
    """
    project = pb.project_terms(event.project)
    bind_contextvars(project_id=project.project_id)
    before = await repo.save_project(conn, project)
    if before is None:
        return  # a redelivery, or older than what we hold
    if before is project or before.requirements != project.requirements:
        await eligibility.refresh_project(conn, project.project_id)
    if before is not project and before.priority != project.priority:
        await repo.reprioritise(conn, project.project_id, project.priority)
    # Offers show the title, instructions, terms and order: streams re-read them.
    await offer_signals.project_changed(conn, project.project_id)
