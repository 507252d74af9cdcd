"""The Watch log's retention, on the dispatcher's real database: old events go, the log
stays bounded, and a cursor from before what was deleted is refused with a reason
telling the client to resync, never answered with a silent gap."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import timedelta

import grpc
import pytest

from crewline.edge import status_for
from crewline.errors import FailedPrecondition
from crewline.metrics import Metrics
from crewline.retention import PruneJob, Pruner
from crewline.v1 import task_service_pb2
from dispatcher.adapters import watch_log
from dispatcher.deps import Deps
from dispatcher.domain import lifecycle
from dispatcher.entrypoints import watch as watch_stream
from dispatcher.handlers import watch

RETENTION = timedelta(hours=1)


async def log_events(deps: Deps, client: str, n: int) -> None:
    """``n`` events for ``client``, one transaction each (numbered at commit)."""
    for _ in range(n):
        task_id = uuid.uuid4()
        entry = watch_log.Entry(
            client_id=client,
            project_id="p1",
            task_id=task_id,
            event=task_service_pb2.WatchEvent(task_id=str(task_id), project_id="p1"),
        )
        async with deps.pool.acquire() as conn, conn.transaction():
            await watch_log.append(conn, [entry])


async def age(deps: Deps, *, client: str, through: int, seconds: float) -> None:
    """Let ``seconds`` pass for the client's events numbered up to ``through``."""
    await deps.pool.execute(
        "UPDATE watch_events SET logged_at = logged_at - make_interval(secs => $3)"
        " WHERE client_id = $1 AND seq <= $2",
        client,
        through,
        seconds,
    )


def pruner(deps: Deps, batch_size: int = 1000) -> Pruner:
    job = PruneJob(table=watch_log.TABLE, sql=watch_log.PRUNE, retention=RETENTION)
    return Pruner(pool=deps.pool, jobs=[job], metrics=Metrics.create("test"), batch_size=batch_size)


def query(cursor: int | None, client: str = "acme") -> lifecycle.Watch:
    token = "" if cursor is None else lifecycle.watch_cursor(cursor)
    return lifecycle.watch(client_id=client, cursor=token, project_id="")


async def seqs(deps: Deps, after: int, client: str = "acme") -> list[int]:
    return [seq for seq, _ in await watch.read(query(after, client), after, deps)]


async def test_a_cursor_before_the_pruned_events_must_resync(dispatcher_deps: Deps) -> None:
    deps = dispatcher_deps
    await log_events(deps, "acme", 5)
    await log_events(deps, "other", 2)
    await age(deps, client="acme", through=3, seconds=2 * 3600)
    await age(deps, client="other", through=2, seconds=600)  # inside the window

    assert await pruner(deps).prune_once() == {"watch_events": 3}

    for cursor in (0, 1, 2):
        with pytest.raises(FailedPrecondition) as err:
            await watch.start(query(cursor), deps)
        assert err.value.reason == "WATCH_CURSOR_EXPIRED"
        assert err.value.metadata == {"field": "cursor"}
        assert "Watch again without a cursor" in str(err.value)
        assert status_for(err.value) is grpc.StatusCode.FAILED_PRECONDITION
    # From the last number deleted on, nothing is missing.
    assert await watch.start(query(3), deps) == 3
    assert await seqs(deps, 3) == [4, 5]
    assert await watch.start(query(None), deps) == 5
    # Another client's log is its own: nothing of it was old enough.
    assert await watch.start(query(0, "other"), deps) == 0
    assert await seqs(deps, 0, "other") == [1, 2]


async def test_a_stream_that_falls_behind_the_pruning_ends_with_resync(
    dispatcher_deps: Deps,
) -> None:
    deps = replace(
        dispatcher_deps, settings=replace(dispatcher_deps.settings, watch_keepalive_seconds=0.01)
    )
    await log_events(deps, "acme", 2)
    assert await watch.start(query(0), deps) == 0  # a valid cursor, at its start
    await age(deps, client="acme", through=1, seconds=2 * 3600)
    assert await pruner(deps).prune_once() == {"watch_events": 1}
    # The stream goes on reading after 0: event 1 is gone, so it must not go on.
    with pytest.raises(FailedPrecondition) as err:
        await watch.read(query(0), 0, deps)
    assert err.value.reason == "WATCH_CURSOR_EXPIRED"

    class NoHub:
        def follow(self, client_id: str) -> object:
            return object()

        def unfollow(self, follower: object) -> None:
            pass

    # Through the stream itself: the opening response, then the refusal.
    stream = watch_stream.stream(query(0), deps, NoHub())  # type: ignore[arg-type]
    with pytest.raises(FailedPrecondition):
        async for _ in stream:
            pass


async def test_the_watch_log_stays_bounded_over_a_long_run(dispatcher_deps: Deps) -> None:
    """Each cycle logs events for two clients, then 25 minutes pass: the log holds
    at most the last two cycles, while the numbers keep growing with no gap."""
    deps = dispatcher_deps
    per_cycle, cycles = 20, 8
    p = pruner(deps, batch_size=7)
    for cycle in range(1, cycles + 1):
        await log_events(deps, "acme", per_cycle)
        await log_events(deps, "other", per_cycle // 2)
        await deps.pool.execute(
            "UPDATE watch_events SET logged_at = logged_at - interval '25 minutes'"
        )
        while any((await p.prune_once()).values()):
            pass
        logged = await deps.pool.fetchval("SELECT count(*) FROM watch_events")
        kept_cycles = min(cycle, 2)  # 25 and 50 minutes old; at 75 they are gone
        assert logged == kept_cycles * (per_cycle + per_cycle // 2)
        head = await watch.start(query(None), deps)
        assert head == per_cycle * cycle
        # A client that kept up resumes with nothing missing.
        resume_at = per_cycle * (cycle - 1)
        assert await seqs(deps, resume_at) == list(range(resume_at + 1, head + 1))
