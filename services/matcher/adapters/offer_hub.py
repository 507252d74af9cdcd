"""The offer streams one matcher replica holds, fed by PostgreSQL notifications.

Every change that makes a task claimable or not (a task ingested, a claim granted,
a slot freed, a task cancelled or expired, a contractor's eligibility or a project
changed, paused or closed) sends a NOTIFY in its own transaction
(``offer_signals``); every replica LISTENs, so a stream sees tasks that another
replica ingested or claimed. The hub turns each signal into per-stream
messages: an offer, or a withdrawal with its reason.

One asyncio task (``run``) owns every stream's state, so there are no locks: a
stream's handler only reads its own bounded queue. A stream whose queue is full is
not waited for: its queue is replaced by one Resync marker, and its handler sends
a fresh snapshot. Losing the LISTEN connection resyncs every stream the same way.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from crewline.aio import Backoff, sleep_unless
from crewline.health import WorkerHealth
from crewline.log import get_logger
from crewline.timekeeping import Clock
from matcher.adapters import eligibility, offer_signals
from matcher.adapters import repository as repo
from matcher.adapters.answer_specs import AnswerSpecs
from matcher.domain.commands import ListOffers
from matcher.domain.offers import Offer, WithdrawalReason

log = get_logger(__name__)
WORKER = "offer_hub"
# The signals' one-letter kinds, as the signals metric names them (a fixed set of labels,
# whatever a payload holds).
_SIGNAL_NAMES = {
    offer_signals.TASKS_OPENED: "task_opened",
    offer_signals.TASK_CLAIMED: "task_claimed",
    offer_signals.TASK_CLOSED: "task_closed",
    offer_signals.CONTRACTOR: "contractor_changed",
    offer_signals.PROJECT: "project_changed",
    offer_signals.PROJECT_CLOSED: "project_closed",
}
# A burst is handled in milliseconds; seconds mean the hub (or PostgreSQL) falls behind.
_FANOUT_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


class ResyncNeeded:
    """Queue marker: drop every offer; a fresh snapshot follows."""


RESYNC = ResyncNeeded()
StreamItem = tuple[Offer, None] | tuple[uuid.UUID, WithdrawalReason] | ResyncNeeded


@dataclass(eq=False)
class Stream:
    """One contractor's open StreamOffers call: what it was offered, and its buffer."""

    contractor_id: str
    project_id: str | None  # the request's filter
    queue: asyncio.Queue[StreamItem]
    projects: set[str] = field(default_factory=set)  # eligible, within the filter
    offered: dict[uuid.UUID, str] = field(default_factory=dict)  # task -> project
    loading: bool = True  # a snapshot is being read: signals are noted, then rechecked
    touched: set[uuid.UUID] = field(default_factory=set)  # tasks signalled while loading
    stale: bool = False  # its projects changed while loading: read the snapshot again

    def wants(self, project_id: str) -> bool:
        return project_id in self.projects


class HubMetrics:
    def __init__(self, registry: CollectorRegistry, service: str) -> None:
        p = f"crewline_{service}"
        self.streams = Gauge(f"{p}_offer_streams", "Open StreamOffers calls", registry=registry)
        self.messages = Counter(
            f"{p}_offer_messages_total",
            "Offer stream messages queued, by kind (offered, withdrawn, resync)",
            ["kind"],
            registry=registry,
        )
        # Bound once: a burst queues one message per offer per stream, thousands at a time.
        self.message_kinds = {
            k: self.messages.labels(k) for k in ("offered", "withdrawn", "resync")
        }
        self.signals = Counter(
            f"{p}_offer_signals_total",
            "Notifications the hub handled, by kind",
            ["kind"],
            registry=registry,
        )
        self.overflows = Counter(
            f"{p}_offer_stream_overflows_total",
            "Streams told to resync because they read too slowly",
            registry=registry,
        )
        self.queued = Gauge(
            f"{p}_offer_stream_queued_messages",
            "Messages waiting in the open streams' buffers, all streams together",
            registry=registry,
        )
        self.fanout = Histogram(
            f"{p}_offer_fanout_seconds",
            "For each burst of notifications that queued offer stream messages (offers or"
            " withdrawals): from when this replica took in the burst's first notification"
            " (PostgreSQL sends it when the change commits) to when the burst's last"
            " message was queued on its stream. One observation per burst; the transit"
            " from PostgreSQL to the replica is not included",
            buckets=_FANOUT_BUCKETS,
            registry=registry,
        )
        self.fullest = Gauge(
            f"{p}_offer_stream_buffer_max_fill_ratio",
            "How full the fullest stream's buffer is (1: it overflows at the next message)",
            registry=registry,
        )

    def watch(self, streams: set[Stream], buffer: int) -> None:
        """Measure the buffers at each scrape. The scrape runs in another thread: it
        copies the set in one step (under the GIL) and only reads queue lengths."""

        def sizes() -> list[int]:
            return [s.queue.qsize() for s in tuple(streams)]

        self.queued.set_function(lambda: sum(sizes()))
        self.fullest.set_function(lambda: max(sizes(), default=0) / max(buffer, 1))


class OfferHub:
    def __init__(
        self,
        *,
        pool: asyncpg.Pool,
        dsn: str,
        clock: Clock,
        registry: CollectorRegistry,
        service: str,
        worker_health: WorkerHealth,
        buffer: int = 1000,
        coalesce: float = 0.0,
        connect: Callable[[str], Any] = asyncpg.connect,
        answer_specs: AnswerSpecs | None = None,  # the service's cache; a fresh one in tests
    ) -> None:
        self._pool = pool
        self._specs = answer_specs or AnswerSpecs()
        self._dsn = dsn
        self._clock = clock
        self._health = worker_health
        self._buffer = buffer
        self._coalesce = coalesce  # seconds to gather notifications after the first
        self._connect = connect
        self._metrics = HubMetrics(registry, service)
        self._open: set[Stream] = set()
        self._metrics.watch(self._open, buffer)
        self._stop = asyncio.Event()
        self._signals: list[str] = []
        self._first_signal_at = 0.0  # perf_counter() when the pending burst began
        self._queued = 0  # messages queued on streams so far: did a burst queue any?
        self._wake = asyncio.Event()
        self._by_contractor: dict[str, set[Stream]] = defaultdict(set)
        self._by_project: dict[str, set[Stream]] = defaultdict(set)
        self._by_task: dict[uuid.UUID, set[Stream]] = defaultdict(set)
        self._loading: set[Stream] = set()
        self.listening = asyncio.Event()  # set while notifications flow
        worker_health.register(WORKER)

    # --- streams -------------------------------------------------------------------

    def open(self, contractor_id: str, project_id: str | None) -> Stream:
        stream = Stream(contractor_id, project_id, asyncio.Queue(self._buffer))
        self._by_contractor[contractor_id].add(stream)
        self._loading.add(stream)
        self._open.add(stream)
        self._metrics.streams.inc()
        return stream

    def close(self, stream: Stream) -> None:
        self._by_contractor[stream.contractor_id].discard(stream)
        if not self._by_contractor[stream.contractor_id]:
            del self._by_contractor[stream.contractor_id]
        self._set_projects(stream, set())
        for task_id in list(stream.offered):
            self._forget(stream, task_id)
        self._loading.discard(stream)
        self._open.discard(stream)
        self._metrics.streams.dec()

    async def snapshot(self, stream: Stream, limit: int) -> list[Offer]:
        """The stream's offers now (at most ``limit``), best first; then live changes flow.

        Signals that arrive while the snapshot is read are noted and their tasks
        rechecked afterwards, so nothing that changed meanwhile is lost.
        """
        self._start_loading(stream)
        for task_id in list(stream.offered):
            self._forget(stream, task_id)
        for _attempt in range(3):
            stream.stale = False
            async with self._pool.acquire() as conn:
                projects = set(await eligibility.projects_of(conn, stream.contractor_id))
                if stream.project_id is not None:
                    projects &= {stream.project_id}
                self._set_projects(stream, projects)
                query = ListOffers(
                    contractor_id=stream.contractor_id,
                    page_size=limit,
                    project_id=stream.project_id,
                )
                offers = await repo.offers_for(
                    conn, query, now=self._clock.now(), limit=limit, specs=self._specs
                )
            if not stream.stale:
                break
        for offer in offers:
            self._remember(stream, offer)
        while stream.touched:  # changed during the read: look again
            touched, stream.touched = stream.touched, set()
            await self._recheck(stream, touched, offers)
        stream.loading = False
        self._loading.discard(stream)
        return offers

    async def _recheck(self, stream: Stream, task_ids: set[uuid.UUID], into: list[Offer]) -> None:
        async with self._pool.acquire() as conn:
            now = await repo.offers_of_tasks(
                conn, list(task_ids), now=self._clock.now(), specs=self._specs
            )
            claimed = await repo.claimants(conn, list(task_ids))
        live = {
            o.task_id: o
            for o in now
            if stream.wants(o.project_id)
            and o.offered_to(stream.contractor_id)
            and (o.task_id, stream.contractor_id) not in claimed
        }
        into[:] = [o for o in into if o.task_id not in task_ids]
        for task_id in task_ids:
            if task_id in live:
                into.append(live[task_id])
                self._remember(stream, live[task_id])
            else:
                self._forget(stream, task_id)

    # --- bookkeeping ---------------------------------------------------------------

    def _set_projects(self, stream: Stream, projects: set[str]) -> None:
        for gone in stream.projects - projects:
            self._by_project[gone].discard(stream)
            if not self._by_project[gone]:
                del self._by_project[gone]
        for new in projects - stream.projects:
            self._by_project[new].add(stream)
        stream.projects = projects

    def _remember(self, stream: Stream, offer: Offer) -> None:
        stream.offered[offer.task_id] = offer.project_id
        self._by_task[offer.task_id].add(stream)

    def _forget(self, stream: Stream, task_id: uuid.UUID) -> None:
        if stream.offered.pop(task_id, None) is not None:
            holders = self._by_task.get(task_id)
            if holders is not None:
                holders.discard(stream)
                if not holders:
                    del self._by_task[task_id]

    def _send(self, stream: Stream, item: StreamItem, kind: str) -> None:
        """Queue without waiting; a full queue becomes a single Resync marker."""
        try:
            stream.queue.put_nowait(item)
            self._metrics.message_kinds[kind].inc()
            self._queued += 1
        except asyncio.QueueFull:
            self._resync(stream)
            self._metrics.overflows.inc()

    def _start_loading(self, stream: Stream) -> None:
        stream.loading = True
        stream.touched.clear()
        self._loading.add(stream)

    def _resync(self, stream: Stream) -> None:
        while not stream.queue.empty():
            stream.queue.get_nowait()
        stream.queue.put_nowait(RESYNC)
        self._start_loading(stream)  # until its handler reads a fresh snapshot
        self._metrics.message_kinds["resync"].inc()

    def _offer(self, stream: Stream, offer: Offer) -> None:
        if stream.loading:
            stream.touched.add(offer.task_id)
        elif offer.task_id not in stream.offered:
            self._remember(stream, offer)
            self._send(stream, (offer, None), "offered")

    def _withdraw(self, stream: Stream, task_id: uuid.UUID, reason: WithdrawalReason) -> None:
        if stream.loading:
            stream.touched.add(task_id)
        elif task_id in stream.offered:
            self._forget(stream, task_id)
            self._send(stream, (task_id, reason), "withdrawn")

    # --- the worker ----------------------------------------------------------------

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    async def run(self) -> None:
        backoff = Backoff(initial=0.2, maximum=5.0)
        while not self._stop.is_set():
            try:
                await self._listen()
                backoff.reset()
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("offer_hub_listen_lost", error=repr(exc))
            except Exception as exc:  # keep serving streams; report and retry
                self._health.failed(WORKER, exc)
                log.exception("offer_hub_failed")
            self.listening.clear()
            for streams in list(self._by_contractor.values()):
                for stream in streams:
                    self._resync(stream)  # we may have missed signals
            await sleep_unless(self._stop, backoff.next())

    async def _listen(self) -> None:
        conn = await self._connect(self._dsn)
        lost = asyncio.Event()
        try:

            def closed(_conn: object) -> None:
                lost.set()
                self._wake.set()

            conn.add_termination_listener(closed)
            await conn.add_listener(offer_signals.CHANNEL, self._on_notify)
            self.listening.set()
            self._health.ok(WORKER)
            while not self._stop.is_set() and not lost.is_set():
                await self._wake.wait()
                if self._coalesce > 0 and self._signals:
                    await sleep_unless(self._stop, self._coalesce)  # let the burst gather
                self._wake.clear()
                while self._signals and not self._stop.is_set():
                    batch, self._signals = self._signals, []
                    began, queued = self._first_signal_at, self._queued
                    await self._handle(batch)
                    if self._queued > queued:
                        self._metrics.fanout.observe(time.perf_counter() - began)
                    self._health.ok(WORKER)
            if lost.is_set():
                raise ConnectionError("the LISTEN connection closed")
        finally:
            if not conn.is_closed():
                await conn.close()

    def _on_notify(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        if not self._signals:
            self._first_signal_at = time.perf_counter()
        self._signals.append(payload)
        self._wake.set()

    async def _handle(self, batch: Iterable[str]) -> None:
        opened: set[uuid.UUID] = set()
        contractors: set[str] = set()
        projects: set[str] = set()
        for payload in batch:
            kind, _, rest = payload.partition(":")
            self._metrics.signals.labels(_SIGNAL_NAMES.get(kind, "unknown")).inc()
            if kind == offer_signals.TASKS_OPENED:
                opened.add(uuid.UUID(rest))
            elif kind == offer_signals.TASK_CLAIMED:
                task, _, more = rest.partition(":")
                contractor, _, free = more.rpartition(":")
                self._claimed(uuid.UUID(task), contractor, int(free))
            elif kind == offer_signals.TASK_CLOSED:
                self._task_closed(uuid.UUID(rest))
            elif kind == offer_signals.PROJECT_CLOSED:
                self._project_closed(rest)
            elif kind == offer_signals.CONTRACTOR:
                contractors.add(rest)
            elif kind == offer_signals.PROJECT:
                projects.add(rest)
        if opened:
            await self._opened(opened)
        for contractor_id in contractors & self._by_contractor.keys():
            await self._contractor_changed(contractor_id)
        for project_id in projects:
            await self._project_changed(project_id)

    def claimed(self, task_id: uuid.UUID, contractor_id: str, free_slots: int) -> None:
        """A claim granted through this replica: the claimer's streams here drop the task.

        Only a claim that fills its task is signalled to every replica (NOTIFY at
        commit serialises commits, so claims do not send one each): a claimer's
        stream on another replica keeps the task until it fills, and claiming it
        again is refused ALREADY_CLAIMED."""
        self._claimed(task_id, contractor_id, free_slots)

    def _claimed(self, task_id: uuid.UUID, contractor_id: str, free_slots: int) -> None:
        for stream in list(self._by_contractor.get(contractor_id, ())):
            self._withdraw(stream, task_id, WithdrawalReason.CLAIMED_BY_YOU)
        if free_slots == 0:
            for stream in list(self._by_task.get(task_id, ())):
                self._withdraw(stream, task_id, WithdrawalReason.FILLED)
            for stream in self._loading:  # mid-snapshot streams recheck it
                stream.touched.add(task_id)

    def _task_closed(self, task_id: uuid.UUID) -> None:
        """The task takes no claims: every stream offering it withdraws it."""
        for stream in list(self._by_task.get(task_id, ())):
            self._withdraw(stream, task_id, WithdrawalReason.CLOSED)
        for stream in self._loading:  # mid-snapshot streams recheck it
            stream.touched.add(task_id)

    def _project_closed(self, project_id: str) -> None:
        """The project is paused or closed: every stream withdraws its tasks. (Its
        streams keep the project: a resume offers its tasks again.)"""
        for stream in list(self._by_project.get(project_id, ())):
            for task_id, of in list(stream.offered.items()):
                if of == project_id:
                    self._withdraw(stream, task_id, WithdrawalReason.CLOSED)
        for stream in self._loading:  # a snapshot being read may predate the change
            stream.stale = True
            stream.touched |= {t for t, of in stream.offered.items() if of == project_id}

    async def _opened(self, task_ids: set[uuid.UUID]) -> None:
        if not self._by_contractor:
            return
        async with self._pool.acquire() as conn:
            offers = await repo.offers_of_tasks(
                conn, list(task_ids), now=self._clock.now(), specs=self._specs
            )
            claimed = await repo.claimants(conn, [o.task_id for o in offers])
        for offer in offers:
            if offer.reserved_for is not None:  # one contractor's: their streams only
                streams = self._by_contractor.get(offer.reserved_for, set())
                streams = {s for s in streams if s.wants(offer.project_id)}
            else:
                streams = self._by_project.get(offer.project_id, set())
            for stream in list(streams):
                if (offer.task_id, stream.contractor_id) not in claimed:
                    self._offer(stream, offer)
        for stream in self._loading:
            stream.touched |= task_ids

    async def _contractor_changed(self, contractor_id: str) -> None:
        async with self._pool.acquire() as conn:
            projects = set(await eligibility.projects_of(conn, contractor_id))
        for stream in list(self._by_contractor.get(contractor_id, ())):
            wanted = projects if stream.project_id is None else projects & {stream.project_id}
            await self._move(stream, wanted)

    async def _project_changed(self, project_id: str) -> None:
        if not self._by_contractor:
            return
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(
                "SELECT contractor_id FROM eligibility WHERE project_id = $1"
                " AND contractor_id = ANY($2::text[])",
                project_id,
                list(self._by_contractor),
            )
        eligible = {r["contractor_id"] for r in rows}
        for contractor_id, streams in list(self._by_contractor.items()):
            for stream in list(streams):
                if stream.project_id not in (None, project_id):
                    continue
                wanted = set(stream.projects)
                if contractor_id in eligible:
                    wanted.add(project_id)
                else:
                    wanted.discard(project_id)
                await self._move(stream, wanted, refresh=project_id)

    async def _move(self, stream: Stream, wanted: set[str], *, refresh: str | None = None) -> None:
        """Point the stream at ``wanted`` projects: withdraw what it lost, offer what it
        gained (and re-send ``refresh``'s offers, whose terms or text may have changed)."""
        if stream.loading:
            stream.stale = True  # the snapshot being read may predate the change
            return
        lost = stream.projects - wanted
        gained = wanted - stream.projects
        self._set_projects(stream, wanted)
        for task_id, project_id in list(stream.offered.items()):
            if project_id in lost:
                self._withdraw(stream, task_id, WithdrawalReason.NOT_ELIGIBLE)
        reread = gained | ({refresh} & wanted if refresh else set())
        for project_id in reread:
            async with self._pool.acquire() as conn:
                query = ListOffers(
                    contractor_id=stream.contractor_id,
                    page_size=self._buffer,
                    project_id=project_id,
                )
                offers = await repo.offers_for(
                    conn, query, now=self._clock.now(), limit=self._buffer // 2, specs=self._specs
                )
            for offer in offers:
                if project_id == refresh and offer.task_id in stream.offered:
                    self._send(stream, (offer, None), "offered")  # same task, new terms
                else:
                    self._offer(stream, offer)
