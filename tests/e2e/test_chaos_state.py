"""The chaos checker on the real services: a tiny flow recorded by hand as a history,
its final state read by ``chaos.state.collect`` from the services' databases and
through the SDK: every invariant HOLDS, and the self-test's defects are caught in it.

The flow gets three services of its own (the session's shared stack holds every other
e2e test's rows, and the dead letters some plant on purpose, which the checker, reading
whole databases, would judge too)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from chaos.checker import check, format_verdicts
from chaos.model import Op, WatchedEvent
from chaos.selftest import format_selftest, selftest
from chaos.state import WATCH_START, collect, watched_event
from crewline.client import Client, CrewlineError, build

from flow import (
    client_sdk,
    contractor_sdk,
    operator_sdk,
    running_stack,
    unique,
    wait_balance,
    wait_offered,
)
from harness import SERVICES, Stack
from stack import (
    PG_HOST,
    PG_PORT,
    PG_USER,
    eventually,
)

FEE_BPS = 2000  # the ledger's defaults, which service_env leaves as they are
REFERRAL_BONUS_MINOR = 25000


@pytest.fixture(scope="module")
async def own_stack(log_dir: Path) -> AsyncIterator[Stack]:
    """The three services on databases and a Kafka namespace that only this module uses."""
    async with running_stack("chaos_state", log_dir, log_prefix="chaos-state-") as s:
        yield s


def dsns(stack: Stack) -> dict[str, str]:
    return {
        name: f"postgresql://{PG_USER}@{PG_HOST}:{PG_PORT}/"
        + stack.services[name].env[f"CREWLINE_{name.upper()}_PG_DB"]
        for name in SERVICES
    }


class Recorder:
    """The flow's history, written as the chaos workload writes it: every call ok here."""

    def __init__(self) -> None:
        self.ops: list[Op] = []

    def ok(self, process: str, f: str, value: dict[str, Any] | None = None, **args: Any) -> None:
        n = len(self.ops)
        self.ops.append(
            Op(
                index=n,
                process=process,
                f=f,
                type="ok",
                start=float(n),
                end=float(n),
                args=args,
                value=value or {},
            )
        )


async def watch_live(client: Client, seen: list[WatchedEvent]) -> None:
    """The client's Watch from its first event, for as long as the test runs."""
    async for event in client.watch(cursor=WATCH_START):
        seen.append(watched_event(event))


async def quiet(stack: Stack) -> bool:
    """Every outbox row sent, in every service."""
    for dsn in dsns(stack).values():
        conn = await asyncpg.connect(dsn)
        try:
            if await conn.fetchval("SELECT count(*) FROM outbox WHERE sent_at IS NULL"):
                return False
        finally:
            await conn.close()
    return True


async def watched_to_the_head(stack: Stack, client_id: str, seen: list[WatchedEvent]) -> bool:
    """The live watcher has seen the client's last event."""
    conn = await asyncpg.connect(dsns(stack)["dispatcher"])
    try:
        head = await conn.fetchval(
            "SELECT last_seq FROM watch_heads WHERE client_id = $1", client_id
        )
    finally:
        await conn.close()
    return bool(seen) and seen[-1].seq == head


async def known(client: Client, submission_id: str) -> bool:
    try:
        await client.get_submission(submission_id)
    except CrewlineError:
        return False
    return True


async def test_a_claimed_submitted_and_accepted_task_holds_every_invariant(
    own_stack: Stack,
) -> None:
    stack, h = own_stack, Recorder()
    lab, expert = unique("lab"), unique("expert")
    client = await client_sdk(stack, lab)
    h.ok("operator", "create_client", client_id=lab)
    live: list[WatchedEvent] = []
    watcher = asyncio.create_task(watch_live(client, live))

    project_request = unique("project")
    project = await client.create_project(
        title="chaos state",
        pay_terms=build.per_submission(build.usd(1000)),
        auto_accept_delay_seconds=86400,
        request_id=project_request,
    )
    h.ok(f"client:{lab}", "create_project", client_id=lab, request_id=project_request)
    keys = [unique("key"), unique("key")]
    tasks = await client.submit_tasks(
        project.project_id, [build.task("{}", idempotency_key=k) for k in keys]
    )
    task_ids = [t.task_id for t in tasks]
    h.ok(
        f"client:{lab}",
        "submit_tasks",
        {"task_ids": task_ids},
        client_id=lab,
        project_id=project.project_id,
        keys=keys,
        slots=1,
        lifetime_seconds=0,
    )
    await wait_offered(stack, *task_ids)

    worker = await contractor_sdk(stack, expert)
    h.ok("operator", "create_contractor", contractor_id=expert, referred_by="")
    claims = []
    for task_id in task_ids:
        request_id = unique("claim")
        granted = await worker.claim(task_id, request_id=request_id)
        claims.append(granted.claim_id)
        h.ok(
            f"contractor:{expert}",
            "claim",
            {"claim_id": granted.claim_id},
            contractor_id=expert,
            task_id=task_id,
            request_id=request_id,
        )
    kept, released = claims
    await worker.release(released)
    h.ok(f"contractor:{expert}", "release", contractor_id=expert, claim_id=released)
    await worker.submit(kept, b"4/5")
    h.ok(f"contractor:{expert}", "submit", contractor_id=expert, claim_id=kept, worked_seconds=0)

    await eventually(lambda: known(client, kept))
    await client.accept(kept)
    h.ok(f"client:{lab}", "accept", client_id=lab, submission_id=kept)
    bonus_key = unique("bonus")
    grant = await client.grant_bonus(
        kept, amount=build.usd(100), reason="thorough", idempotency_key=bonus_key
    )
    h.ok(
        f"client:{lab}",
        "bonus",
        {"bonus_id": grant.bonus.bonus_id},
        client_id=lab,
        submission_id=kept,
        idempotency_key=bonus_key,
        amount_minor=100,
    )

    await wait_balance(stack, f"contractor:{expert}", 1100)
    await eventually(lambda: quiet(stack))
    await eventually(lambda: watched_to_the_head(stack, lab, live))
    watcher.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await watcher

    state = await collect(
        dsns=dsns(stack),
        operator=operator_sdk(stack),
        clients={lab: client},
        watched_live={lab: live},
        fee_bps=FEE_BPS,
        referral_bonus_minor=REFERRAL_BONUS_MINOR,
    )
    verdicts = check(h.ops, state)
    print(format_verdicts(verdicts))
    assert [v.name for v in verdicts if not v.holds] == []
    caught = selftest(h.ops, state)
    print(format_selftest(caught))
    assert all(hit for _, hit in caught)
    assert {c.claim_id: c.end_reason for c in state.claims} == {
        kept: "submitted",
        released: "released",
    }
    assert all(c.granted_seq is not None for c in state.claims)
    assert state.balances[f"client:{lab}"] == -(1000 + 200 + 100 + 20)
    assert state.watch_replay[lab][: len(live)] == live
