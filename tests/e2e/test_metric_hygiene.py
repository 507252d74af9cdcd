"""Every service's /metrics follows the metric conventions (docs/style.md, "Metrics"):
one prefix per service, base units, ``_total`` on counters, and labels only from small
fixed sets, never an id. It reads the real pages after a little traffic through all
the services, so the labelled series exist."""

from __future__ import annotations

import asyncio
import re
import urllib.request
import uuid
from collections import defaultdict

import pytest
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families

from flow import (
    claim,
    contractor_sdk,
    eventually,
    refused,
    submit_task,
    submit_work,
    unique,
    wait_balance,
    wait_offered,
)
from harness import SERVICES, Stack

# A label whose value is one of a few dozen at most; more means something unbounded.
MAX_VALUES_PER_LABEL = 50
# Units other than the base ones (seconds, bytes), and ratios in percent.
_NOT_BASE_UNITS = {
    "ms", "millis", "milliseconds", "us", "micros", "microseconds", "ns", "nanoseconds",
    "minutes", "hours", "days", "kb", "mb", "gb", "kib", "mib", "gib", "kilobytes",
    "megabytes", "gigabytes", "percent", "pct",
}  # fmt: skip
# Words that make a metric a time: its name must then end in seconds.
_TIME_WORDS = {"duration", "latency", "lateness", "age", "elapsed", "delay", "uptime", "time"}
# What a histogram or summary may measure.
_OBSERVED_UNITS = ("_seconds", "_bytes", "_ratio", "_messages", "_events", "_rows", "_records")
_UUID = re.compile(r"[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}", re.I)
_ULID = re.compile(r"[0-9A-HJKMNP-TV-Z]{26}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[a-z]{2,}", re.I)
_HEX_ID = re.compile(r"(?=.*[0-9])[0-9a-f]{8,}", re.I)  # 8+ hex digits, some of them digits
_NUMBER = re.compile(r"[0-9]{4,}")
# Labels whose values are numbers by design, with their bound.
_NUMERIC_LABELS = {"partition": 10_000}
_SPECIAL_LABELS = {"le", "quantile"}  # the client library's own


def looks_like_an_id(value: str) -> bool:
    if _UUID.search(value) or _EMAIL.fullmatch(value):
        return True
    tokens = [t for t in re.split(r"[.:/_\-@ ,;=+]+", value) if t]
    return any(_ULID.fullmatch(t) or _HEX_ID.fullmatch(t) or _NUMBER.fullmatch(t) for t in tokens)


def name_problems(family: Metric, prefix: str) -> list[str]:
    name, kind = family.name, family.type
    problems = []
    if not name.startswith(prefix):
        problems.append(f"{name}: not named {prefix}...")
    words = set(name.removeprefix(prefix).split("_"))
    if words & _NOT_BASE_UNITS:
        problems.append(f"{name}: not in base units ({', '.join(sorted(words & _NOT_BASE_UNITS))})")
    if words & _TIME_WORDS and not name.endswith("_seconds"):
        problems.append(f"{name}: a time that is not in _seconds")
    if kind == "counter":
        odd = {s.name for s in family.samples if not s.name.endswith("_total")}
        if odd:
            problems.append(f"{name}: counter samples without _total: {sorted(odd)}")
    elif name.endswith(("_total", "_count", "_sum", "_bucket", "_created")):
        problems.append(f"{name}: a {kind} named like a counter or a histogram's part")
    if kind in ("histogram", "summary") and not name.endswith(_OBSERVED_UNITS):
        problems.append(f"{name}: a {kind} without a unit ({', '.join(_OBSERVED_UNITS)})")
    if kind not in ("counter", "gauge", "histogram", "summary"):
        problems.append(f"{name}: unexpected type {kind}")
    return problems


def label_problems(family: Metric) -> list[str]:
    problems = []
    values: dict[str, set[str]] = defaultdict(set)
    for sample in family.samples:
        for label, value in sample.labels.items():
            values[label].add(value)
    for label, seen in sorted(values.items()):
        if label in _SPECIAL_LABELS:
            continue
        if label == "id" or label.endswith("_id") or label in ("email", "principal", "user"):
            problems.append(f"{family.name}: label {label} names an identity")
        if len(seen) > MAX_VALUES_PER_LABEL:
            problems.append(f"{family.name}: label {label} has {len(seen)} values")
        for value in sorted(seen):
            if label in _NUMERIC_LABELS:
                if not (value.isdigit() and int(value) < _NUMERIC_LABELS[label]):
                    problems.append(f"{family.name}: {label}={value!r} is not a small number")
            elif looks_like_an_id(value):
                problems.append(f"{family.name}: {label}={value!r} looks like an id")
    return problems


def problems_of(text: str, service: str) -> list[str]:
    problems = []
    for family in text_string_to_metric_families(text):
        problems += name_problems(family, f"crewline_{service}_")
        problems += label_problems(family)
    return problems


def fetch(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as page:
        return str(page.read().decode())


async def drive_traffic(stack: Stack) -> None:
    """A task through all the services (submitted, offered, claimed, worked, accepted,
    paid, scored), and a few refusals, so the labelled series (methods, codes, topics,
    event types, deadline kinds) exist."""
    worker = unique("hygiene")
    task = await submit_task(stack, amount=700)
    await wait_offered(stack, task.task_id)
    granted = await claim(stack, worker, task.task_id)
    await refused(claim(stack, worker, str(uuid.uuid4())))  # NOT_FOUND, keyed by a uuid
    await submit_work(stack, worker, granted.claim_id)
    await wait_balance(stack, f"contractor:{worker}", 700)
    scores = await contractor_sdk(stack, worker)

    async def scored() -> bool:
        return [s.reviewed async for s in scores.my_scores()] == [1]

    await eventually(scored)


@pytest.fixture(scope="module")
async def pages(stack: Stack) -> dict[str, str]:
    await drive_traffic(stack)
    return {n: await asyncio.to_thread(fetch, stack.services[n].metrics_url) for n in SERVICES}


@pytest.mark.parametrize("name", SERVICES)
async def test_metrics_follow_the_naming_and_label_rules(pages: dict[str, str], name: str) -> None:
    assert problems_of(pages[name], name) == []


@pytest.mark.parametrize("name", SERVICES)
async def test_the_traffic_made_labelled_series_to_check(pages: dict[str, str], name: str) -> None:
    """So the rules above were tried on real label values, not on an empty page."""
    families = {f.name: f for f in text_string_to_metric_families(pages[name])}
    rpcs = families[f"crewline_{name}_rpc_requests"]
    codes = {s.labels["code"] for s in rpcs.samples}
    assert "OK" in codes, codes
    consumed = families[f"crewline_{name}_events_consumed"]
    assert {s.labels["outcome"] for s in consumed.samples} >= {"applied"}
    if name == "matcher":
        assert "NOT_FOUND" in codes, codes
        assert "crewline_matcher_claims" in families
    if name == "ledger":
        assert "crewline_ledger_postings" in families
        assert "crewline_ledger_books_balanced" in families
    if name == "quality":
        reviews = families["crewline_quality_reviews"]
        assert {s.labels["kind"]: s.value for s in reviews.samples}["accepted"] >= 1


def test_the_rules_catch_ids_units_and_misnamed_counters() -> None:
    """The checker itself, on a page that breaks every rule once."""
    bad = "\n".join(
        [
            "# TYPE crewline_x_claims_total counter",
            'crewline_x_claims_total{task="7d0b8e4c-5c1e-4f8a-9b4e-2f1d3c5a6b7e"} 1',
            'crewline_x_claims_total{task="01ARZ3NDEKTSV4RRFFQ69G5FAV"} 1',
            'crewline_x_claims_total{task="e3b0c44298fc1c14"} 1',
            'crewline_x_claims_total{task="contractor:dr-lee@example.org"} 1',
            'crewline_x_claims_total{task="123456"} 1',
            "# TYPE crewline_x_lag_messages gauge",
            'crewline_x_lag_messages{partition="p1"} 1',
            "# TYPE crewline_x_requests_total gauge",
            "crewline_x_requests_total 3",
            "# TYPE crewline_x_request_latency_ms histogram",
            'crewline_x_request_latency_ms_bucket{le="+Inf"} 1',
            "crewline_x_request_latency_ms_count 1",
            "crewline_x_request_latency_ms_sum 1",
            "# TYPE crewline_x_tasks gauge",
            'crewline_x_tasks{task_id="a"} 1',
            "# TYPE other_thing gauge",
            "other_thing 1",
        ]
    )
    found = "\n".join(problems_of(bad + "\n", "x"))
    for value in (
        "7d0b8e4c-5c1e-4f8a-9b4e-2f1d3c5a6b7e",
        "01ARZ3NDEKTSV4RRFFQ69G5FAV",
        "e3b0c44298fc1c14",
        "contractor:dr-lee@example.org",
        "'123456'",
        "partition='p1'",
        "crewline_x_requests_total: a gauge named like a counter",
        "crewline_x_request_latency_ms: not in base units",
        "crewline_x_request_latency_ms: a time that is not in _seconds",
        "crewline_x_request_latency_ms: a histogram without a unit",
        "label task_id names an identity",
        "other_thing: not named crewline_x_",
    ):
        assert value in found, (value, found)
    good = "\n".join(
        [
            "# TYPE crewline_x_rpc_requests_total counter",
            'crewline_x_rpc_requests_total{method="ClaimTask",code="OK"} 1',
            "# TYPE crewline_x_consumer_lag_messages gauge",
            'crewline_x_consumer_lag_messages{topic="t3fa9b2c1.e2e.crewline.tasks.v1",'
            'partition="2"} 0',
            "# TYPE crewline_x_rpc_duration_seconds histogram",
            'crewline_x_rpc_duration_seconds_bucket{method="ClaimTask",le="+Inf"} 1',
            'crewline_x_rpc_duration_seconds_count{method="ClaimTask"} 1',
            'crewline_x_rpc_duration_seconds_sum{method="ClaimTask"} 0.1',
        ]
    )
    assert problems_of(good + "\n", "x") == []
