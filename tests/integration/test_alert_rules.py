"""The alert rules are valid Prometheus rules, each proven to fire by its unit test, and
they watch metrics the services really export.

promtool comes from Debian's 'prometheus' package, installed by deploy/local/promtool.sh
when missing (as postgres.sh installs PostgreSQL).
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from prometheus_client import generate_latest

from crewline.metrics import Metrics

from stack import ROOT

RULES = ROOT / "deploy" / "prometheus"


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


def test_the_rules_watch_metrics_the_services_export() -> None:
    rules = (RULES / "alerts.yml").read_text()
    for pattern in re.findall(r'__name__=~"([^"]+)"', rules):
        for service in ("dispatcher", "matcher", "ledger"):
            exported = generate_latest(Metrics.create(service).registry).decode()
            names = re.findall(r"^# TYPE (\S+)", exported, flags=re.MULTILINE)
            assert any(re.fullmatch(pattern, n) for n in names), (pattern, service)
