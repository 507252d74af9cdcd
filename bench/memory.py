"""A second matcher replica, the matchers' resident memory, and the order the scale parts
run in: fan-out to 5,000 streams across two replicas, RSS at idle / with the streams /
with 100,000 open tasks, then the flat-cost measures on the primary alone.

The replica (``bench.replicas``) listens on a port of its own.
"""

from __future__ import annotations

import asyncio

from bench import fanout, flat
from bench.common import Stack, Summary, pid_of, rss_mib
from bench.replicas import replica


def _rss(what: str, pids: dict[str, int], summary: Summary, baseline: dict[str, float]) -> None:
    for name, pid in pids.items():
        mib = rss_mib(pid)
        base = baseline.get(name)
        summary.add(
            f"matcher RSS, {name}, {what}",
            f"{mib:,.0f} MiB",
            f"idle {base:,.0f} MiB ({mib - base:+,.0f} MiB)" if base is not None else "",
        )
        if base is None:
            baseline[name] = mib


async def run(stack: Stack, summary: Summary, parts: list[str]) -> None:
    """``parts``: any of fanout, memory, flat (flat alone runs without the replica)."""
    pool: flat.Pool | None = None
    if "fanout" in parts or "memory" in parts:
        async with replica() as rep:
            print(f"memory: matcher replica pid {rep.pid} on {rep.addr}")
            pids = {"primary": pid_of("matcher"), "replica": rep.pid}
            idle: dict[str, float] = {}
            _rss("idle (no streams)", pids, summary, idle)
            setup = await fanout.setup(stack)
            async with fanout.streams(stack, setup, [stack.addresses.matcher, rep.addr]) as fan:
                await asyncio.sleep(2)
                _rss(f"{fanout.STREAMS:,} streams open (half each)", pids, summary, idle)
                if "fanout" in parts:
                    await fanout.measure(stack, summary, setup, fan, pids)
                if "memory" in parts or "flat" in parts:
                    pool = await flat.seed(stack)
                    await asyncio.sleep(2)
                    _rss(
                        f"{fanout.STREAMS:,} streams + {pool.open_tasks:,} open tasks in pool"
                        f" ({pool.filler:,} by SQL)",
                        pids,
                        summary,
                        idle,
                    )
            await asyncio.sleep(2)
            if pool is not None:
                _rss(f"streams closed, {pool.open_tasks:,} open tasks", pids, summary, idle)
    if "flat" in parts:
        await flat.run(stack, summary, pool or await flat.seed(stack))
