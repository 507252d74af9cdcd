"""The chaos run's own local stack, driven through the project's scripts.

It is a stack like ``make up``'s (``deploy/local``), in a state folder and on ports of its
own, with two processes of each service sharing the service's port, so that killing one
leaves the other serving. Every fault goes through what an operator has: ``kill``, and
``stack.sh restart PART [--kill]``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

from crewline.client import Endpoints

ROOT = Path(__file__).resolve().parents[1]
LOCAL = ROOT / "deploy" / "local"
SERVICES = ("dispatcher", "matcher", "ledger", "quality")
PROCESSES = 2
APPEAL_DECISION_SECONDS = 8
SCRIPT_LIMIT = 300.0  # seconds for one script call (a Kafka restart takes about 15)


@dataclass(frozen=True, kw_only=True)
class Ports:
    """Where the chaos stack listens: away from ``make up``'s and the tests' stacks, and
    above Linux's ephemeral range (32768-60999), where a client connection that happens to
    hold the port would make a listener fail to bind, which a long suite makes likely."""

    postgres: int = 61436
    kafka: int = 61096  # and + 1 for its controller
    grpc: int = 61061  # dispatcher; + 1 matcher, + 2 ledger, + 3 quality
    metrics: int = 9121  # process 1 of the dispatcher; + 1, + 2, + 3; process k: + 100 (k - 1)

    def grpc_of(self, service: str) -> str:
        return f"127.0.0.1:{self.grpc + SERVICES.index(service)}"


@dataclass(frozen=True)
class Process:
    """One running part, as ``stack.sh pids`` lists it."""

    part: str  # dispatcher | matcher | ledger | quality | kafka | postgres
    number: int
    pid: int

    @property
    def name(self) -> str:
        return f"{self.part}:{self.number}" if self.part in SERVICES else self.part


class ChaosStack:
    def __init__(self, home: Path, ports: Ports, *, fee_bps: int = 2000) -> None:
        self.home, self.ports, self.fee_bps = home, ports, fee_bps
        self.referral_bonus_minor = 25000  # the ledger's default (CREWLINE_LEDGER_REFERRAL_...)

    @property
    def env(self) -> dict[str, str]:
        inherited = {k: v for k, v in os.environ.items() if not k.startswith("CREWLINE_")}
        p = self.ports
        env = {
            **inherited,
            "CREWLINE_HOME": str(self.home),
            "CREWLINE_PG_PORT": str(p.postgres),
            "CREWLINE_KAFKA_PORT": str(p.kafka),
            "CREWLINE_KAFKA_CONTROLLER_PORT": str(p.kafka + 1),
            "CREWLINE_KAFKA_BOOTSTRAP": f"127.0.0.1:{p.kafka}",
            "CREWLINE_SERVICE_PROCESSES": str(PROCESSES),
            "CREWLINE_LEDGER_FEE_BPS": str(self.fee_bps),
            # A killed or paused process's drain is not waited for long.
            "CREWLINE_SHUTDOWN_GRACE_SECONDS": "2",
            # Appeals nobody decides are upheld by the quality service's clock within the
            # run, so that the deadline decides some of them (chaos.qc).
            "CREWLINE_QUALITY_APPEAL_DECISION_SECONDS": str(APPEAL_DECISION_SECONDS),
        }
        for i, service in enumerate(SERVICES):
            env[f"CREWLINE_{service.upper()}_GRPC_ADDR"] = p.grpc_of(service)
            env[f"CREWLINE_{service.upper()}_METRICS_ADDR"] = f"127.0.0.1:{p.metrics + i}"
        return env

    @property
    def endpoints(self) -> Endpoints:
        g = self.ports.grpc_of
        return Endpoints(
            dispatcher=g("dispatcher"),
            matcher=g("matcher"),
            ledger=g("ledger"),
            quality=g("quality"),
        )

    def dsn(self, service: str) -> str:
        return f"postgresql://crewline@127.0.0.1:{self.ports.postgres}/crewline_{service}"

    @property
    def operator_credential(self) -> str:
        return (self.home / "secrets" / "operator.credential").read_text().strip()

    # --- the whole stack -------------------------------------------------------------

    def fresh(self) -> None:
        """Stopped, and its state gone (the Kafka jars it resolved are kept)."""
        self.down()
        self._script("postgres.sh", "purge")
        for path in ("kafka/data", "kafka/cluster.id", "run", "log", "secrets"):
            target = self.home / path
            if target.is_dir():
                shutil.rmtree(target)
            else:
                target.unlink(missing_ok=True)

    def up(self) -> None:
        """PostgreSQL, Kafka, key material, topics, then the services: ``make up``'s steps,
        without the Prometheus a run does not need."""
        python = str(ROOT / ".venv" / "bin" / "python")
        self._script("infra.sh", "up")
        self._run([python, "-m", "crewline.cli", "secrets", str(self.home / "secrets")])
        self._run([python, "-m", "crewline.cli", "topics"])
        self._script("services.sh", "up")

    def down(self) -> None:
        self._script("services.sh", "down", check=False)
        self._script("infra.sh", "down", check=False)

    # --- faults ----------------------------------------------------------------------

    async def processes(self) -> list[Process]:
        out = await self._async_run(["bash", str(LOCAL / "stack.sh"), "pids"])
        found = []
        for line in out.splitlines():
            part, number, pid, *_ = line.split()
            found.append(Process(part, int(number), int(pid)))
        return found

    async def restart(self, part: str, *, kill: bool = False) -> None:
        """``stack.sh restart PART [--kill]``: back, with the same settings, and healthy."""
        await self._async_run(
            ["bash", str(LOCAL / "stack.sh"), "restart", part, *(["--kill"] if kill else [])]
        )

    def connections(self, process: Process) -> int:
        """Connections established to the process's service port that it holds: callers
        stay on the process their connection reached, so a fault on an idle one hits no
        one. From /proc, as ``ss -tnp`` would tell."""
        port = int(self.ports.grpc_of(process.part).rsplit(":", 1)[1])
        try:
            sockets = {
                link.removeprefix("socket:[").rstrip("]")
                for fd in Path(f"/proc/{process.pid}/fd").iterdir()
                if (link := os.readlink(fd)).startswith("socket:[")
            }
        except (FileNotFoundError, ProcessLookupError):
            return 0
        held = 0
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            with contextlib.suppress(FileNotFoundError):
                for line in Path(table).read_text().splitlines()[1:]:
                    fields = line.split()
                    local_port = int(fields[1].rsplit(":", 1)[1], 16)
                    if local_port == port and fields[3] == "01" and fields[9] in sockets:
                        held += 1
        return held

    @staticmethod
    def signal(pid: int, sig: signal.Signals) -> None:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass  # gone already: the fault has nothing left to do

    # --- plumbing --------------------------------------------------------------------

    def _script(self, script: str, action: str, *, check: bool = True) -> None:
        self._run(["bash", str(LOCAL / script), action], check=check)

    @property
    def log_path(self) -> Path:
        """Where the scripts' own output goes (each part logs under ``home/log`` too)."""
        return self.home.parent / f"{self.home.name}-scripts.log"

    def _run(self, argv: list[str], *, check: bool = True) -> None:
        with self.log_path.open("ab") as log:
            done = subprocess.run(
                argv, cwd=ROOT, env=self.env, check=False, stdout=log, stderr=subprocess.STDOUT
            )
        if check and done.returncode != 0:  # the why is in the log, which a run's caller lacks
            tail = self.log_path.read_text(errors="replace").splitlines()[-40:]
            raise RuntimeError(
                f"{' '.join(argv[1:])} exited {done.returncode}; the last lines of "
                f"{self.log_path}:\n" + "\n".join(tail)
            )

    async def _async_run(self, argv: list[str]) -> str:
        with self.log_path.open("ab") as log:
            proc = await asyncio.create_subprocess_exec(
                *argv, cwd=ROOT, env=self.env, stdout=asyncio.subprocess.PIPE, stderr=log
            )
            try:  # bounded: a script that hangs must fail the run, not stall it
                out, _ = await asyncio.wait_for(proc.communicate(), timeout=SCRIPT_LIMIT)
            except TimeoutError:
                proc.kill()
                raise RuntimeError(
                    f"{' '.join(argv[1:])} still running after {SCRIPT_LIMIT} s"
                ) from None
        if proc.returncode != 0:
            raise RuntimeError(
                f"{' '.join(argv[1:])} exited {proc.returncode} (see {self.log_path})"
            )
        return out.decode()
