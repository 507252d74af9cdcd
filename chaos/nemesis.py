"""Faults at moments chosen from a seed, and how long the stack took to recover.

A fault's moment is a point in the run's progress (the share of tasks that ended), not
a time: on a slow machine the same faults fall on the same stretch of work. Faults
come one at a time:

- ``kill``: SIGKILL of one process of one service (two run of each), then
  ``stack.sh restart <service>:<n>`` brings it back;
- ``pause``: SIGSTOP of one service process for 2-5 s, then SIGCONT: a long GC pause or
  a host cut off, with its connections held open;
- ``broker_kill``: SIGKILL of the Kafka broker, then ``stack.sh restart kafka``;
- ``postgres_restart``: ``stack.sh restart postgres --kill``, PostgreSQL's immediate
  mode: every connection is cut and the server recovers from its WAL.

For a kill or a pause the service is drawn from the seed; of its two processes, the one
most callers are connected to is hit (callers stay on the process their connection
reached, so a fault on an idle one would hit no one).

Recovery is measured by the canary: a task published by a client of its own and seen
offered to the one contractor qualified for it, which takes the dispatcher's database
and outbox, Kafka, and the matcher's consumer and database. A fault is over when the
part is back; it is recovered when a canary task published after that goes through.
"""

from __future__ import annotations

import asyncio
import random
import signal
from dataclasses import dataclass
from functools import partial

from chaos.history import History
from chaos.model import Fault
from chaos.stack import SERVICES, ChaosStack, Process
from chaos.workload import LONG_LIFETIME, Market, Progress, retried
from crewline.client import CrewlineError, task

FIRST, LAST = 0.02, 0.85  # the stretch of progress faults fall in
PAUSE_SECONDS = (2.0, 5.0)
RECOVERY_LIMIT = 300.0  # a canary not through by then: the fault is reported unrecovered


@dataclass(frozen=True, kw_only=True)
class FaultPlan:
    kills: int = 10
    pauses: int = 2
    broker_kills: int = 1
    postgres_restarts: int = 1

    def counts(self) -> dict[str, int]:
        """How many of each kind of fault, by the name the history gives the kind."""
        return {
            "kill": self.kills,
            "pause": self.pauses,
            "broker_kill": self.broker_kills,
            "postgres_restart": self.postgres_restarts,
        }

    def kinds(self) -> list[str]:
        return [kind for kind, n in self.counts().items() for _ in range(n)]


class Canary:
    """A task through the whole pipeline: published, then seen offered, then cancelled."""

    def __init__(self, market: Market, history: History) -> None:
        self.market, self.history = market, history
        self.sent = 0

    async def round_trip(self) -> bool:
        """True once a new canary task was offered; False after RECOVERY_LIMIT."""
        try:
            await asyncio.wait_for(self._through(), timeout=RECOVERY_LIMIT)
        except TimeoutError:
            return False
        return True

    async def _through(self) -> None:
        self.sent += 1
        key = f"canary-{self.sent}"
        client, project = self.market.canary_client, self.market.canary_project
        spec = task({"canary": self.sent}, idempotency_key=key, lifetime_seconds=LONG_LIFETIME)
        args = {"client_id": "canary", "project_id": project, "keys": [key], "slots": 1}
        while True:  # the same key each time: one task, however often it is asked
            published = await self.history.call(
                "canary",
                "submit_tasks",
                args,
                partial(client.submit_tasks, project, [spec]),
                lambda tasks: {"task_ids": [t.task_id for t in tasks]},
            )
            if published.result is not None:
                break
            await asyncio.sleep(0.2)
        task_id = published.result[0].task_id
        while not await self._offered(task_id):  # noqa: ASYNC110 (a poll, as an app would)
            await asyncio.sleep(0.1)
        await retried(
            self.history,
            "canary",
            "cancel_task",
            {"client_id": "canary", "task_id": task_id},
            partial(client.cancel_task, task_id, reason="canary"),
        )

    async def _offered(self, task_id: str) -> bool:
        try:
            page = await self.market.canary_contractor.list_offers_page(
                project_id=self.market.canary_project, page_size=100
            )
        except CrewlineError:
            return False
        return any(o.task_id == task_id for o in page.items)


class Nemesis:
    def __init__(
        self,
        stack: ChaosStack,
        plan: FaultPlan,
        history: History,
        progress: Progress,
        canary: Canary,
        seed: int,
        stop: asyncio.Event,
    ) -> None:
        self.stack, self.history, self.progress, self.canary = stack, history, progress, canary
        self.stop = stop
        self.rng = random.Random(f"{seed}/nemesis")
        kinds = plan.kinds()
        self.rng.shuffle(kinds)
        moments = sorted(self.rng.uniform(FIRST, LAST) for _ in kinds)
        self.schedule = list(zip(moments, kinds, strict=True))
        self.faults: list[Fault] = []

    async def run(self) -> None:
        for at, kind in self.schedule:
            if not await self.progress.reached(at, self.stop):
                return
            fault = await self._inject(kind)
            if await self.canary.round_trip():
                fault.recovered = self.history.now()
            self.faults.append(fault)

    async def _inject(self, kind: str) -> Fault:
        start = self.history.now()
        if kind in ("kill", "pause"):
            target = await self._service_process()
            if kind == "kill":
                self.stack.signal(target.pid, signal.SIGKILL)
                await self.stack.restart(target.name)
                detail = f"pid {target.pid}"
            else:
                seconds = self.rng.uniform(*PAUSE_SECONDS)
                self.stack.signal(target.pid, signal.SIGSTOP)
                await asyncio.sleep(seconds)
                self.stack.signal(target.pid, signal.SIGCONT)
                detail = f"pid {target.pid} stopped {seconds:.1f} s"
            name = target.name
        elif kind == "broker_kill":
            name = "kafka"
            broker = [p for p in await self.stack.processes() if p.part == "kafka"]
            for p in broker:
                self.stack.signal(p.pid, signal.SIGKILL)
            await self.stack.restart("kafka")
            detail = f"pid {broker[0].pid}" if broker else "not running"
        else:
            name, detail = "postgres", "immediate mode"
            await self.stack.restart("postgres", kill=True)
        return Fault(
            index=len(self.faults),
            kind=kind,
            target=name,
            start=start,
            end=self.history.now(),
            detail=detail,
        )

    async def _service_process(self) -> Process:
        """A service drawn from the seed, and of its processes the one most callers are
        connected to (a fault on an idle process would hit no one)."""
        service = self.rng.choice(SERVICES)
        mine = sorted(
            (p for p in await self.stack.processes() if p.part == service), key=lambda p: p.number
        )
        return max(mine, key=self.stack.connections)
