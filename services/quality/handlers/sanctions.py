"""Rules acting on contractors, and the sanctions they impose (docs/quality.md, "Rules
and sanctions").

A project's rules on a measure are evaluated for a contractor whenever that measure is
recounted for them: in the transaction that recounts it, under ``scores.lock_window``,
so two recounts cannot both impose. A rule acts when its sample is large enough and its
condition holds, no sanction of it holds for them, and the sample holds an item newer
than any an earlier sanction of it rested on (one that ended does not fire again on the
same data). Imposing stores the evidence, retires the gold it shows, arms the end's
durable clock and publishes SanctionChanged (without evidence) through the outbox.

Logs carry ids only: never an answer, a key, feedback or a payload.
"""

from __future__ import annotations

import uuid

import asyncpg

from crewline import clock
from crewline.clock import Deadline
from crewline.log import get_logger
from crewline.paging import split_page
from quality.adapters import evidence, gold_tasks
from quality.adapters import protobuf_rules as pbr
from quality.adapters import rules as rules_db
from quality.adapters import sanctions as sanctions_db
from quality.deps import Deps
from quality.domain.rules import Rule, RuleMeasure, flag_share
from quality.domain.sanctions import (
    Measured,
    Sanction,
    SanctionQuery,
    SanctionState,
    Window,
    acting,
    close,
    fresh,
    impose,
    page_token,
    retired_gold,
)
from quality.domain.scores import Score
from quality.handlers.projects import own_project

log = get_logger(__name__)

SANCTION_END = "sanction_end"  # the durable clock's kind; its ref is the sanction id


async def on_score(conn: asyncpg.Connection, score: Score, deps: Deps) -> None:
    """A stored score was recounted: evaluate the project's rules on its measure (the
    sample is the answers or reviews it rests on)."""
    measure = RuleMeasure.of_score(score.measure)
    rules = await rules_db.of_project(conn, score.project_id, measure=measure)
    measured = Measured(
        contractor_id=score.contractor_id,
        project_id=score.project_id,
        client_id=score.client_id,
        value=score.value,
        sample=score.reviewed,
    )
    due = acting(rules, measured)
    if not due:
        return
    window = await evidence.window(
        conn,
        measure,
        score.contractor_id,
        score.project_id,
        limit=deps.settings.score_window,
    )
    await _act(conn, due, measured, window, deps)


async def on_submissions(
    conn: asyncpg.Connection, *, contractor_id: str, project_id: str, client_id: str, deps: Deps
) -> None:
    """A submission or a time flag was learnt: recount the time-flag share over the
    contractor's latest submissions in the project, for the rules that watch it."""
    measure = RuleMeasure.TIME_FLAG_SHARE
    rules = await rules_db.of_project(conn, project_id, measure=measure)
    if not rules:
        return
    window = await evidence.window(
        conn, measure, contractor_id, project_id, limit=deps.settings.score_window
    )
    flagged = sum(1 for item in window.items if item.flagged)
    measured = Measured(
        contractor_id=contractor_id,
        project_id=project_id,
        client_id=client_id,
        value=flag_share(flagged, len(window.items)),
        sample=len(window.items),
    )
    await _act(conn, acting(rules, measured), measured, window, deps)


async def _act(
    conn: asyncpg.Connection, due: list[Rule], measured: Measured, window: Window, deps: Deps
) -> None:
    c, p = measured.contractor_id, measured.project_id
    for rule in due:
        if await sanctions_db.active_of_rule(conn, c, p, rule.rule_id):
            continue
        if not fresh(window, await sanctions_db.last_newest(conn, c, p, rule.rule_id)):
            continue
        await _impose(conn, rule, measured, window, deps)


async def _impose(
    conn: asyncpg.Connection, rule: Rule, measured: Measured, window: Window, deps: Deps
) -> None:
    now = deps.clock.now()
    sanction = impose(rule, measured, window, sanction_id=uuid.uuid4(), now=now)
    assert window.newest is not None  # fresh() holds
    await sanctions_db.add(conn, sanction, newest=window.newest)
    if sanction.ends_at is not None:
        await clock.schedule(
            conn, kind=SANCTION_END, ref=str(sanction.sanction_id), due_at=sanction.ends_at
        )
    gold = retired_gold(sanction.evidence)
    if gold:
        await gold_tasks.retire(conn, gold, at=now)
    await deps.publisher.publish(conn, pbr.sanction_changed(sanction))
    deps.metrics.sanction_imposed(sanction.action)
    if not sanction.active:
        deps.metrics.sanction_ended("at_once")
    log.info(
        "sanction_imposed",
        sanction_id=str(sanction.sanction_id),
        contractor_id=sanction.contractor_id,
        project_id=sanction.project_id,
        rule_id=rule.rule_id,
        action=sanction.action.value,
        state=sanction.state.value,
        retired_gold=len(gold),
    )


async def sanction_end(conn: asyncpg.Connection, deadline: Deadline, *, deps: Deps) -> None:
    """The durable clock at a sanction's ends_at: ACTIVE -> ENDED. One lifted (or ended)
    before changes nothing."""
    sanction = await sanctions_db.get(conn, uuid.UUID(deadline.ref), for_update=True)
    if sanction is None or not sanction.active:
        log.info("sanction_already_over", sanction_id=deadline.ref)
        return
    await _close(conn, sanction, SanctionState.ENDED, deps)


async def lift(conn: asyncpg.Connection, sanction: Sanction, *, deps: Deps) -> Sanction:
    """An upheld appeal: ACTIVE -> LIFTED now, its end's clock cancelled, SanctionChanged
    published. A sanction not ACTIVE is returned unchanged. In the caller's transaction;
    read the sanction ``for_update`` first so the clock cannot end it meanwhile."""
    if not sanction.active:
        return sanction
    return await _close(conn, sanction, SanctionState.LIFTED, deps)


async def _close(
    conn: asyncpg.Connection, sanction: Sanction, state: SanctionState, deps: Deps
) -> Sanction:
    closed = close(sanction, state, now=deps.clock.now())
    if not await sanctions_db.closed(conn, closed):
        # It stopped being ACTIVE since it was read: nothing to change.
        return await sanctions_db.get(conn, sanction.sanction_id) or sanction
    if state is SanctionState.LIFTED:
        await clock.cancel(conn, kind=SANCTION_END, ref=str(sanction.sanction_id))
    await deps.publisher.publish(conn, pbr.sanction_changed(closed))
    deps.metrics.sanction_ended("expired" if state is SanctionState.ENDED else "lifted")
    log.info(
        "sanction_" + state.value,
        sanction_id=str(closed.sanction_id),
        contractor_id=closed.contractor_id,
        project_id=closed.project_id,
        version=closed.version,
    )
    return closed


async def find_sanctions(query: SanctionQuery, deps: Deps) -> tuple[list[Sanction], str]:
    """A page of sanctions, newest first, and the next page's token ("" after the last).
    A client's project must be its own: another's is NOT_FOUND, as an unknown one."""
    async with deps.pool.acquire() as conn:
        if query.client_id is not None:
            assert query.project_id is not None  # the domain requires it of clients
            await own_project(conn, query.project_id, query.client_id)
        found = await sanctions_db.find(conn, query)
    page, last = split_page(found, query.limit)
    return page, page_token(last)
