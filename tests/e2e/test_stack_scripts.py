"""deploy/local/services.sh, as `make up` / `make down` use it, on the test instance."""

from __future__ import annotations

import os
from pathlib import Path

from harness import SERVICES, service_env
from stack import (
    ROOT,
    RUN_ID,
    alive,
    create_topics,
    fresh_database,
    kafka_settings,
    run_script,
    start_infra,
)


async def services_sh(action: str, env: dict[str, str]) -> str:
    code, out = await run_script("services.sh", action, env, timeout=120)
    assert code == 0, out
    return out


def pid_files(home: Path) -> dict[str, int]:
    return {n: int((home / "run" / f"{n}.pid").read_text()) for n in SERVICES}


def command_line(pid: int) -> str:
    return Path(f"/proc/{pid}/cmdline").read_text().replace("\x00", " ")


def stopped_cleanly(home: Path, name: str) -> bool:
    return '"event": "service_stopped"' in (home / "log" / f"{name}.log").read_text()


async def test_up_starts_healthy_services_and_down_sigterms_those_very_processes() -> None:
    start_infra()
    kafka = kafka_settings("scripts")
    await create_topics(kafka)
    home = ROOT / ".local" / "test" / f"scripts-{RUN_ID}"
    env = {**os.environ, "CREWLINE_HOME": str(home)}
    for name in SERVICES:
        db = await fresh_database(f"scripts_{name}")
        service, _, _ = service_env(name, kafka.namespace, db.database)
        env.update({k: v for k, v in service.items() if k.startswith("CREWLINE_")})

    try:
        up = await services_sh("up", env)
        assert up.count("SERVING") == 3
        pids = pid_files(home)
        for name, pid in pids.items():  # the pid file names the service itself, not a wrapper
            assert command_line(pid).endswith(f" -m {name} ")

        again = await services_sh("up", env)  # idempotent: nothing started twice
        assert "starting" not in again and again.count("SERVING") == 3
        assert pid_files(home) == pids
    finally:
        await services_sh("down", env)
    assert not any(alive(pid) for pid in pids.values())
    assert all(stopped_cleanly(home, n) for n in SERVICES)  # drained by SIGTERM, not killed
