"""A second matcher process for the benchmarks: the primary's command with the primary's
environment (read from /proc/<pid>/environ: the same database, Kafka and keys, so it
joins the same consumer group), on another loopback port or sharing the primary's
(SO_REUSEPORT, which the local stack turns on for the matcher); stopped (SIGTERM, then
SIGKILL) on the way out.
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

from bench.common import HOME, pid_of
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


def _started(log: Path) -> bool:
    return log.exists() and '"event": "service_started"' in log.read_text()


def _spawn_replica(*, share_port: bool) -> Replica:
    """The primary matcher's command and environment, on another loopback port (or on
    the primary's, shared) and its own metrics port."""
    primary = pid_of("matcher")
    raw = Path(f"/proc/{primary}/environ").read_bytes().split(b"\0")
    env = dict(e.decode().split("=", 1) for e in raw if b"=" in e)
    argv = [a.decode() for a in Path(f"/proc/{primary}/cmdline").read_bytes().split(b"\0") if a]
    grpc_port, metrics_port = free_port(), free_port()
    addr = f"127.0.0.1:{grpc_port}"
    if share_port:
        if env.get("CREWLINE_MATCHER_GRPC_REUSE_PORT") != "1":
            raise RuntimeError("the matcher does not share its port: `make down; make up`")
        addr = env.get("CREWLINE_MATCHER_GRPC_ADDR", "127.0.0.1:50052")
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
async def replica(*, share_port: bool = False) -> AsyncIterator[Replica]:
    """A second matcher on 127.0.0.1, healthy and holding Kafka partitions, until exit.
    Sharing the primary's port, the health check may reach either; the partitions it
    is assigned are its own."""
    rep = await asyncio.to_thread(_spawn_replica, share_port=share_port)
    addr, log, process = rep.addr, rep.log, rep.process
    try:
        statuses = await wait_healthy([addr], timeout=90)
        if statuses[addr] != "SERVING":
            raise RuntimeError(
                f"the matcher replica did not become healthy ({statuses}); see {log}"
            )
        deadline = time.monotonic() + 90
        # Serving (its own gRPC server started: a health check on a shared port may have
        # reached the primary), and the group has rebalanced onto it.
        while not (_started(log) and _partitions_assigned(log)):
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
        print(f"matcher replica (pid {rep.pid}) stopped, exit {process.returncode}")
