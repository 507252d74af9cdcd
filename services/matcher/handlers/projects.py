"""Projects, as the dispatcher announces them: terms, priority, state and who may take
the work."""

from __future__ import annotations

import asyncpg

from crewline.consumer import EventContext
from crewline.log import bind_contextvars, get_logger
from crewline.v1 import events_pb2
from matcher.adapters import answer_specs, eligibility, offer_signals
from matcher.adapters import protobuf as pb
from matcher.adapters import repository as repo
from matcher.deps import Deps
from matcher.domain.statuses import CUT_BY_PROJECT, ProjectState

log = get_logger(__name__)


async def on_project_changed(
    conn: asyncpg.Connection, event: events_pb2.ProjectChanged, ctx: EventContext, *, deps: Deps
) -> None:
    """Keep the newest revision; re-index who may take its tasks when its requirements change.

    New pay terms and claim timeout apply to claims granted from now on: claim_task()
    copies the project's current ones onto each claim it grants. A pause or close
    withdraws the project's offers from every stream and cuts its live claims short
    (they keep their deadline; work may still be submitted until it); a resume offers
    its tasks again (claims cut short stay cut).

    A new answer spec version is kept beside the old ones (claims granted under those
    still answer to them) and applies to claims granted from now on, which copy the
    project's current version (the claims table's trigger, 0008).
    """
    project = pb.project_terms(event.project)
    bind_contextvars(project_id=project.project_id)
    spec = project.answer_spec
    new_spec = spec is not None and spec.version > await answer_specs.current_version(
        conn, project.project_id
    )
    if project.state is not ProjectState.ACTIVE or new_spec:
        # Claims being granted in the project commit first, and none starts until this
        # commits: the cut below sees every live claim, and nothing is granted after it;
        # a claim is granted under one spec version, the one of the revision it checked.
        await repo.lock_project(conn, project.project_id)
    before = await repo.save_project(conn, project)
    if before is None:
        return  # a redelivery, or older than what we hold
    if new_spec:
        assert spec is not None
        await answer_specs.store(conn, project.project_id, spec)
        log.info("answer_spec_changed", version=spec.version, fields=len(spec.fields))
    if project.state is not ProjectState.ACTIVE and (
        before is project or before.state is not project.state
    ):
        reason = CUT_BY_PROJECT[project.state]
        now = deps.clock.now()
        cut = await repo.cut_project_claims(conn, project.project_id, reason, now=now)
        log.info("project_claims_cut", state=project.state.value, claims=cut)
        await offer_signals.project_closed(conn, project.project_id)
    if before is project or before.requirements != project.requirements:
        await eligibility.refresh_project(conn, project.project_id)
    if before is not project and before.priority != project.priority:
        await repo.reprioritise(conn, project.project_id, project.priority)
    # Offers show the title, instructions, terms and order, and a resumed project's
    # tasks come back: streams re-read them.
    await offer_signals.project_changed(conn, project.project_id)
