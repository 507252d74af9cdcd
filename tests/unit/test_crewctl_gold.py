"""crewctl gold and quality policy: the gold file (each mistake naming its line and key,
nothing sent), its batches, what is sent and read back against stand-in servers, and
the policy's range."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from crewctl_file_data import client_crewctl
from crewctl_golden.harness import Crewctl
from grpc_standin import Echo

from crewline.ctl.errors import CtlError, ExitCode
from crewline.ctl.gold_file import GoldLine, batches, parse_gold_line, read_gold

ROOT = Path(__file__).resolve().parents[2]
crewctl = pytest.fixture(client_crewctl, name="crewctl")
LINE = {
    "key": "case-17",
    "payload": {"image": "a.png"},
    "answer": {"severity": "mild", "confidence": 0.8},
    "rules": {"severity": {"also_accepted": ["moderate"]}, "confidence": {"tolerance": 0.1}},
}


def text(**changes: Any) -> str:
    return json.dumps({**LINE, **changes})


def test_a_line_reads_its_key_payload_answer_and_rules() -> None:
    line = parse_gold_line(3, text())
    assert (line.number, line.key, line.payload) == (3, "case-17", '{"image":"a.png"}')
    assert line.answer == {"severity": "mild", "confidence": 0.8}
    assert (line.also_accepted, line.tolerance) == ({"severity": ["moderate"]}, {"confidence": 0.1})
    binary = parse_gold_line(
        1, json.dumps({"key": 19, "payload_base64": "AAEC", "answer": {"a": 1}})
    )
    assert (binary.key, binary.payload, binary.also_accepted) == ("19", b"\x00\x01\x02", {})


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("{", "not JSON"),
        ("[1]", "expected a JSON object"),
        (text(anwser={}), 'unknown field "anwser"'),
        (json.dumps({k: v for k, v in LINE.items() if k != "key"}), '"key" is required'),
        (text(key=True), '"key" must be text or a whole number'),
        (text(key=" "), '"key" is empty'),
        (text(key="k" * 129), '"key" is longer than 128 characters'),
        (json.dumps({k: v for k, v in LINE.items() if k != "payload"}), '"payload" is required'),
        (text(payload_base64="AAEC"), 'give "payload" or "payload_base64", not both'),
        (
            json.dumps({"key": "k", "payload_base64": "not base64!", "answer": {"a": 1}}),
            '"payload_base64" must be base64 text',
        ),
        (text(answer=["mild"]), '"answer" must be an object'),
        (text(answer={}), '"answer" must be an object'),
        (text(rules=[]), '"rules" must be an object'),
        (text(rules={"severity": ["moderate"]}), '"rules.severity" must be an object'),
        (text(rules={"severity": {"labels": []}}), 'unknown field "rules.severity.labels"'),
        (
            text(rules={"severity": {"also_accepted": "moderate"}}),
            '"rules.severity.also_accepted" must be a list of labels',
        ),
        (
            text(rules={"confidence": {"tolerance": "0.1"}}),
            '"rules.confidence.tolerance" must be a number, 0 or more',
        ),
        (
            text(rules={"confidence": {"tolerance": -1}}),
            '"rules.confidence.tolerance" must be a number, 0 or more',
        ),
    ],
)
def test_a_mistake_in_a_line_names_its_key(line: str, problem: str) -> None:
    with pytest.raises(ValueError) as err:
        parse_gold_line(1, line)
    assert problem in str(err.value)


def test_a_file_with_bad_lines_names_each_line_and_adds_nothing() -> None:
    source = io.StringIO("\n".join([text(), "", text(answer=7), text(), "nope"]))
    source.name = "gold.jsonl"
    with pytest.raises(CtlError) as err:
        read_gold(source)
    assert err.value.exit_code == ExitCode.USAGE
    assert err.value.message.startswith(
        'gold.jsonl: line 3: "answer" must be an object of the answer spec\'s fields;'
        " line 4: \"key\" 'case-17' is also on line 1; line 5: not JSON (Expecting value)."
    )
    assert "nothing was added" in err.value.message
    empty = io.StringIO("\n\n")
    empty.name = "<stdin>"
    with pytest.raises(CtlError, match="no gold tasks in it"):
        read_gold(empty)


def test_batches_keep_the_order_and_stop_at_a_count_or_a_size() -> None:
    lines = [GoldLine(n, f"k{n}", "x" * 100, {"a": 1}) for n in range(1, 6)]
    assert [[line.number for line in b] for b in batches(lines, 2, 10_000)] == [[1, 2], [3, 4], [5]]
    by_size = batches(lines, 1000, 250)
    assert [[line.number for line in b] for b in by_size] == [[1, 2], [3, 4], [5]]
    assert [len(b) for b in batches(lines[:1], 10, 1)] == [1]  # a large one goes alone


def test_the_example_gold_file_is_valid() -> None:
    with (ROOT / "examples" / "gold-triage.jsonl").open() as source:
        lines = read_gold(source)
    assert [line.key for line in lines] == ["triage-gold-1", "triage-gold-2", "triage-gold-3"]


def _added(request: dict[str, Any]) -> dict[str, Any]:
    return {
        "gold_tasks": [{**g, "gold_id": f"g-{g['idempotency_key']}"} for g in request["gold_tasks"]]
    }


def test_gold_add_sends_each_line_as_the_sdk_builds_it(crewctl: Crewctl) -> None:
    (crewctl.cwd / "gold.jsonl").write_text(text() + "\n" + text(key="case-18") + "\n")
    done = crewctl.json(
        "gold", "add", "--project", "p-1", "--file", "gold.jsonl", AddGoldTasks=Echo(_added)
    )
    assert (done["gold_tasks"], done["batches"], done["last_gold_id"]) == (2, 1, "g-case-18")
    [sent] = crewctl.requests("AddGoldTasks")
    assert sent["project_id"] == "p-1"
    first = sent["gold_tasks"][0]
    assert first["answer_json"] == '{"confidence":0.8,"severity":"mild"}'
    assert first["rules"] == [
        {"field": "confidence", "tolerance": 0.1},
        {"field": "severity", "also_accepted": ["moderate"]},
    ]
    assert crewctl.authorizations() == ["Bearer crwk_k1_client-secret"]


def test_gold_add_reads_stdin(crewctl: Crewctl) -> None:
    result = crewctl.run(
        "--json",
        "gold",
        "add",
        "--project",
        "p-1",
        "--file",
        "-",
        input=text(),
        AddGoldTasks=Echo(_added),
    )
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["first_gold_id"] == "g-case-17"


def test_the_policy_is_read_and_a_share_out_of_range_is_refused_before_any_call(
    crewctl: Crewctl,
) -> None:
    policy = {"policy": {"project_id": "p-1", "gold_share_percent": 5}}
    got = crewctl.json("quality", "policy", "get", "--project", "p-1", GetQualityPolicy=policy)
    assert got == {"project_id": "p-1", "gold_share_percent": 5}
    assert crewctl.requests("GetQualityPolicy") == [{"project_id": "p-1"}]
    for share in ("51", "-1"):
        refused = crewctl.run("quality", "policy", "set", "--project", "p-1", "--gold-share", share)
        assert refused.exit_code == ExitCode.USAGE and "--gold-share" in refused.stderr
        assert crewctl.requests() == []
    none = crewctl.json(
        "quality", "policy", "set", "--project", "p-1", "--gold-share", "0",
        SetQualityPolicy=Echo(lambda request: request),
    )  # fmt: skip
    assert none == {"project_id": "p-1", "gold_share_percent": 0}  # 0 is sent: no gold at all
    assert crewctl.requests("SetQualityPolicy") == [
        {"policy": {"project_id": "p-1", "gold_share_percent": 0}}
    ]
