"""The alert rules are valid Prometheus rules, each proven to fire (and to stay silent on
healthy series) by its unit test, and they watch metrics the services really export.

promtool comes from Debian's 'prometheus' package, installed by deploy/local/promtool.sh
when missing (as postgres.sh installs PostgreSQL).
"""

from __future__ import annotations

import asyncio
import re
import subprocess
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import yaml
from prometheus_client import CollectorRegistry

from crewline import outbox
from crewline.events import TASKS_TOPIC
from crewline.health import WorkerHealth
from crewline.metrics import Metrics
from crewline.outbox import OutboxRelay
from crewline.settings import KafkaSettings
from crewline.timekeeping import FakeClock
from crewline.v1 import events_pb2
from ledger.adapters.metrics import LedgerMetrics
from matcher.adapters.metrics import ClaimMetrics
from matcher.adapters.offer_hub import RESYNC, HubMetrics, OfferHub
from quality.adapters.metrics import QualityMetrics

from stack import ROOT, eventually, free_port

RULES = ROOT / "deploy" / "prometheus"
SERVICES = ("dispatcher", "matcher", "ledger", "quality")
# What each sample of a metric family may be called, beyond the family's own name.
_SUFFIXES = {
    "counter": ("_total",),
    "histogram": ("_bucket", "_count", "_sum"),
    "summary": ("_count", "_sum"),
}


@pytest.fixture(scope="module")
def promtool() -> str:
    found = subprocess.run(
        ["bash", str(ROOT / "deploy" / "local" / "promtool.sh")],
        capture_output=True,
        text=True,
        check=True,
    )
    return found.stdout.strip().splitlines()[-1]


def run(promtool: str, *args: str, cwd: Path = RULES) -> str:
    done = subprocess.run([promtool, *args], cwd=cwd, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


def load(name: str) -> Any:
    return yaml.safe_load((RULES / name).read_text())


def alert_names() -> list[str]:
    return [r["alert"] for g in load("alerts.yml")["groups"] for r in g["rules"] if "alert" in r]


def test_the_rules_are_valid(promtool: str) -> None:
    assert "SUCCESS" in run(promtool, "check", "rules", "alerts.yml")


def test_each_alert_fires_in_its_unit_test(promtool: str) -> None:
    assert "SUCCESS" in run(promtool, "test", "rules", "alerts_test.yml")


def test_a_wrong_expectation_fails_so_the_unit_tests_can_fail(
    promtool: str, tmp_path: Path
) -> None:
    (tmp_path / "alerts.yml").write_text((RULES / "alerts.yml").read_text())
    broken = (RULES / "alerts_test.yml").read_text().replace("eval_time: 2m30s", "eval_time: 90s")
    (tmp_path / "alerts_test.yml").write_text(broken)
    done = subprocess.run(
        [promtool, "test", "rules", "alerts_test.yml"], cwd=tmp_path, capture_output=True
    )
    assert done.returncode != 0


def test_a_broken_threshold_fails_its_unit_test(promtool: str, tmp_path: Path) -> None:
    """The tests pin the thresholds: an outbox stale only after 10 minutes is caught."""
    rules = (RULES / "alerts.yml").read_text()
    assert rules.count('_outbox_oldest_unsent_age_seconds"}) > 60') == 1
    (tmp_path / "alerts.yml").write_text(
        rules.replace(
            '_outbox_oldest_unsent_age_seconds"}) > 60',
            '_outbox_oldest_unsent_age_seconds"}) > 600',
        )
    )
    (tmp_path / "alerts_test.yml").write_text((RULES / "alerts_test.yml").read_text())
    done = subprocess.run(
        [promtool, "test", "rules", "alerts_test.yml"], cwd=tmp_path, capture_output=True, text=True
    )
    assert done.returncode != 0
    assert "CrewlineOutboxStale" in done.stdout + done.stderr


def test_every_alert_has_a_test_where_it_fires_and_one_where_it_does_not() -> None:
    fires: set[str] = set()
    silent: set[str] = set()
    for group in load("alerts_test.yml")["tests"]:
        for case in group.get("alert_rule_test", []):
            (fires if case.get("exp_alerts") else silent).add(case["alertname"])
    names = alert_names()
    assert len(names) >= 7
    assert set(names) <= fires, set(names) - fires
    assert set(names) <= silent, set(names) - silent


def exported(service: str) -> set[str]:
    """Every sample name the service may export: the kernel's metrics, the matcher's
    claims and offer streams, the ledger's postings and books, and the quality service's
    reviews and scores."""
    metrics = Metrics.create(service)
    registry: CollectorRegistry = metrics.registry
    if service == "matcher":
        HubMetrics(registry, service)
        ClaimMetrics(registry, service)
    if service == "ledger":
        LedgerMetrics(registry, service)
    if service == "quality":
        QualityMetrics(registry, service)
    names: set[str] = set()
    for family in registry.collect():
        names.add(family.name)
        names.update(family.name + s for s in _SUFFIXES.get(family.type, ()))
    return names


def test_the_rules_watch_metrics_the_services_export() -> None:
    rules = (RULES / "alerts.yml").read_text()
    patterns = re.findall(r'__name__=~"([^"]+)"', rules)
    assert patterns
    by_service = {s: exported(s) for s in SERVICES}
    for pattern in patterns:
        having = [
            s for s, names in by_service.items() if any(re.fullmatch(pattern, n) for n in names)
        ]
        if "offer_stream" in pattern:
            assert having == ["matcher"], pattern
        else:  # a kernel metric: every service has it
            assert having == list(SERVICES), (pattern, having)


def test_the_rules_name_in_full_only_metrics_their_service_exports() -> None:
    """A metric named in full (one service's own, like the ledger's books) is exported
    by the service its prefix names."""
    exprs = [r["expr"] for g in load("alerts.yml")["groups"] for r in g["rules"]]
    named = {
        name
        for expr in exprs
        for name in re.findall(r"\bcrewline_[a-z0-9_]+", re.sub(r'__name__=~"[^"]+"', "", expr))
    }
    assert "crewline_ledger_books_balanced" in named
    for name in sorted(named):
        [service] = [s for s in SERVICES if name.startswith(f"crewline_{s}_")]
        assert name in exported(service), name


async def test_outbox_backlog_and_age_grow_while_kafka_is_away(pool: asyncpg.Pool) -> None:
    """What CrewlineOutboxBacklog and CrewlineOutboxStale watch: the relay measures the
    backlog even when it cannot reach Kafka (here: nothing listens on its port)."""
    metrics = Metrics.create("test")
    away = KafkaSettings(bootstrap_servers=f"127.0.0.1:{free_port()}")
    async with pool.acquire() as conn, conn.transaction():
        await outbox.enqueue(
            conn,
            topic=TASKS_TOPIC,
            key="t",
            payload=events_pb2.TaskPublished(task_id="t"),
            producer="test",
        )
    relay = OutboxRelay(
        pool=pool, kafka=away, metrics=metrics, client_id="test-relay", drain_timeout=0.1
    )
    task = asyncio.create_task(relay.run())

    def gauge(name: str) -> float:
        return metrics.registry.get_sample_value(f"crewline_test_outbox_{name}") or 0.0

    try:

        async def measured() -> bool:
            return gauge("backlog_events") == 1 and gauge("oldest_unsent_age_seconds") > 0

        await eventually(measured)
        first = gauge("oldest_unsent_age_seconds")

        async def older() -> bool:
            return gauge("oldest_unsent_age_seconds") > first

        await eventually(older)
        assert gauge("backlog_events") == 1
    finally:
        relay.stop()
        await task


async def test_offer_stream_gauges_measure_the_buffers_at_each_scrape(pool: asyncpg.Pool) -> None:
    """What CrewlineOfferStreamBacklog watches: queued messages, and the fullest buffer."""
    metrics = Metrics.create("test")
    hub = OfferHub(
        pool=pool,
        dsn="unused: the hub is not run",
        clock=FakeClock(),
        registry=metrics.registry,
        service="test",
        worker_health=WorkerHealth(metrics=metrics),
        buffer=4,
    )

    def gauge(name: str) -> float | None:
        return metrics.registry.get_sample_value(f"crewline_test_offer_stream_{name}")

    assert (gauge("queued_messages"), gauge("buffer_max_fill_ratio")) == (0, 0)
    slow, quick = hub.open("slow", None), hub.open("quick", None)
    for stream, queued in ((slow, 3), (quick, 1)):
        for _ in range(queued):
            stream.queue.put_nowait(RESYNC)
    assert (gauge("queued_messages"), gauge("buffer_max_fill_ratio")) == (4, 0.75)
    hub.close(slow)
    assert (gauge("queued_messages"), gauge("buffer_max_fill_ratio")) == (1, 0.25)
