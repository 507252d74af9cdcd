"""A real Prometheus, started by deploy/local/prometheus.sh (as `make up` starts it),
scrapes the e2e stack's three services and evaluates deploy/prometheus/alerts.yml.

It runs on a port and in a CREWLINE_HOME of its own, so it never touches the `make up`
stack's Prometheus; the fixture stops it and checks it is gone.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import urllib.parse
import urllib.request
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness import SERVICES, Stack
from stack import ROOT, RUN_ID, alive, eventually, free_port, run_script


@dataclass(frozen=True)
class Prometheus:
    url: str
    env: dict[str, str]
    home: Path

    def pid(self) -> int:
        return int((self.home / "run" / "prometheus.pid").read_text())

    async def api(self, path: str, **params: str) -> Any:
        query = f"?{urllib.parse.urlencode(params)}" if params else ""

        def get() -> Any:
            with urllib.request.urlopen(f"{self.url}/api/v1/{path}{query}", timeout=5) as r:
                return json.load(r)

        reply = await asyncio.to_thread(get)
        assert reply["status"] == "success", reply
        return reply["data"]


@pytest.fixture(scope="module")
async def prometheus(stack: Stack) -> AsyncIterator[Prometheus]:
    home = ROOT / ".local" / "test" / f"prometheus-{RUN_ID}"
    port = free_port()
    env = {
        **os.environ,
        "CREWLINE_HOME": str(home),
        "CREWLINE_PROMETHEUS_PORT": str(port),
        "CREWLINE_PROMETHEUS_SCRAPE_INTERVAL": "1s",
    }
    for name in SERVICES:
        netloc = urllib.parse.urlsplit(stack.services[name].metrics_url).netloc
        env[f"CREWLINE_{name.upper()}_METRICS_ADDR"] = netloc
    prom = Prometheus(f"http://127.0.0.1:{port}", env, home)
    try:
        code, out = await run_script("prometheus.sh", "up", env)
        assert code == 0, out
        yield prom
    finally:
        pid = prom.pid() if (home / "run" / "prometheus.pid").exists() else None
        code, out = await run_script("prometheus.sh", "down", env)
        assert code == 0, out
        if pid is not None:
            assert not alive(pid), f"prometheus (pid {pid}) still runs after down"
        code, out = await run_script("prometheus.sh", "status", env)
        assert code == 3 and "stopped" in out, out
        shutil.rmtree(home, ignore_errors=True)


async def test_prometheus_sees_crewline_series_from_each_service(prometheus: Prometheus) -> None:
    seen: dict[str, set[str]] = {}

    async def every_service_scraped() -> bool:
        names = await prometheus.api(
            "label/__name__/values", **{"match[]": '{__name__=~"crewline_.+"}'}
        )
        jobs = await prometheus.api("query", query='count by (job) ({__name__=~"crewline_.+"})')
        seen.clear()
        for sample in jobs["result"]:
            job = sample["metric"]["job"]
            seen[job] = {n for n in names if n.startswith(f"crewline_{job}_")}
        return set(seen) == set(SERVICES)

    await eventually(every_service_scraped)
    for name in SERVICES:  # each job is the service it claims to be
        assert {f"crewline_{name}_ready", f"crewline_{name}_dependency_up"} <= seen[name]

    # Every target up at once (polled: with a 1 s interval the scrape timeout is 1 s too,
    # and one slow /metrics page on a busy machine is a missed scrape, not a fault).
    async def all_up() -> bool:
        up = await prometheus.api("query", query="up")
        return {s["metric"]["job"]: s["value"][1] for s in up["result"]} == {
            n: "1" for n in SERVICES
        }

    await eventually(all_up)


async def test_the_services_report_ready_to_prometheus(prometheus: Prometheus) -> None:
    async def all_ready() -> bool:
        ready = await prometheus.api("query", query='{__name__=~"crewline_[a-z]+_ready"} == 1')
        return {s["metric"]["job"] for s in ready["result"]} == set(SERVICES)

    await eventually(all_ready)


async def test_prometheus_evaluates_every_alert_rule_without_errors(
    prometheus: Prometheus,
) -> None:
    rules_file = yaml.safe_load((ROOT / "deploy" / "prometheus" / "alerts.yml").read_text())
    wanted = {r["alert"] for g in rules_file["groups"] for r in g["rules"] if "alert" in r}
    loaded: dict[str, dict[str, Any]] = {}

    async def evaluated() -> bool:
        data = await prometheus.api("rules", type="alert")
        loaded.clear()
        loaded.update({r["name"]: r for g in data["groups"] for r in g["rules"]})
        # An evaluation after the first scrape of all three: rules saw real series.
        return set(loaded) == wanted and all(
            r["health"] != "unknown" and not r["lastEvaluation"].startswith("0001")
            for r in loaded.values()
        )

    await eventually(evaluated)
    errors = {n: r.get("lastError") for n, r in loaded.items() if r["health"] != "ok"}
    assert not errors, errors


async def test_up_again_keeps_the_running_prometheus(prometheus: Prometheus) -> None:
    before = prometheus.pid()
    code, out = await run_script("prometheus.sh", "up", prometheus.env)
    assert code == 0, out
    assert prometheus.pid() == before
    assert alive(before)
    code, out = await run_script("prometheus.sh", "status", prometheus.env)
    assert code == 0 and f"running on {prometheus.url} (pid {before}" in out, out
