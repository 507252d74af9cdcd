"""The SDK's gold tasks and quality policies: the gold task builder, requirements on a
measure in another project, and the client's quality calls (typed results, a page and
every page, async and blocking) against a stand-in quality service."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from grpc_standin import Echo, Refusal, StandIns

from crewline.client import (
    Client,
    Endpoints,
    GoldFieldRule,
    GoldTask,
    InvalidArgument,
    QualityPolicy,
    Requirement,
    gold_task,
    requirement,
    sync,
)
from crewline.v1 import project_pb2
from crewline.v1 import quality_service_pb2 as quality_api

ROOT = Path(__file__).resolve().parents[2]
KEY = "crwk_k_s"
GOLD = {
    "gold_id": "g-1",
    "project_id": "p-1",
    "idempotency_key": "case-17",
    "payload_json": '{"image":"a.png"}',
    "answer_json": '{"confidence":0.8,"severity":"mild"}',
    "rules": [{"field": "severity", "also_accepted": ["moderate"]}],
    "answered": 4,
    "correct": 3,
    "created_at": "2026-03-01T14:05:09Z",
}
LATER = {**GOLD, "gold_id": "g-2", "idempotency_key": "case-18", "answered": 0, "correct": 0}


def quality(servers: StandIns) -> Endpoints:
    return Endpoints(quality=servers.address("quality"))


def test_a_gold_task_carries_payload_key_and_rules_in_one_order() -> None:
    gold = gold_task(
        {"image": "a.png"},
        {"severity": "mild", "confidence": 0.8, "note": "é"},
        idempotency_key="case-17",
        tolerance={"confidence": 0.1},
        also_accepted={"severity": ["moderate"], "area": ("arm",)},
    )
    assert gold.idempotency_key == "case-17"
    assert gold.payload_json == '{"image":"a.png"}'
    assert gold.answer_json == '{"confidence":0.8,"note":"é","severity":"mild"}'
    assert [(r.field, list(r.also_accepted), r.tolerance) for r in gold.rules] == [
        ("area", ["arm"], 0.0),
        ("confidence", [], 0.1),
        ("severity", ["moderate"], 0.0),
    ]
    same = gold_task(
        {"image": "a.png"},
        {"note": "é", "confidence": 0.8, "severity": "mild"},
        idempotency_key="case-17",
        also_accepted={"area": ["arm"], "severity": ["moderate"]},
        tolerance={"confidence": 0.1},
    )
    assert same == gold  # the server compares a reused key's gold task by its content


def test_a_gold_task_takes_bytes_or_json_text_and_makes_a_key_when_given_none() -> None:
    raw = gold_task(b"\x00scan", '{"severity":"mild"}')
    text = gold_task('{"image": "a.png"}', {"severity": "mild"})
    assert raw.WhichOneof("payload") == "payload_bytes" and raw.payload_bytes == b"\x00scan"
    assert text.payload_json == '{"image": "a.png"}'  # JSON text goes as it is
    assert raw.answer_json == text.answer_json == '{"severity":"mild"}'
    assert raw.idempotency_key and raw.idempotency_key != text.idempotency_key
    assert list(raw.rules) == []


@pytest.mark.parametrize(
    ("answer", "rules", "error"),
    [
        ({"confidence": math.nan}, {}, ValueError),
        ({"severity": "mild"}, {"also_accepted": {"severity": "moderate"}}, TypeError),
        ({"confidence": 1}, {"tolerance": {"confidence": "0.1"}}, TypeError),
        ({"confidence": 1}, {"tolerance": {"confidence": True}}, TypeError),
    ],
)
def test_a_gold_task_refuses_what_would_be_misread(
    answer: dict[str, Any], rules: dict[str, Any], error: type[Exception]
) -> None:
    with pytest.raises(error):
        gold_task({"image": "a.png"}, answer, **rules)


def test_a_requirement_names_the_project_its_measure_is_measured_in() -> None:
    sent = requirement(
        "quality.acceptance_rate",
        project_pb2.COMPARATOR_GREATER_OR_EQUAL,
        scores=[60],
        project_id="p-training",
    )
    assert sent.project_id == "p-training"
    assert requirement("domain.derm").project_id == ""
    read = Requirement.from_pb(sent)
    assert read.project_id == "p-training"
    assert str(read) == "quality.acceptance_rate GREATER_OR_EQUAL 60 in p-training"
    assert str(Requirement.from_pb(requirement("domain.derm"))) == "domain.derm EXISTS"


def test_a_gold_task_reads_typed_and_its_rules_go_back_as_they_came() -> None:
    message = quality_api.GoldTask(
        gold_id="g-1",
        idempotency_key="case-17",
        project_id="p-1",
        payload_bytes=b"scan",
        answer_json='{"severity":"mild"}',
        rules=[quality_api.GoldFieldRule(field="confidence", tolerance=0.05)],
        answered=4,
        correct=3,
    )
    gold = GoldTask.from_pb(message)
    assert gold.payload == b"scan" and gold.answer == {"severity": "mild"}
    assert gold.rules == (GoldFieldRule(field="confidence", tolerance=0.05),)
    assert gold.rules[0].to_pb() == message.rules[0]
    assert gold.created_at is None and gold.raw is message
    assert str(gold) == "gold g-1 (case-17) in p-1: 3 of 4 answered correctly, added -"
    assert str(gold.rules[0]) == "confidence: within 0.05"
    assert GoldTask.from_pb(quality_api.GoldTask()).answer is None


async def test_gold_tasks_are_added_in_order_and_come_back_typed(servers: StandIns) -> None:
    def echo(request: dict[str, Any]) -> dict[str, Any]:
        made = [
            {**g, "gold_id": f"g-{i}", "answered": 0} for i, g in enumerate(request["gold_tasks"])
        ]
        return {"gold_tasks": made}

    servers.play({"AddGoldTasks": [Echo(echo)]})
    golds = [
        gold_task({"image": "a.png"}, {"severity": "mild"}, idempotency_key="case-17"),
        gold_task(
            b"scan", {"confidence": 0.8}, idempotency_key="case-18", tolerance={"confidence": 0.1}
        ),
    ]
    async with Client(credential=KEY, endpoints=quality(servers), env={}) as client:
        added = await client.add_gold_tasks("p-1", golds)

    assert [(g.gold_id, g.idempotency_key) for g in added] == [
        ("g-0", "case-17"),
        ("g-1", "case-18"),
    ]
    assert added[1].rules == (GoldFieldRule(field="confidence", tolerance=0.1),)
    assert added[1].payload == b"scan"
    [received] = servers.received
    assert (received.server, received.authorization) == ("quality", f"Bearer {KEY}")
    assert received.method == "crewline.v1.QualityService/AddGoldTasks"
    assert received.request["project_id"] == "p-1"
    assert json.loads(received.request["gold_tasks"][1]["answer_json"]) == {"confidence": 0.8}


async def test_a_projects_gold_tasks_come_a_page_and_every_page(servers: StandIns) -> None:
    pages = {
        "ListGoldTasks": [{"gold_tasks": [GOLD], "next_page_token": "t2"}, {"gold_tasks": [LATER]}]
    }
    servers.play(pages)
    async with Client(credential=KEY, endpoints=quality(servers), env={}) as client:
        page = await client.list_gold_tasks_page("p-1", page_size=1)
        servers.play(pages)
        every = [g async for g in client.gold_tasks("p-1", page_size=1)]

    [first] = page.items
    assert (first.gold_id, first.answered, first.correct, page.next_page_token) == (
        "g-1",
        4,
        3,
        "t2",
    )
    assert first.rules == (GoldFieldRule(field="severity", also_accepted=("moderate",)),)
    assert first.answer == {"confidence": 0.8, "severity": "mild"}
    assert [g.gold_id for g in every] == ["g-1", "g-2"]
    assert [r.request for r in servers.received] == [
        {"project_id": "p-1", "page_size": 1},
        {"project_id": "p-1", "page_size": 1, "page_token": "t2"},
    ]


def test_the_quality_policy_is_read_and_set_blocking_too(servers: StandIns) -> None:
    servers.play(
        {
            "GetQualityPolicy": [{"policy": {"project_id": "p-1", "gold_share_percent": 5}}],
            "SetQualityPolicy": [
                Echo(lambda request: {"policy": {"gold_share_percent": 5, **request["policy"]}})
            ],
            "ListGoldTasks": [{"gold_tasks": [GOLD]}],
            "AddGoldTasks": [{"gold_tasks": [GOLD]}],
        }
    )
    with sync.Client(credential=KEY, endpoints=quality(servers), env={}) as client:
        policy = client.quality_policy("p-1")
        none = client.set_quality_policy("p-1", gold_share_percent=0)
        kept = client.set_quality_policy("p-1")
        [listed] = client.gold_tasks("p-1")
        assert client.list_gold_tasks_page("p-1").items == (listed,)
        assert client.add_gold_tasks("p-1", [gold_task("{}", {"severity": "mild"})]) == [listed]

    assert policy == QualityPolicy(project_id="p-1", gold_share_percent=5)
    assert str(policy) == "quality policy of p-1: gold share 5%"
    assert none.gold_share_percent == 0  # none at all, told apart from unset
    assert kept.gold_share_percent == 5
    sets = [r.request for r in servers.received if r.method.endswith("/SetQualityPolicy")]
    assert sets == [
        {"policy": {"project_id": "p-1", "gold_share_percent": 0}},
        {"policy": {"project_id": "p-1"}},
    ]
    assert QualityPolicy.from_pb(quality_api.QualityPolicy()).gold_share_percent is None


def test_a_refused_gold_task_names_the_quality_service_and_the_field(servers: StandIns) -> None:
    refused = Refusal(
        "INVALID_ARGUMENT",
        "does not fit the answer spec",
        "INVALID_ARGUMENT",
        {"field": "gold_tasks[0].answer_json.severity"},
    )
    servers.play({"AddGoldTasks": [refused]})
    with sync.Client(credential=KEY, endpoints=quality(servers), env={}) as client:
        with pytest.raises(InvalidArgument) as err:
            client.add_gold_tasks("p-1", [gold_task("{}", {"severity": "grave"})])
    assert (err.value.service, err.value.address) == ("quality", servers.address("quality"))
    assert err.value.field == "gold_tasks[0].answer_json.severity"


def test_the_docs_example_adds_gold_sets_the_share_and_requires_gold_accuracy(
    servers: StandIns,
) -> None:
    """examples/sdk_gold.py, run as a reader runs it, against stand-in servers."""
    rule = {
        "qualification": "quality.gold_accuracy",
        "comparator": "COMPARATOR_GREATER_OR_EQUAL",
        "scores": [80],
        "project_id": "p-1",
    }
    servers.play(
        {
            "AddGoldTasks": [
                Echo(lambda request: {"gold_tasks": request["gold_tasks"]}),
            ],
            "SetQualityPolicy": [Echo(lambda request: request)],
            "ListGoldTasks": [{"gold_tasks": [GOLD, LATER]}],
            "CreateProject": [{"project": {"project_id": "p-2", "requirements": [rule]}}],
        }
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("CREWLINE_")}
    env.update(
        CREWLINE_DISPATCHER_GRPC_ADDR=servers.address("dispatcher"),
        CREWLINE_QUALITY_GRPC_ADDR=servers.address("quality"),
        CREWLINE_CREDENTIAL=KEY,
    )
    run = subprocess.run(
        [sys.executable, "examples/sdk_gold.py", "p-1"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines() == [
        "2 gold tasks in p-1",
        "quality policy of p-1: gold share 10%",
        "case-17: 3 of 4 answered correctly",
        "case-18: 0 of 0 answered correctly",
        "project p-2 requires quality.gold_accuracy GREATER_OR_EQUAL 80 in p-1",
    ]
    sent = {r.method.rsplit("/", 1)[1]: r.request for r in servers.received}
    first, second = sent["AddGoldTasks"]["gold_tasks"]
    assert first["answer_json"] == '{"confidence":0.9,"severity":"refer"}'
    assert first["rules"] == [{"field": "confidence", "tolerance": 0.15}]
    assert second["rules"] == [{"field": "severity", "also_accepted": ["benign"]}]
    assert sent["SetQualityPolicy"] == {"policy": {"project_id": "p-1", "gold_share_percent": 10}}
    assert sent["CreateProject"]["requirements"] == [rule]
