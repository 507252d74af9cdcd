"""A small marketplace run through the running services, reconciled to the cent.

    python -m tools.demo [--tasks 200] [--contractors 50] [--slots 1] [--reward-minor 1500]

One client submits tasks while contractors race for their slots and hand in work;
then the ledger must show every piece paid exactly once and the books balanced.
Every id is scoped to the run, so repeated runs on one stack never mix. The exit
code is 0 only when everything reconciles.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import grpc
from rich.console import Console

from crewline.cli import wait_healthy
from crewline.ctl.config import ConfigFile, CredentialError, resolve_credential
from tools import demo_display as display
from tools.demo_display import Summary, Tracker
from tools.demo_market import (
    SUMMARY_TIMEOUT,
    Addresses,
    DemoConfig,
    Market,
)


def new_tracker(config: DemoConfig) -> Tracker:
    return Tracker(
        tasks=config.tasks,
        slots=config.tasks * config.slots,
        planned_minor=config.planned_total_minor(),
    )


async def run_demo(config: DemoConfig, tracker: Tracker | None = None) -> Summary:
    """Run the marketplace against the services at ``config.addresses``; what it found."""
    tracker = tracker or new_tracker(config)
    a = config.addresses
    channels = [grpc.aio.insecure_channel(t) for t in (a.dispatcher, a.matcher, a.ledger)]
    try:
        market = Market(config, tracker, channels)
        started = time.monotonic()
        timed_out, errors = await _run_bounded(market, config.timeout)
        elapsed = time.monotonic() - started
        async with asyncio.timeout(SUMMARY_TIMEOUT):
            return await market.summarize(elapsed=elapsed, timed_out=timed_out, errors=errors)
    finally:
        await asyncio.gather(*(channel.close() for channel in channels))


async def _run_bounded(market: Market, timeout: float) -> tuple[bool, list[str]]:
    """Run until reconciled or ``timeout``; whether it timed out, and any refused RPCs."""
    timed_out, errors = False, []
    try:
        async with asyncio.timeout(timeout):
            await market.run()
    except* TimeoutError:
        timed_out = True
    except* grpc.aio.AioRpcError as group:
        errors = [_describe(e) for e in group.exceptions]
    return timed_out, errors


def _describe(exc: BaseException) -> str:
    if isinstance(exc, grpc.aio.AioRpcError):
        return f"RPC refused: {exc.code().name}: {exc.details()}"
    return repr(exc)


async def _checked_run(config: DemoConfig, console: Console) -> Summary:
    """``run_demo`` with progress, after a health check; failures become ``DemoAborted``."""
    addrs = [config.addresses.dispatcher, config.addresses.matcher, config.addresses.ledger]
    statuses = await wait_healthy(addrs, timeout=10)
    if set(statuses.values()) != {"SERVING"}:
        found = ", ".join(f"{a} {s}" for a, s in statuses.items())
        raise display.DemoAborted(f"The stack is not up ({found}); start it with `make up`.")
    tracker = new_tracker(config)
    try:
        async with display.live_progress(tracker, console):
            return await run_demo(config, tracker)
    except (grpc.aio.AioRpcError, TimeoutError) as err:
        raise display.DemoAborted(f"Could not collect the summary: {_describe(err)}") from err


def parse_config(argv: list[str] | None, env: Mapping[str, str]) -> DemoConfig:
    parser = argparse.ArgumentParser(
        prog="python -m tools.demo",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--tasks", type=int, default=200, help="tasks the client submits")
    parser.add_argument("--contractors", type=int, default=50, help="contractors racing")
    parser.add_argument("--slots", type=int, default=1, help="slots (contractors) per task")
    parser.add_argument("--reward-minor", type=int, default=1500, help="base reward in cents")
    parser.add_argument("--timeout", type=float, default=120.0, help="give up after (seconds)")
    args = parser.parse_args(argv)
    try:
        return DemoConfig(
            addresses=Addresses.from_env(env),
            operator_credential=resolve_credential(None, env, ConfigFile(), Path.cwd()),
            **vars(args),
        )
    except (ValueError, CredentialError) as err:
        parser.error(str(err))


def main(argv: list[str] | None = None) -> int:
    config = parse_config(argv, os.environ)
    intro = (
        f"Crewline demo {config.client_id}: {config.tasks} tasks with {config.slots} slot(s)"
        f" each, {config.contractors} contractors"
    )
    console = Console()
    return display.present(console, intro, _checked_run(config, console))


if __name__ == "__main__":
    sys.exit(main())
