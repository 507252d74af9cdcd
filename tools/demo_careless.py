"""A careless contractor: works only in triage, answers at once and at random, and
claims the newest offer. Once suspended they stop working (and one of them appeals).

To be caught they must answer gold, and gold is issued on ordinary claims made while
they hold none open (demo_triage). So after an ordinary claim that drew gold they take
an offer that arrived since (the gold, almost always) or wait for one, for at most
``GOLD_WAIT``: their gold is never buried under older offers. A wait that runs out
(their gold ran out, or the draw saw an earlier gold still open) only costs time.
"""

from __future__ import annotations

import asyncio
import time

from crewline.client import Claim, Contractor, Offer, Sanction
from tools import demo_triage as triage
from tools.demo_contractor import IDLE_WAIT, Journal, SimulatedContractor, _first
from tools.demo_display import Tracker
from tools.demo_market import ContractorProfile, MarketPlan, ProjectSpec

GOLD_WAIT = 10.0
GLANCE = 0.1  # seconds a careless answer takes


class CarelessContractor(SimulatedContractor):
    def __init__(
        self,
        profile: ContractorProfile,
        sdk: Contractor,
        *,
        projects: dict[str, ProjectSpec],
        plan: MarketPlan,
        tracker: Tracker,
        journal: Journal,
        stop: asyncio.Event,
    ) -> None:
        super().__init__(
            profile, sdk, projects=projects, plan=plan, tracker=tracker, journal=journal, stop=stop
        )
        self.caught: Sanction | None = None  # their sanction, once they know of it
        self.gold_answered = 0
        self._gold_open = False  # as they reckon it
        self._awaiting: tuple[int, float] | None = None  # (arrivals then, give up at)

    async def run(self) -> None:
        """Until the market stops or they find themselves suspended."""
        async with asyncio.TaskGroup() as group:
            reader = group.create_task(self._read_offers())
            while not self._stop.is_set() and self.caught is None:
                offer = self._pick()
                if offer is None:
                    self._news.clear()
                    await _first(self._news.wait(), self._stop.wait(), timeout=IDLE_WAIT)
                    await self._check_caught()
                    continue
                await self._try(offer)
            reader.cancel()

    async def _check_caught(self) -> None:
        if self.gold_answered < (triage.RULE.min_sample or 1):
            return
        project = next((i for i, s in self._projects.items() if s.triage), "")
        async for sanction in self._sdk.my_sanctions(project_id=project):
            self.caught = sanction
            return

    def _pick(self) -> Offer | None:
        open_ = [o for t, o in self._offers.items() if t not in self._refused]
        if self._awaiting is not None:
            since, give_up = self._awaiting
            fresh = [o for o in open_ if self._arrived[o.task_id] > since]
            if fresh:
                return max(fresh, key=lambda o: self._arrived[o.task_id])
            if time.monotonic() < give_up:
                return None  # their gold is on its way
            self._awaiting, self._gold_open = None, False
        return max(open_, key=lambda o: self._arrived[o.task_id], default=None)

    async def _handle(self, claim: Claim, project: ProjectSpec) -> None:
        started, arrivals = time.monotonic(), self._arrivals
        gold = self._plan.gold_answer(claim.payload) is not None
        await asyncio.sleep(GLANCE)
        await self._hand_in(claim, project, triage.random_answer(self._rng), started)
        if gold:
            self.gold_answered += 1
            self._gold_open, self._awaiting = False, None
        elif not self._gold_open:  # this claim drew gold (a share of 50 %: q = 1)
            self._gold_open = True
            self._awaiting = (arrivals, time.monotonic() + GOLD_WAIT)
