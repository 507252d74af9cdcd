"""The four services as real processes, each in databases and a Kafka namespace of
the test run's own. Tests talk to them only through gRPC and HTTP."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
from asyncio.subprocess import Process
from collections.abc import Awaitable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from crewline.cli import wait_healthy
from crewline.client.tls import ClientTls
from crewline.settings import KafkaSettings
from crewline.v1 import (
    client_admin_service_pb2_grpc,
    contractor_admin_service_pb2_grpc,
    ledger_service_pb2_grpc,
    quality_service_pb2_grpc,
    task_service_pb2_grpc,
    work_service_pb2_grpc,
)

from stack import (
    KAFKA_BOOTSTRAP,
    PG_HOST,
    PG_PORT,
    PG_USER,
    ROOT,
    free_port,
    run_secrets,
)

SERVICES = ("dispatcher", "matcher", "ledger", "quality")


# The service gets SIGTERM if the test process dies, so no orphan outlives its run.
# util-linux's setpriv sets that before exec; a preexec_fn would have to run Python
# in a child forked while gRPC's threads run, which hung under load (seen here).
_DIE_WITH_PARENT = ["setpriv", "--pdeathsig", "TERM", "--"] if shutil.which("setpriv") else []


def crewctl_process(*args: str, env: dict[str, str], cwd: Path = ROOT) -> Awaitable[Process]:
    """``python -m crewline.ctl.main ARGS``, started with its output piped (not waited for)."""
    return asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "crewline.ctl.main",
        *args,
        cwd=cwd,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def run_crewctl(
    *args: str, env: dict[str, str], cwd: Path = ROOT, timeout: float = 60
) -> tuple[int, str, str]:
    """crewctl run to its end: exit code, stdout, stderr (killed after ``timeout``)."""
    proc = await crewctl_process(*args, env=env, cwd=cwd)
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout=timeout)
    except TimeoutError:
        proc.kill()
        raise
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


@dataclass
class ServiceProcess:
    name: str
    env: dict[str, str]
    log_path: Path
    grpc_addr: str
    metrics_url: str
    proc: subprocess.Popen[bytes] | None = None
    _log: IO[bytes] | None = field(default=None, repr=False)

    def start(self) -> None:
        self._log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [*_DIE_WITH_PARENT, sys.executable, "-m", self.name],
            cwd=ROOT,
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def terminate(self, *, timeout: float = 60.0) -> int:
        """SIGTERM and wait for the graceful drain; the exit code."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=timeout)
        if self._log:
            self._log.close()
        return code

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def log_lines(self) -> list[str]:
        """The log's complete lines: one the service is still writing is left for the
        next read, so each line read can be parsed as JSON."""
        text = self.log_text()
        return text[: text.rfind("\n") + 1].splitlines()

    async def holds_partitions(self) -> bool:
        """Its consumer group has handed it a share of the partitions (from its log)."""
        lines = [json.loads(x) for x in self.log_lines() if "partitions_" in x]
        return (
            bool(lines)
            and lines[-1]["event"] == "partitions_assigned"
            and bool(lines[-1]["partitions"])
        )

    async def wait_serving(self, *, timeout: float = 90) -> str:
        """Its health status once SERVING, or the last one after ``timeout``. Over TLS when
        its env has the client's CREWLINE_TLS_* too (a test that starts it with TLS)."""
        tls = ClientTls.from_env(self.env)
        statuses = await wait_healthy([self.grpc_addr], timeout=timeout, tls=tls)
        return statuses[self.grpc_addr]

    def replica(self, label: str, **env: str) -> ServiceProcess:
        """Another process of this service on the same databases and consumer group, with
        ports and a log of its own (a previous replica's last lines must not satisfy a
        wait on this one's); ``env`` overrides settings. Not started."""
        prefix = f"CREWLINE_{self.name.upper()}"
        addr, metrics_port = f"127.0.0.1:{free_port()}", free_port()
        return ServiceProcess(
            self.name,
            {
                **self.env,
                f"{prefix}_GRPC_ADDR": addr,
                f"{prefix}_METRICS_ADDR": f"127.0.0.1:{metrics_port}",
                **env,
            },
            self.log_path.with_name(f"{self.name}-{label}-{metrics_port}.log"),
            addr,
            f"http://127.0.0.1:{metrics_port}/metrics",
        )


@dataclass
class Stack:
    services: dict[str, ServiceProcess]
    tasks: task_service_pb2_grpc.TaskServiceStub
    work: work_service_pb2_grpc.WorkServiceStub
    ledger: ledger_service_pb2_grpc.LedgerServiceStub
    quality: quality_service_pb2_grpc.QualityServiceStub
    clients: client_admin_service_pb2_grpc.ClientAdminServiceStub
    contractors: contractor_admin_service_pb2_grpc.ContractorAdminServiceStub
    operator_credential: str
    kafka: KafkaSettings
    # principal id -> its credential, made on first use by flow.credential_of
    credentials: dict[str, str] = field(default_factory=dict)
    # "client/name/reward" -> project id, made on first use by flow.project_of
    projects: dict[str, str] = field(default_factory=dict)

    async def wait_healthy(self, *names: str) -> None:
        statuses = {n: await self.services[n].wait_serving() for n in names or SERVICES}
        if set(statuses.values()) != {"SERVING"}:
            logs = "\n".join(self.services[n].log_text()[-3000:] for n in names or SERVICES)
            raise AssertionError(f"not healthy: {statuses}\n{logs}")


def service_env(name: str, namespace: str, database: str) -> tuple[dict[str, str], str, str]:
    grpc_addr = f"127.0.0.1:{free_port()}"
    metrics_port = free_port()
    secrets = run_secrets()
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("CREWLINE_")}
    env = {
        **inherited,
        "CREWLINE_OPERATOR_CREDENTIAL_FILE": str(secrets.operator_file),
        "CREWLINE_TOKEN_PUBLIC_KEY_FILES": str(secrets.public_key_file),
        "CREWLINE_PG_HOST": PG_HOST,
        "CREWLINE_PG_PORT": str(PG_PORT),
        "CREWLINE_PG_USER": PG_USER,
        "CREWLINE_KAFKA_BOOTSTRAP": KAFKA_BOOTSTRAP,
        "CREWLINE_KAFKA_NAMESPACE": namespace,
        "CREWLINE_LOG_FORMAT": "json",
        "CREWLINE_SHUTDOWN_GRACE_SECONDS": "5",
        f"CREWLINE_{name.upper()}_GRPC_ADDR": grpc_addr,
        f"CREWLINE_{name.upper()}_METRICS_ADDR": f"127.0.0.1:{metrics_port}",
        f"CREWLINE_{name.upper()}_PG_DB": database,
    }
    if name == "matcher":
        env["CREWLINE_TOKEN_SIGNING_KEY_FILE"] = str(secrets.signing_key_file)
    if name == "dispatcher":
        # Leases, lifetimes and auto-accept of a second or two, so their clocks fire in a test.
        env["CREWLINE_DISPATCHER_MIN_DURATION_SECONDS"] = "1"
    return env, grpc_addr, f"http://127.0.0.1:{metrics_port}/metrics"
