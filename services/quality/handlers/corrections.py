"""A gold key corrected after a dispute, and everything that follows from it, in the
transaction that resolves the dispute.

The corrected key replaces the gold task's (the old one is kept as a version); every
answer ever given to the gold task is scored again; the sanctions that rested on an
answer to it are judged again over their own evidence, and those whose rule no longer
holds are undone as an upheld appeal undoes one; gold accuracy is recounted for every
contractor whose answers moved (which evaluates the rules as any recount does); and
the rejections the correction proves wrong are listed for the dispatcher to accept.

Nothing here logs a key or an answer.
"""

from __future__ import annotations

import asyncpg

from crewline.log import get_logger
from quality.adapters import disputes as disputes_db
from quality.adapters import gold_instances as gold
from quality.adapters import gold_tasks, projects, scores
from quality.adapters import sanctions as sanctions_db
from quality.deps import Deps
from quality.domain.corrections import overturned, rescored
from quality.domain.disputes import Correction, Dispute
from quality.domain.gold_keys import Key
from quality.domain.projects import Project
from quality.domain.sanctions import Sanction
from quality.handlers.appeals import undo_sanction
from quality.handlers.gold import key_checker
from quality.handlers.issuing import recount_gold

log = get_logger(__name__)


async def correct(
    conn: asyncpg.Connection, dispute: Dispute, correction: Correction, note: str, deps: Deps
) -> list[Dispute]:
    """Correct the disputed gold task's key; every open dispute of it, resolved. The
    caller holds the gold task's lock; a key the spec refuses changes nothing."""
    project, key = await _checked(conn, dispute.project_id, correction)
    shown = await sanctions_db.showing_gold(conn, dispute.gold_id)
    answers = await gold.answers_to(conn, dispute.gold_id)
    # Every window this may recount, in one order, before any is recounted.
    for contractor, project_id in sorted({(a.contractor_id, a.project_id) for a in answers}):
        await scores.lock_window(conn, contractor, project_id)
    now = deps.clock.now()
    await gold_tasks.replace_key(
        conn,
        dispute.gold_id,
        answer_json=correction.answer_json,
        rules=correction.rules,
        key=key,
        spec_version=project.answer_spec_version,
        at=now,
        dispute_id=dispute.dispute_id,
    )
    # An answer whose review rejected it stays wrong whatever the key's other fields.
    scorable = [a for a in answers if a.review_accepted is not False]
    changed = rescored(key, ((a.claim_id, a.answer_json, a.correct) for a in scorable))
    if changed:
        await gold.rescored(conn, changed)
    lifted, accepted, recounted = await _judge_again(conn, shown, deps)
    await _recount(conn, [a for a in answers if a.claim_id in changed], recounted, deps)
    now_right = [claim for claim, right in changed.items() if right]
    accepted = [*await disputes_db.rejected(conn, dispute.project_id, now_right), *accepted]
    log.info(
        "gold_key_corrected",
        dispute_id=str(dispute.dispute_id),
        gold_id=str(dispute.gold_id),
        answers=len(answers),
        rescored=len(changed),
        overturned=len(lifted),
    )
    return [
        d.resolved(
            correction=correction,
            note=note,
            now=now,
            accepted=list(dict.fromkeys(accepted)),
            overturned=lifted,
        )
        for d in await disputes_db.open_of_gold(conn, dispute.gold_id)
    ]


async def _recount(
    conn: asyncpg.Connection, moved: list[gold.Answer], recounted: set[tuple[str, str]], deps: Deps
) -> None:
    """Recount the gold accuracy of each contractor whose answers moved, unless undoing
    a sanction of theirs recounted it already."""
    for a in moved:
        if (a.contractor_id, a.project_id) not in recounted:
            recounted.add((a.contractor_id, a.project_id))
            await recount_gold(
                conn,
                contractor_id=a.contractor_id,
                project_id=a.project_id,
                client_id=a.client_id,
                deps=deps,
            )


async def _checked(
    conn: asyncpg.Connection, project_id: str, correction: Correction
) -> tuple[Project, Key]:
    """The corrected key, checked as AddGoldTasks checks one against the project's
    current spec; errors name ``correct.answer_json...`` or ``correct.rules[j]...``."""
    project = await projects.get(conn, project_id)
    assert project is not None  # its gold was added to it: projects are never deleted
    key = key_checker(project).key(correction.answer_json, correction.rules, field="correct")
    return project, key


async def _judge_again(
    conn: asyncpg.Connection, shown: list[Sanction], deps: Deps
) -> tuple[list[str], list[str], set[tuple[str, str]]]:
    """Undo each sanction whose rule no longer holds over its evidence as now scored:
    their ids, the rejections to accept, and the windows recounted on the way."""
    claims = [e.submission_id for s in shown for e in s.evidence if e.kind == "gold"]
    verdicts = await gold.verdicts(conn, claims)
    lifted: list[str] = []
    accepted: list[str] = []
    recounted: set[tuple[str, str]] = set()
    for sanction in shown:
        if not overturned(sanction, verdicts):
            continue
        accepted += await undo_sanction(conn, sanction, deps)
        lifted.append(str(sanction.sanction_id))
        recounted.add((sanction.contractor_id, sanction.project_id))
        log.info("sanction_overturned", sanction_id=str(sanction.sanction_id))
    return lifted, accepted, recounted
