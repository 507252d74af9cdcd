"""A marketplace run through the running services with the Python SDK, then reconciled.

    python -m tools.demo [--tasks 240] [--contractors 40] [--careless 3] [--seed 7]

Three clients (a medical lab, a legal-AI lab, a media company) publish a few hundred
tasks in six projects (medicine, law, poetry, video captioning; per-task and hourly
pay; qualification requirements) and a skin-lesion triage project with an answer spec,
gold tasks and a rule that suspends contractors whose gold accuracy is poor.
Simulated contractors of varying skill and speed race for them; some give claims back
or walk away (the lease runs out and the task is offered again). A few careless
contractors answer triage fast and at random; the rule catches each of them, with the
gold answers as evidence, and one appeals and is upheld. One project is paused and
resumed. The clients accept, reject with feedback and pay bonuses; a referred
contractor earns their referrer a bonus; an operator's payout batch ends the run. Then
every count and every cent is checked against the services. The exit code is 0 only
when everything reconciles.

Every id carries the run's id, so runs sharing a stack never mix. The seed fixes what
the run attempts; who wins each race is up to the services.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

from crewline.client import CrewlineError, Endpoints, Operator
from crewline.ctl.config import ConfigFile, CredentialError, resolve_credential
from tools import demo_display as display
from tools.demo_market import DemoConfig
from tools.demo_reconcile import LedgerTerms
from tools.demo_run import run_demo
from tools.demo_summary import Summary


@dataclass(frozen=True, kw_only=True)
class Invocation:
    config: DemoConfig
    endpoints: Endpoints
    operator_credential: str
    terms: LedgerTerms


READY_WAIT = 10.0


class Aborted(Exception):
    """The demo could not run at all; the message says what to do."""


def parse(argv: list[str] | None, env: Mapping[str, str]) -> Invocation:
    parser = argparse.ArgumentParser(
        prog="python -m tools.demo",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--tasks", type=int, default=240, help="tasks the clients publish")
    parser.add_argument("--contractors", type=int, default=40, help="contractors racing")
    parser.add_argument("--seed", type=int, default=7, help="fixes what the run attempts")
    parser.add_argument(
        "--careless", type=int, default=3, help="careless contractors (triage only), 0-10"
    )
    parser.add_argument("--timeout", type=float, default=90.0, help="give up after (seconds)")
    parser.add_argument(
        "--payout-threshold-minor", type=int, default=5000, help="payout batch threshold, cents"
    )
    args = parser.parse_args(argv)
    try:
        return Invocation(
            config=DemoConfig(**vars(args)),
            endpoints=Endpoints.from_env(env),
            operator_credential=resolve_credential(None, env, ConfigFile(), Path.cwd()),
            terms=LedgerTerms(
                fee_bps=int(env.get("CREWLINE_LEDGER_FEE_BPS", "2000")),
                referral_bonus_minor=int(env.get("CREWLINE_LEDGER_REFERRAL_BONUS_MINOR", "25000")),
            ),
        )
    except (ValueError, CredentialError) as err:
        parser.error(str(err))


async def wait_ready(inv: Invocation) -> None:
    """Until every service says it is ready, for up to ``READY_WAIT`` seconds."""
    async with Operator(credential=inv.operator_credential, endpoints=inv.endpoints) as op:
        give_up = time.monotonic() + READY_WAIT
        while set((statuses := await op.health_all()).values()) != {"SERVING"}:
            if time.monotonic() > give_up:
                found = ", ".join(f"{svc} {status}" for svc, status in statuses.items())
                raise Aborted(f"The stack is not up ({found}); start it with `make up`.")
            await asyncio.sleep(0.5)


async def checked_run(inv: Invocation, console: Console) -> Summary:
    """``run_demo`` with live progress, once the stack is ready."""
    await wait_ready(inv)
    tracker = display.Tracker()
    try:
        async with display.live_progress(tracker, console):
            return await run_demo(
                inv.config,
                endpoints=inv.endpoints,
                operator_credential=inv.operator_credential,
                terms=inv.terms,
                tracker=tracker,
            )
    except CrewlineError as err:
        raise Aborted(f"A call was refused: {err}") from err


def main(argv: list[str] | None = None) -> int:
    inv = parse(argv, os.environ)
    c = inv.config
    console = Console()
    display.say(
        console,
        f"Crewline demo, run {c.run_id}: {c.tasks} tasks, {c.contractors} contractors,"
        f" seed {c.seed}",
    )
    try:
        summary = asyncio.run(checked_run(inv, console))
    except Aborted as err:
        display.say(console, str(err))
        return 1
    except KeyboardInterrupt:
        return 130
    display.print_summary(summary, console)
    return 0 if summary.ok else 1


if __name__ == "__main__":
    sys.exit(main())
