"""Wakes the Watch streams one dispatcher replica holds when their client's log grows.

The log's trigger NOTIFYs ``watch_log.CHANNEL`` with the client's id as each
transaction that logged events commits, whichever replica it ran in. One LISTEN
connection per replica turns each notification into a wake-up of that client's
streams. A stream's buffer is a single flag: it then reads the log from its own
cursor, so a slow stream only reads more at once; it never holds up another, and
nothing is lost when it falls behind. Losing the connection wakes every stream
(each re-reads from its cursor), and streams also re-read at each keepalive.

Nothing here is Watch-specific but the channel: a kernel "notify fan-out" could
host it, and the matcher's offer hub its LISTEN loop.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import asyncpg
from prometheus_client import CollectorRegistry, Counter, Gauge

from crewline.aio import Backoff, sleep_unless
from crewline.health import WorkerHealth
from crewline.log import get_logger
from dispatcher.adapters.watch_log import CHANNEL

log = get_logger(__name__)
WORKER = "watch_hub"


class Follower:
    """One open Watch stream's wake-up flag."""

    def __init__(self, client_id: str) -> None:
        self.client_id = client_id
        self._woken = asyncio.Event()

    def wake(self) -> None:
        self._woken.set()

    def clear(self) -> None:
        """Before reading the log: a notification from now on wakes it again."""
        self._woken.clear()

    async def wait(self, timeout: float) -> bool:
        """Whether it was woken within ``timeout`` seconds."""
        try:
            await asyncio.wait_for(self._woken.wait(), timeout)
        except TimeoutError:
            return False
        return True


class WatchHub:
    def __init__(
        self,
        *,
        dsn: str,
        worker_health: WorkerHealth,
        registry: CollectorRegistry,
        service: str,
        connect: Callable[[str], Any] = asyncpg.connect,
    ) -> None:
        self._dsn = dsn
        self._health = worker_health
        self._connect = connect
        self._followers: dict[str, set[Follower]] = defaultdict(set)
        self._stop = asyncio.Event()
        self.listening = asyncio.Event()  # set while notifications flow
        p = f"crewline_{service}"
        self._streams = Gauge(f"{p}_watch_streams", "Open Watch calls", registry=registry)
        self._notifications = Counter(
            f"{p}_watch_notifications_total",
            "Watch log notifications received",
            registry=registry,
        )
        worker_health.register(WORKER)

    def follow(self, client_id: str) -> Follower:
        follower = Follower(client_id)
        self._followers[client_id].add(follower)
        self._streams.inc()
        return follower

    def unfollow(self, follower: Follower) -> None:
        followers = self._followers.get(follower.client_id)
        if followers is not None and follower in followers:
            followers.discard(follower)
            if not followers:
                del self._followers[follower.client_id]
            self._streams.dec()

    def stop(self) -> None:
        self._stop.set()

    async def run(self) -> None:
        backoff = Backoff(initial=0.2, maximum=5.0)
        while not self._stop.is_set():
            try:
                await self._listen()
                backoff.reset()
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("watch_hub_listen_lost", error=repr(exc))
            except Exception as exc:  # keep serving streams; report and retry
                self._health.failed(WORKER, exc)
                log.exception("watch_hub_failed")
            self.listening.clear()
            self._wake_all()  # notifications may have been missed
            await sleep_unless(self._stop, backoff.next())

    async def _listen(self) -> None:
        conn = await self._connect(self._dsn)
        lost = asyncio.Event()
        try:
            conn.add_termination_listener(lambda _conn: lost.set())
            await conn.add_listener(CHANNEL, self._on_notify)
            self.listening.set()
            self._wake_all()  # whatever was logged before we listened
            self._health.ok(WORKER)
            stopping = asyncio.ensure_future(self._stop.wait())
            closed = asyncio.ensure_future(lost.wait())
            try:
                await asyncio.wait({stopping, closed}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                stopping.cancel()
                closed.cancel()
            if lost.is_set() and not self._stop.is_set():
                raise ConnectionError("the LISTEN connection closed")
        finally:
            if not conn.is_closed():
                await conn.close()

    def _on_notify(self, _conn: object, _pid: int, _channel: str, client_id: str) -> None:
        self._notifications.inc()
        for follower in self._followers.get(client_id, ()):
            follower.wake()

    def _wake_all(self) -> None:
        for followers in self._followers.values():
            for follower in followers:
                follower.wake()
