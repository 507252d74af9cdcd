"""A second matcher replica, the matchers' resident memory, and the order the scale parts
run in: fan-out to 5,000 streams across two replicas, RSS at idle / with the streams /
with 100,000 open tasks, then the flat-cost measures on the primary alone.

The replica is the primary's command with the primary's environment (read from
/proc/<pid>/environ: the same database, Kafka and keys, so it joins the same consumer
group), on other loopback ports; it is stopped (SIGTERM, then SIGKILL) before returning.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from bench import fanout, flat
from bench.common import HOME, Stack, Summary, pid_of, rss_mib
from crewline.cli import wait_healthy


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Replica:
    pid: int
    addr: str
    log: Path
    process: subprocess.Popen[bytes]


def _partitions_assigned(log: Path) -> bool:
    if not log.exists():
        return False
    lines = [json.loads(x) for x in log.read_text().splitlines() if '"partitions_' in x]
    return (
        bool(lines)
        and lines[-1]["event"] == "partitions_assigned"
        and bool(lines[-1].get("partitions"))
    )


def _spawn_replica() -> Replica:
    """The primary matcher's command and environment, on other loopback ports."""
    primary = pid_of("matcher")
    raw = Path(f"/proc/{primary}/environ").read_bytes().split(b"\0")
    env = dict(e.decode().split("=", 1) for e in raw if b"=" in e)
    argv = [a.decode() for a in Path(f"/proc/{primary}/cmdline").read_bytes().split(b"\0") if a]
    grpc_port, metrics_port = free_port(), free_port()
    addr = f"127.0.0.1:{grpc_port}"
    env["CREWLINE_MATCHER_GRPC_ADDR"] = addr
    env["CREWLINE_MATCHER_METRICS_ADDR"] = f"127.0.0.1:{metrics_port}"
    env["CREWLINE_LOG_FORMAT"] = "json"
    log = HOME / "log" / f"matcher-bench-replica-{grpc_port}.log"
    with log.open("ab") as out:
        process = subprocess.Popen(
            argv, env=env, cwd=os.readlink(f"/proc/{primary}/cwd"), stdout=out, stderr=out
        )
    return Replica(pid=process.pid, addr=addr, log=log, process=process)


@asynccontextmanager
async def replica() -> AsyncIterator[Replica]:
    """A second matcher on 127.0.0.1, healthy and holding Kafka partitions, until exit."""
    rep = await asyncio.to_thread(_spawn_replica)
    addr, log, process = rep.addr, rep.log, rep.process
    try:
        statuses = await wait_healthy([addr], timeout=90)
        if statuses[addr] != "SERVING":
            raise RuntimeError(
                f"the matcher replica did not become healthy ({statuses}); see {log}"
            )
        deadline = time.monotonic() + 90
        while not _partitions_assigned(log):  # the group has rebalanced onto it
            if time.monotonic() > deadline:
                raise RuntimeError(f"the matcher replica got no partitions; see {log}")
            await asyncio.sleep(0.25)
        yield rep
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.to_thread(process.wait, 60)
        except subprocess.TimeoutExpired:
            process.kill()
            await asyncio.to_thread(process.wait)
        print(f"memory: matcher replica (pid {rep.pid}) stopped, exit {process.returncode}")


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
