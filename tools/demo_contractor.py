"""A simulated contractor: watches their offers, races for the run's tasks, works or
walks away, and hands in work with the time it took.

Each contractor draws from their own seeded ``random.Random``, so a seed fixes how each
behaves; who wins which race is up to the matcher.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

from crewline.client import (
    Claim,
    Contractor,
    CrewlineError,
    Offer,
    Offered,
    Refused,
    Resync,
    Withdrawn,
)
from tools import demo_triage as triage
from tools.demo_display import Tracker
from tools.demo_market import ContractorProfile, MarketPlan, Pay, ProjectSpec

PICK_AMONG = 4  # contractors pick among the first few offers, so they collide
HEARTBEAT_EVERY = 1.0
IDLE_WAIT = 0.5
AT_LIMIT_WAIT = 0.5


@dataclass(frozen=True, kw_only=True)
class Piece:
    """Work handed in, as the contractor knows it."""

    claim_id: str
    contractor_id: str
    task_id: str
    project: str  # ProjectSpec.key
    worked_seconds: int
    gold: bool = False  # the work was on a gold task (the demo knows its payloads)


@dataclass
class Journal:
    """What the contractors did, by their own account, to hold against the services'."""

    granted: Counter[str] = field(default_factory=Counter)  # contractor -> claims
    released: Counter[str] = field(default_factory=Counter)
    abandoned: Counter[str] = field(default_factory=Counter)  # walked away: the lease runs out
    late: Counter[str] = field(default_factory=Counter)  # handed in after the lease ran out
    pieces: dict[str, Piece] = field(default_factory=dict)  # claim id -> piece
    handed_in: Counter[str] = field(default_factory=Counter)  # project key -> pieces


class SimulatedContractor:
    def __init__(
        self,
        profile: ContractorProfile,
        sdk: Contractor,
        *,
        projects: dict[str, ProjectSpec],  # the run's project ids -> their spec
        plan: MarketPlan,
        tracker: Tracker,
        journal: Journal,
        stop: asyncio.Event,
    ) -> None:
        self.profile, self._sdk, self._projects, self._plan = profile, sdk, projects, plan
        self._rng = random.Random(f"{plan.seed}/{profile.number}")  # the same in every run
        self._tracker, self._journal, self._stop = tracker, journal, stop
        self._offers: dict[str, Offer] = {}  # the run's offers, in arrival order
        self._arrived: dict[str, int] = {}  # task id -> when it was last offered (a count)
        self._arrivals = 0
        self._refused: set[str] = set()
        self._news = asyncio.Event()

    async def run(self) -> None:
        """Until the market stops; a refused stream or call ends the run (raised)."""
        async with asyncio.TaskGroup() as group:
            reader = group.create_task(self._read_offers())
            while not self._stop.is_set():
                offer = self._pick()
                if offer is None:
                    self._news.clear()
                    await _first(self._news.wait(), self._stop.wait(), timeout=IDLE_WAIT)
                    continue
                await self._try(offer)
            reader.cancel()

    async def _read_offers(self) -> None:
        """Keeps the run's offers: the stream sends every task the contractor may claim
        (other runs' too, on a shared stack: those are ignored)."""
        async for event in self._sdk.stream_offers(max_offers=1000):
            match event:
                case Offered(offer) if offer.project_id in self._projects:
                    self._offers[offer.task_id] = offer
                    self._arrivals += 1
                    self._arrived[offer.task_id] = self._arrivals
                    self._refused.discard(offer.task_id)  # offered again: worth a try
                    self._news.set()
                case Withdrawn(task_id, _):
                    self._offers.pop(task_id, None)
                case Resync():
                    self._offers.clear()

    def _pick(self) -> Offer | None:
        open_ = [o for t, o in self._offers.items() if t not in self._refused]
        if not open_:
            return None
        open_.sort(key=lambda o: -o.priority)  # stable: oldest first within a priority
        return self._rng.choice(open_[:PICK_AMONG])

    async def _try(self, offer: Offer) -> None:
        try:
            claim = await self._sdk.claim(task_id=offer.task_id)
        except CrewlineError as err:
            self._refused.add(offer.task_id)
            if err.reason == "AT_CLAIM_LIMIT":
                await asyncio.sleep(AT_LIMIT_WAIT)
            self._tracker.add("lost race" if err.reason == "NO_FREE_SLOT" else "refused")
            return
        self._refused.add(offer.task_id)  # one claim per task and contractor
        self._journal.granted[self.profile.id] += 1
        self._tracker.add("granted")
        await self._handle(claim, self._projects[offer.project_id])

    async def _handle(self, claim: Claim, project: ProjectSpec) -> None:
        started = time.monotonic()
        if self._rng.random() < self.profile.flakiness:
            await self._abandon(claim)
            return
        hourly = project.pay is Pay.HOURLY
        duration = self.profile.seconds_for(project.pay)
        while (left := started + duration - time.monotonic()) > 0:
            await asyncio.sleep(min(left, HEARTBEAT_EVERY))
            if hourly and time.monotonic() < started + duration:
                await self._heartbeat(claim.claim_id, int(time.monotonic() - started))
        await self._hand_in(claim, project, self._result(claim, project), started)

    def _result(self, claim: Claim, project: ProjectSpec) -> bytes | dict[str, str]:
        if project.triage:  # the project's answer spec
            # Its own generator: the contractor's draws stay what the seed made them.
            answers = random.Random(f"{self._plan.seed}/{claim.task_id}")
            return triage.careful_answer(self._plan, claim.payload, answers)
        return f'{{"by": "{self.profile.id}", "task": "{claim.task_id}"}}'.encode()

    async def _hand_in(
        self,
        claim: Claim,
        project: ProjectSpec,
        result: bytes | dict[str, str],
        started: float,
    ) -> None:
        worked = int(time.monotonic() - started)  # never more than the claim has lived
        try:
            await self._sdk.submit(claim_id=claim.claim_id, result=result, worked_seconds=worked)
        except CrewlineError as err:
            if err.reason != "CLAIM_EXPIRED":
                raise
            self._journal.late[self.profile.id] += 1
            self._tracker.add("late")
            return
        piece = self._journal.pieces[claim.claim_id] = Piece(
            claim_id=claim.claim_id,
            contractor_id=self.profile.id,
            task_id=claim.task_id,
            project=project.key,
            worked_seconds=worked,
            gold=project.triage and self._plan.gold_answer(claim.payload) is not None,
        )
        self._journal.handed_in[project.key] += 1
        self._tracker.add("gold answered" if piece.gold else "submitted")

    async def _heartbeat(self, claim_id: str, worked: int) -> None:
        try:
            await self._sdk.heartbeat(claim_id=claim_id, worked_seconds=worked)
        except Refused:
            pass  # at its maximum, or ended: the submission will say which

    async def _abandon(self, claim: Claim) -> None:
        """Half give the slot back; half walk away and let the lease run out."""
        await asyncio.sleep(self._rng.uniform(0.1, 0.5))
        if self._rng.random() < 0.5:
            await self._sdk.release(claim_id=claim.claim_id)
            self._journal.released[self.profile.id] += 1
            self._tracker.add("released")
        else:
            self._journal.abandoned[self.profile.id] += 1
            self._tracker.add("abandoned")


async def _first(*waits: Coroutine[Any, Any, object], timeout: float) -> None:
    """Until the first of ``waits`` finishes, or ``timeout``."""
    tasks = [asyncio.ensure_future(w) for w in waits]
    try:
        await asyncio.wait(tasks, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for t in tasks:
            t.cancel()
