"""What every benchmark needs: the running stack's addresses, principals made through the
operator RPCs, seeded projects and tasks, and small statistics helpers.

The stack is the one ``make up`` runs; its settings are read the way the services read
theirs (``crewline.settings``), so the same environment variables move both.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import grpc

from crewline.client.metadata import bearer_metadata
from crewline.ctl.config import ConfigFile, resolve_credential
from crewline.settings import ServiceSettings
from crewline.v1 import client_admin_service_pb2 as client_admin
from crewline.v1 import (
    client_admin_service_pb2_grpc,
    contractor_admin_service_pb2_grpc,
    money_pb2,
    project_pb2,
    task_service_pb2_grpc,
    work_service_pb2_grpc,
)
from crewline.v1 import contractor_admin_service_pb2 as contractor_admin
from crewline.v1 import task_service_pb2 as task_api
from tools.demo_rpc import Addresses, Metadata, bounded, call

ROOT = Path(__file__).resolve().parent.parent
HOME = Path(os.environ.get("CREWLINE_HOME", ROOT / ".local"))
SETUP_CONCURRENCY = 64  # operator RPCs in flight while seeding


@dataclass
class Stack:
    """Clients of the running stack, and the operator's credential."""

    addresses: Addresses
    operator: Metadata
    matcher_dsn: str
    dispatcher_dsn: str
    kafka_bootstrap: str
    topic_partitions: int
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:6])
    _channels: list[grpc.aio.Channel] = field(default_factory=list)

    @classmethod
    def from_env(cls) -> Stack:
        env = os.environ
        matcher = ServiceSettings.from_env(name="matcher", grpc_port=50052, metrics_port=9102)
        dispatcher = ServiceSettings.from_env(name="dispatcher", grpc_port=50051, metrics_port=9101)
        credential = resolve_credential(None, env, ConfigFile(), ROOT)
        return cls(
            addresses=Addresses.from_env(env),
            operator=bearer_metadata(credential),
            matcher_dsn=matcher.postgres.dsn,
            dispatcher_dsn=dispatcher.postgres.dsn,
            kafka_bootstrap=matcher.kafka.bootstrap_servers,
            topic_partitions=matcher.kafka.topic_partitions,
        )

    def channel(self, target: str) -> grpc.aio.Channel:
        channel = grpc.aio.insecure_channel(target)
        self._channels.append(channel)
        return channel

    async def close(self) -> None:
        await asyncio.gather(*(c.close() for c in self._channels))

    @property
    def tasks(self) -> task_service_pb2_grpc.TaskServiceStub:
        return task_service_pb2_grpc.TaskServiceStub(self.channel(self.addresses.dispatcher))

    @property
    def clients(self) -> client_admin_service_pb2_grpc.ClientAdminServiceStub:
        return client_admin_service_pb2_grpc.ClientAdminServiceStub(
            self.channel(self.addresses.dispatcher)
        )

    @property
    def contractors(self) -> contractor_admin_service_pb2_grpc.ContractorAdminServiceStub:
        return contractor_admin_service_pb2_grpc.ContractorAdminServiceStub(
            self.channel(self.addresses.matcher)
        )

    def work(self, target: str | None = None) -> work_service_pb2_grpc.WorkServiceStub:
        return work_service_pb2_grpc.WorkServiceStub(self.channel(target or self.addresses.matcher))

    def name(self, what: str) -> str:
        """A name scoped to this run, so repeated runs on one stack never mix."""
        return f"bench-{self.run_id}-{what}"


async def new_client(stack: Stack, client_id: str) -> Metadata:
    """Create a client and an API key; the metadata that authenticates as it."""
    admin = stack.clients
    await call(
        admin.CreateClient, client_admin.CreateClientRequest(client_id=client_id), stack.operator
    )
    key: client_admin.CreateApiKeyResponse = await call(
        admin.CreateApiKey,
        client_admin.CreateApiKeyRequest(request_id=f"{client_id}-key", client_id=client_id),
        stack.operator,
    )
    return bearer_metadata(key.secret)


async def new_contractors(
    stack: Stack, ids: Sequence[str], *, max_concurrent_claims: int = 0
) -> list[str]:
    """Create the contractors and issue each a token (IssueContractorToken); the tokens."""
    admin = stack.contractors

    async def one(contractor_id: str) -> str:
        await call(
            admin.CreateContractor,
            contractor_admin.CreateContractorRequest(
                contractor_id=contractor_id, max_concurrent_claims=max_concurrent_claims
            ),
            stack.operator,
        )
        token: contractor_admin.IssueContractorTokenResponse = await call(
            admin.IssueContractorToken,
            contractor_admin.IssueContractorTokenRequest(contractor_id=contractor_id),
            stack.operator,
        )
        return token.secret

    return await bounded((one(c) for c in ids), SETUP_CONCURRENCY)


async def new_project(
    stack: Stack,
    client: Metadata,
    *,
    title: str,
    slots: int = 1,
    requirements: Sequence[project_pb2.Requirement] = (),
    answer_spec: project_pb2.AnswerSpec | None = None,
) -> str:
    reply: task_api.CreateProjectResponse = await call(
        stack.tasks.CreateProject,
        task_api.CreateProjectRequest(
            request_id=stack.name(title),
            title=title,
            instructions="Rate the model's answer from 1 to 5.",
            requirements=list(requirements),
            assignments_per_task=slots,
            pay_terms=project_pb2.PayTerms(
                per_submission=project_pb2.PerSubmissionPay(
                    reward=money_pb2.Money(currency_code="USD", amount_minor=1500)
                )
            ),
            answer_spec=answer_spec,
        ),
        client,
    )
    return str(reply.project.project_id)


PAYLOAD = '{"answer": "Likely benign; see a dermatologist if it changes.", "id": %d}'


def task_specs(prefix: str, count: int, *, slots: int, start: int = 0) -> list[task_api.TaskSpec]:
    return [
        task_api.TaskSpec(idempotency_key=f"{prefix}-{i}", payload_json=PAYLOAD % i, slots=slots)
        for i in range(start, start + count)
    ]


async def submit_tasks(
    stack: Stack, client: Metadata, project_id: str, specs: Sequence[task_api.TaskSpec]
) -> list[str]:
    """SubmitTasks in batches of 1,000; the task ids in order."""
    tasks = stack.tasks
    ids: list[str] = []
    for at in range(0, len(specs), 1000):
        reply: task_api.SubmitTasksResponse = await call(
            tasks.SubmitTasks,
            task_api.SubmitTasksRequest(project_id=project_id, tasks=specs[at : at + 1000]),
            client,
        )
        ids.extend(t.task_id for t in reply.tasks)
    return ids


async def wait_pooled(stack: Stack, task_ids: Sequence[str], *, timeout: float = 120.0) -> None:
    """Until the matcher has every task in its pool (read from its database)."""
    wanted = [uuid.UUID(t) for t in task_ids]
    conn = await asyncpg.connect(stack.matcher_dsn)
    try:
        deadline = time.monotonic() + timeout
        while True:
            found = await conn.fetchval(
                "SELECT count(*) FROM open_tasks WHERE task_id = ANY($1::uuid[])", wanted
            )
            if found == len(wanted):
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"only {found} of {len(wanted)} tasks reached the matcher")
            await asyncio.sleep(0.1)
    finally:
        await conn.close()


def _cpu_times() -> tuple[int, int]:
    """The host's (idle + iowait, all) CPU ticks, from /proc/stat. The first eight fields:
    the guest ones after them are counted in user and nice already."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    return fields[3] + fields[4], sum(fields)


async def wait_quiet(*, idle: float = 0.8, timeout: float = 180.0) -> float:
    """Until the host's CPUs are at least ``idle`` idle over a second (consumers and the
    outbox relay have caught up with the last run); the seconds waited."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        idle0, all0 = _cpu_times()
        await asyncio.sleep(1.0)
        idle1, all1 = _cpu_times()
        if (idle1 - idle0) / max(1, all1 - all0) >= idle:
            break
    return time.monotonic() - started


def _role(cmdline: str) -> str | None:
    """Which part of the stack a process is, by its command line; None for the rest."""
    if cmdline.startswith("postgres: "):
        parts = cmdline.split()
        db = parts[2] if len(parts) > 2 and parts[2].startswith("crewline_") else ""
        return f"PostgreSQL ({db.removeprefix('crewline_')})" if db else "PostgreSQL (own work)"
    if "/postgres " in cmdline or cmdline.endswith("/postgres"):
        return "PostgreSQL (own work)"
    if "kafka.Kafka" in cmdline:
        return "Kafka"
    for service in ("dispatcher", "matcher", "ledger"):
        if f"-m {service}" in cmdline:
            return service
    return None


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process (all its threads) has used, from /proc/<pid>/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _process_seconds() -> dict[tuple[int, str], float]:
    """CPU seconds so far of every process that is a part of the stack, by (pid, role)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
            role = _role(cmdline)
            if role is not None:
                found[int(entry.name), role] = cpu_seconds(int(entry.name))
        except OSError:  # gone meanwhile
            continue
    return found


class CpuMeter:
    """CPU seconds each part of the stack used while it was running (from /proc), and
    this process's children (the load generator, pgbench) under ``children``."""

    def __init__(self, children: str) -> None:
        self._children = children

    def __enter__(self) -> CpuMeter:
        self._before = _process_seconds()
        self._times = os.times()
        self._busy = _busy_ticks()
        self.seconds: dict[str, float] = {}
        self.machine = 0.0  # every process, short-lived ones included (pgbench's backends)
        return self

    def __exit__(self, *exc: object) -> None:
        after, times = _process_seconds(), os.times()
        self.machine = (_busy_ticks() - self._busy) / os.sysconf("SC_CLK_TCK")
        for (pid, role), used in after.items():
            used -= self._before.get((pid, role), 0.0)
            self.seconds[role] = self.seconds.get(role, 0.0) + used
        children = times.children_user + times.children_system
        self.seconds[self._children] = children - (
            self._times.children_user + self._times.children_system
        )

    def per(self, count: int, *, parts: bool = True, at_least: float = 0.05) -> str:
        """CPU milliseconds per item: the machine's, then (``parts``) each part's that
        used at least ``at_least`` seconds."""
        machine = f"{1000 * self.machine / count:.2f} ms"
        if not parts:
            return machine
        ordered = sorted(self.seconds.items(), key=lambda kv: -kv[1])
        shown = [f"{role} {1000 * s / count:.2f}" for role, s in ordered if s >= at_least]
        return f"{machine} ({', '.join(shown)})"


def _busy_ticks() -> int:
    """The host's CPU ticks not idle (nor waiting for I/O)."""
    idle, total = _cpu_times()
    return total - idle


def _stack_roots() -> set[int]:
    """This process and the stack's own (its pid files, PostgreSQL's postmaster): the
    processes this stack's work descends from, not another stack's on the same host."""
    roots = {os.getpid()}
    for pid_file in [*(HOME / "run").glob("*.pid"), HOME / "pg" / "data" / "postmaster.pid"]:
        try:
            roots.add(int(pid_file.read_text().split()[0]))
        except (OSError, ValueError, IndexError):  # not running, or being written
            continue
    return roots


def _stack_ticks() -> dict[int, int]:
    """CPU ticks so far of every process descending from ``_stack_roots()``, by pid."""
    parent, used = {}, {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:  # gone meanwhile
                continue
            parent[int(entry.name)] = int(fields[1])
            used[int(entry.name)] = int(fields[11]) + int(fields[12])
    roots, ours = _stack_roots(), {}
    for pid, ticks in used.items():
        at, seen = pid, 0
        while at > 1 and at not in roots and seen < 64:
            at, seen = parent.get(at, 0), seen + 1
        if at in roots:
            ours[pid] = ticks
    return ours


def _children_seconds() -> float:
    times = os.times()
    return times.children_user + times.children_system


class HostShare:
    """Wall time, and the CPU seconds the host spent outside this stack and this process
    (other work on a shared machine, or another stack), while the block ran."""

    def __enter__(self) -> HostShare:
        self._started, self._busy = time.monotonic(), _busy_ticks()
        self._ours, self._children = _stack_ticks(), _children_seconds()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.monotonic() - self._started
        tick = os.sysconf("SC_CLK_TCK")
        busy = (_busy_ticks() - self._busy) / tick
        # Per process, so that one ending meanwhile (a pooled connection's backend closed
        # after idling, with all the CPU it ever used) takes nothing away; its last moments
        # are counted as others'. A load generator that ended is in the children's times.
        ours = sum(t - self._ours.get(pid, 0) for pid, t in _stack_ticks().items()) / tick
        ours += _children_seconds() - self._children
        self.others = max(0.0, busy - ours)


def pid_of(service: str) -> int:
    """The pid `make up` recorded for a service."""
    return int((HOME / "run" / f"{service}.pid").read_text().strip())


def rss_mib(pid: int) -> float:
    """Resident set size of a process, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100), nearest rank."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


@dataclass
class Summary:
    """Rows of the final table: what was measured, its figure, and the same run's baseline."""

    rows: list[tuple[str, str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, what: str, figure: str, baseline: str = "") -> None:
        self.rows.append((what, figure, baseline))
        print(f"  {what}: {figure}" + (f"   [baseline: {baseline}]" if baseline else ""))

    def note(self, text: str) -> None:
        self.notes.append(text)
        print(f"  note: {text}")

    def render(self) -> str:
        widths = [
            max(len(r[i]) for r in [("measure", "figure", "baseline"), *self.rows])
            for i in range(3)
        ]
        lines = []
        for row in [("measure", "figure", "baseline"), *self.rows]:
            lines.append("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))
            if len(lines) == 1:
                lines.append("  ".join("-" * w for w in widths))
        return "\n".join([*lines, *(f"* {n}" for n in self.notes)])
