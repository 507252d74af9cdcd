"""Gold tasks and quality policies, as clients manage them. Who may call each is the
access policy in ``entrypoints/grpc_api.py``; a project that is not the caller's is
NOT_FOUND, as one that does not exist, so nobody learns which ids exist.

Nothing here logs a key: keys travel only in the caller's own request and reply (and a
refusal names the caller's own field).
"""

from __future__ import annotations

from dataclasses import replace

import asyncpg

from crewline.errors import FailedPrecondition, InvalidArgument
from crewline.log import get_logger
from crewline.paging import split_page
from quality.adapters import gold_tasks, projects, rules
from quality.deps import Deps
from quality.domain import gold
from quality.domain.gold import AddGold, GoldInput, GoldQuery, GoldTask, ProjectRef
from quality.domain.gold_keys import Key, KeyChecker
from quality.domain.issuing import QualityPolicy, SetPolicy
from quality.domain.projects import Project
from quality.handlers.projects import own_project

log = get_logger(__name__)


async def add_gold_tasks(cmd: AddGold, deps: Deps) -> list[GoldTask]:
    """All or nothing; each key's gold task in the request's order. A key used before
    returns the gold task it made, whatever the spec has become since, if the request
    asks for the same gold task (else it is refused, naming it); only new keys are
    checked against the project's current answer spec."""
    keys = list(dict.fromkeys(item.idempotency_key for item in cmd.gold))
    async with deps.pool.acquire() as conn, conn.transaction():
        project = await own_project(conn, cmd.project_id, cmd.client_id)
        earlier = await gold_tasks.by_keys(conn, cmd.project_id, keys)
        _same_as_before(cmd, earlier)
        new = _new_keys(cmd, project, earlier)
        if new:
            await gold_tasks.add(
                conn,
                project_id=cmd.project_id,
                client_id=cmd.client_id,
                spec_version=project.answer_spec_version,
                gold=new,
                at=deps.clock.now(),
            )
            # A request committing the same key meanwhile kept its own: compare again.
            earlier = await gold_tasks.by_keys(conn, cmd.project_id, keys)
            _same_as_before(cmd, earlier)
    log.info("gold_tasks_added", project_id=cmd.project_id, new=len(new), gold_tasks=len(keys))
    return [earlier[item.idempotency_key] for item in cmd.gold]


def _same_as_before(cmd: AddGold, earlier: dict[str, GoldTask]) -> None:
    for i, item in enumerate(cmd.gold):
        found = earlier.get(item.idempotency_key)
        if found is not None and found.fingerprint != item.fingerprint():
            raise InvalidArgument(
                f"gold_tasks[{i}].idempotency_key", "was already used for a different gold task"
            )


def _new_keys(
    cmd: AddGold, project: Project, earlier: dict[str, GoldTask]
) -> dict[str, tuple[GoldInput, Key]]:
    """Each new idempotency key's gold task and its key, checked against the spec."""
    if all(item.idempotency_key in earlier for item in cmd.gold):
        return {}
    checker = key_checker(project)
    new: dict[str, tuple[GoldInput, Key]] = {}
    for i, item in enumerate(cmd.gold):
        if item.idempotency_key not in earlier and item.idempotency_key not in new:
            new[item.idempotency_key] = (
                item,
                checker.key(item.answer_json, item.rules, field=f"gold_tasks[{i}]"),
            )
    return new


def key_checker(project: Project) -> KeyChecker:
    """Keys for the project's current answer spec (AddGoldTasks, a corrected key)."""
    if project.answer_spec is None:
        raise FailedPrecondition(
            f"project {project.project_id} has no answer spec: a gold key is checked against"
            " one, so give the project an answer_spec first",
            reason="NO_ANSWER_SPEC",
        )
    return KeyChecker(project.answer_spec)


async def list_gold_tasks(query: GoldQuery, deps: Deps) -> tuple[list[GoldTask], str]:
    """A page of the project's gold tasks and the next page's token ("" after the last)."""
    async with deps.pool.acquire() as conn:
        await own_project(conn, query.project_id, query.client_id)
        found = await gold_tasks.find(conn, query)
    page, last = split_page(found, query.limit)
    return page, gold.page_token(last)


async def get_policy(ref: ProjectRef, deps: Deps) -> QualityPolicy:
    async with deps.pool.acquire() as conn:
        await own_project(conn, ref.project_id, ref.client_id)
        return await _policy(conn, ref.project_id)


async def set_policy(cmd: SetPolicy, deps: Deps) -> QualityPolicy:
    """The command was checked whole before this: nothing is stored from a bad one."""
    async with deps.pool.acquire() as conn, conn.transaction():
        await own_project(conn, cmd.project_id, cmd.client_id)
        if cmd.set_share:
            await rules.set_share(conn, cmd.project_id, cmd.gold_share_percent, at=deps.clock.now())
        if cmd.rules is not None:
            await rules.replace(conn, cmd.project_id, cmd.rules)
        policy = await _policy(conn, cmd.project_id)
    log.info(
        "quality_policy_set",
        project_id=cmd.project_id,
        gold_share_percent=policy.gold_share_percent,
        rules=len(policy.rules),
    )
    return policy


async def _policy(conn: asyncpg.Connection, project_id: str) -> QualityPolicy:
    policy = await projects.policy(conn, project_id)
    return replace(policy, rules=await rules.of_project(conn, project_id))
