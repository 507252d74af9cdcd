"""One demo run: set the market up, let it trade, pay out, then reconcile.

Everything goes through the SDK (``crewline.client``): an ``Operator`` enrols the run's
clients and contractors, a ``Client`` per lab publishes and reviews, a ``Contractor``
per expert streams offers and works.
"""

from __future__ import annotations

import asyncio
import time

from crewline.client import CrewlineError, Endpoints, Operator
from tools import demo_sanctions as sanctions
from tools.demo_careless import CarelessContractor
from tools.demo_client import SimulatedClient
from tools.demo_contractor import Journal, SimulatedContractor
from tools.demo_display import Tracker
from tools.demo_market import DemoConfig, MarketPlan, plan_market
from tools.demo_reconcile import DEFAULT_TERMS, LedgerTerms, Market, reconcile
from tools.demo_setup import Enrolled, enrol
from tools.demo_summary import Summary

DONE_POLL = 0.5


async def run_demo(
    config: DemoConfig,
    *,
    endpoints: Endpoints,
    operator_credential: str,
    terms: LedgerTerms = DEFAULT_TERMS,
    tracker: Tracker | None = None,
) -> Summary:
    """Run the marketplace against the services at ``endpoints``; what it found."""
    started = time.monotonic()
    plan = plan_market(config)
    tracker = tracker or Tracker()
    tracker.tasks, tracker.slots = len(plan.tasks), plan.slots_planned()
    async with Operator(credential=operator_credential, endpoints=endpoints) as operator:
        enrolled = await enrol(operator, plan, endpoints, tracker)
        try:
            market = await _open_market(plan, enrolled, tracker)
            errors = await _trade(market, config.timeout - (time.monotonic() - started))
            errors += await _settle(market, config.timeout - (time.monotonic() - started))
            tracker.phase = "appeal"
            quality = await sanctions.appeal_and_find(market, errors)
            for client in market.clients:
                errors += await client.close_triage()
            tracker.phase = "reconciling"
            return await reconcile(operator, market, config, terms, errors, started, quality)
        finally:
            await enrolled.close()


async def _open_market(plan: MarketPlan, enrolled: Enrolled, tracker: Tracker) -> Market:
    journal, stop = Journal(), asyncio.Event()
    clients = [
        SimulatedClient(
            s.key, enrolled.clients[s.key], plan=plan, tracker=tracker, journal=journal, stop=stop
        )
        for s in plan.clients
    ]
    for client in clients:
        await client.create_projects()
    projects = {pid: plan.project(k) for c in clients for k, pid in c.project_ids.items()}
    contractors = [
        (CarelessContractor if p.careless else SimulatedContractor)(
            p,
            enrolled.contractors[p.id],
            projects=projects,
            plan=plan,
            tracker=tracker,
            journal=journal,
            stop=stop,
        )
        for p in plan.contractors
    ]
    return Market(plan, clients, contractors, enrolled.contractors, journal, tracker, stop)


async def _trade(market: Market, timeout: float) -> list[str]:
    """Until every task is completed (or ``timeout``); what went wrong, if anything."""
    market.tracker.phase = "running"
    errors: list[str] = []
    try:
        async with asyncio.timeout(max(timeout, 1.0)), asyncio.TaskGroup() as group:
            for contractor in market.contractors:
                group.create_task(contractor.run())
            for client in market.clients:
                group.create_task(client.publish())
                group.create_task(client.review_until_stopped())
                group.create_task(client.pause_midway())
                group.create_task(client.keep_stocked(lambda: bool(_at_large(market))))
            group.create_task(_until_done(market))
    except* TimeoutError:
        errors.append("timed out before every task was completed")
    except* CrewlineError as failed:
        errors.extend(f"refused: {e}" for e in failed.exceptions)
    return errors


def _at_large(market: Market) -> list[CarelessContractor]:
    return [c for c in market.contractors if isinstance(c, CarelessContractor) and not c.caught]


async def _until_done(market: Market) -> None:
    """Stops the market once every slot was handed in, every task is completed (its
    work reviewed), as the dispatcher says, and every careless contractor was caught."""
    while True:
        ordinary = sum(not p.gold for p in market.journal.pieces.values())
        handed_in = ordinary >= market.slots_planned()
        if (
            handed_in
            and not _at_large(market)
            and all([await c.all_completed() for c in market.clients])
        ):
            market.stop.set()
            return
        await asyncio.sleep(DONE_POLL)


async def _settle(market: Market, timeout: float) -> list[str]:
    """Once the contractors have stopped: until the clients have reviewed every piece of
    work in their reviewed projects (gold work handed in at the end included) and no
    gold claim is live (one walked away from runs out its lease)."""
    give_up = time.monotonic() + max(timeout, 1.0)
    while time.monotonic() < give_up:
        for client in market.clients:
            await client.sweep_all()
        if all([await c.settled(market.journal.handed_in) for c in market.clients]):
            return []
        await asyncio.sleep(DONE_POLL)
    return ["timed out before every piece of work was reviewed"]
