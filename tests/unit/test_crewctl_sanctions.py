"""crewctl's quality rules, sanctions and appeals: the rules file (what crewctl refuses
before any call, naming the field, and what it leaves to the quality service), what
each command sends as each audience and reads back, and what it refuses before a call,
against stand-in servers."""

from __future__ import annotations

import io
import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from crewctl_golden.harness import Crewctl
from crewctl_golden.sanction_cases import APPEAL, NOTICE, RULE, SANCTION, UPHELD
from grpc_standin import Echo, Refusal, StandIns

from crewline.client.results import AppealState, QualityRule, RuleAction, RuleMeasure, SanctionState
from crewline.ctl.errors import CtlError, ExitCode
from crewline.ctl.records import sanctions as records
from crewline.ctl.rules_file import load_rules, parse_rule

ROOT = Path(__file__).resolve().parents[2]
POLICY = {"policy": {"project_id": "p-1", "gold_share_percent": 5, "rules": [RULE, NOTICE]}}


@pytest.fixture
def as_contractor(servers: StandIns, tmp_path: Path) -> Crewctl:
    return Crewctl(servers, caller="contractor", cwd=tmp_path)


def source(text: str, name: str = "rules.yaml") -> io.StringIO:
    found = io.StringIO(text)
    found.name = name
    return found


def test_crewctls_words_are_the_sdks_enums() -> None:
    for words, enum in (
        (records.MEASURES, RuleMeasure),
        (records.ACTIONS, RuleAction),
        (records.SANCTION_STATES, SanctionState),
        (records.APPEAL_STATES, AppealState),
    ):
        assert list(words) == [member.value.lower() for member in enum]


def test_the_example_rules_file_reads_as_typed_rules() -> None:
    with (ROOT / "examples" / "quality-rules.yaml").open() as given:
        rules = load_rules(given, "p-1")
    assert rules[0] == QualityRule(
        rule_id="low-gold",
        measure=RuleMeasure.GOLD_ACCURACY,
        below=70,
        min_sample=10,
        action=RuleAction.SUSPEND,
        duration=timedelta(days=3),
    )
    assert [(r.rule_id, r.duration) for r in rules[1:]] == [
        ("many-rejections", timedelta(hours=36)),
        ("fast-hands", None),
    ]
    assert rules[2].above == 30 and rules[2].below is None


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ([], "rules[4]: must be an object"),
        ({"rule_id": "r", "min-sample": 3}, 'rules[4]: unknown field "min-sample"'),
        ({"below": 1, "above": 2}, "rules[4]: give below or above, not both"),
        ({"rule_id": 7}, "rules[4].rule_id: must be text"),
        ({"measure": "gold"}, "rules[4].measure: 'gold' is not one of gold_accuracy,"),
        ({"action": "ban"}, "rules[4].action: 'ban' is not one of suspend, review_all, notify"),
        ({"below": "50"}, "rules[4].below: must be a whole number, not '50'"),
        ({"above": True}, "rules[4].above: must be a whole number"),
        ({"min_sample": 2**31}, "rules[4].min_sample: must be a whole number"),
        ({"duration": "2 weeks"}, "rules[4].duration: '2 weeks' is not a duration"),
        ({"duration": 1.5}, "rules[4].duration: give seconds or e.g. 90m"),
    ],
)
def test_what_crewctl_cannot_send_is_named_by_its_field(entry: Any, problem: str) -> None:
    with pytest.raises(ValueError) as err:
        parse_rule(entry, "rules[4]")
    assert str(err.value).startswith(problem)


def test_what_the_service_judges_is_sent_as_written() -> None:
    rule = parse_rule(
        {"rule_id": "", "measure": "Acceptance-Rate", "below": 500, "min_sample": 0,
         "duration": "400d"},
        "rules[0]",
    )  # fmt: skip
    assert (rule.measure, rule.below, rule.min_sample, rule.action) == (
        RuleMeasure.ACCEPTANCE_RATE,
        500,
        0,
        None,
    )
    assert rule.duration == timedelta(days=400)  # out of the service's range: it says so


def test_a_file_is_a_list_or_the_object_rules_get_prints() -> None:
    assert load_rules(source(""), "p-1") == []
    assert load_rules(source("[]", "rules.json"), "p-1") == []
    printed = json.dumps({"project_id": "p-1", "rules": [records.rule_record(_rule_pb())]})
    [rule] = load_rules(source(printed, "rules.json"), "p-1")
    assert rule.to_pb() == _rule_pb()
    for text, problem in (
        (printed, "project_id p-1 is not --project p-2"),
        ("rule_id: x", "expected a list of rules"),
        ("[", "not YAML or JSON"),
    ):
        with pytest.raises(CtlError, match=re.escape(problem)) as err:
            load_rules(source(text), "p-2")
        assert err.value.exit_code == ExitCode.USAGE


def test_every_mistake_of_a_file_is_named_and_nothing_is_sent(as_client: Crewctl) -> None:
    (as_client.cwd / "rules.yaml").write_text(
        "- {rule_id: a, below: x}\n- {rule_id: b, measure: speed}\n- {rule_id: c, below: 1}\n"
    )
    result = as_client.run("quality", "rules", "set", "--project", "p-1", "-f", "rules.yaml")
    assert result.exit_code == ExitCode.USAGE
    assert "rules[0].below: must be a whole number" in result.stderr
    assert "rules[1].measure: 'speed' is not one of" in result.stderr
    assert "rules[2]" not in result.stderr and "no rule was set" in result.stderr
    assert as_client.requests() == []


def _rule_pb() -> Any:
    from crewline.v1 import quality_service_pb2 as quality_api

    message = quality_api.QualityRule(
        rule_id="low-gold",
        measure=quality_api.RULE_MEASURE_GOLD_ACCURACY,
        below=70,
        min_sample=10,
        action=quality_api.RULE_ACTION_SUSPEND,
    )
    message.duration.FromSeconds(259_200)
    return message


def test_rules_read_back_set_again_send_the_same_rules_by_the_mask(as_client: Crewctl) -> None:
    read = as_client.json("quality", "rules", "get", "--project", "p-1", GetQualityPolicy=POLICY)
    assert read["rules"][0] == {
        "rule_id": "low-gold",
        "measure": "gold_accuracy",
        "below": 70,
        "above": None,
        "min_sample": 10,
        "action": "suspend",
        "duration": "3d",
    }
    assert read["rules"][1]["above"] == 30 and read["rules"][1]["duration"] is None
    (as_client.cwd / "rules.json").write_text(json.dumps(read))
    again = as_client.json(
        "quality", "rules", "set", "--project", "p-1", "--file", "rules.json",
        SetQualityPolicy=Echo(lambda request: {"policy": request["policy"]}),
    )  # fmt: skip
    assert again == read
    assert as_client.requests("SetQualityPolicy") == [
        {"policy": {"project_id": "p-1", "rules": [RULE, NOTICE]}, "update_mask": "rules"}
    ]  # no gold share: the mask leaves it as it is


def test_an_empty_list_removes_every_rule(as_client: Crewctl) -> None:
    got = as_client.run(
        "quality", "rules", "set", "--project", "p-1", "-f", "-",
        input="[]\n",
        SetQualityPolicy=Echo(lambda request: {"policy": request["policy"]}),
    )  # fmt: skip
    assert got.exit_code == 0, got.stderr
    assert "(none)" in got.stdout
    assert as_client.requests() == [{"policy": {"project_id": "p-1"}, "update_mask": "rules"}]


def test_a_contractor_reads_their_own_sanctions_with_readable_evidence(
    as_contractor: Crewctl,
) -> None:
    page = as_contractor.json(
        "sanctions", "--project", "p-1", ListMySanctions={"sanctions": [SANCTION]}
    )
    assert as_contractor.requests() == [{"project_id": "p-1"}]
    [sanction] = page["sanctions"]
    assert (sanction["state"], sanction["rule"]["rule_id"], sanction["measured_value"]) == (
        "active",
        "low-gold",
        56,
    )
    gold, review, flag = sanction["evidence"]
    assert gold["kind"] == "gold" and gold["review"] is None and gold["flag"] is None
    assert gold["gold"] == {
        "correct": False,
        "answer": {"severity": "severe"},
        "expected": {"severity": "mild"},
        "payload": {"image": "cases/17.png"},
        "payload_text": None,
        "payload_base64": None,
    }
    assert review["review"] == {"accepted": False, "feedback": "the lesion is missed"}
    assert flag["flag"] == {"flagged": True}
    table = as_contractor.run("sanctions", ListMySanctions={"sanctions": [SANCTION]}).stdout
    assert 'gold, wrong: answered {"severity":"severe"}, expected {"severity":"mild"}' in table
    assert "review, rejected: the lesion is missed" in table and "time flagged" in table


def test_a_client_filters_by_contractor_and_state_and_must_name_a_project(
    as_client: Crewctl,
) -> None:
    as_client.json(
        "sanctions", "--project", "p-1", "--contractor", "dr-lee", "--state", "lifted",
        ListSanctions={"sanctions": []},
    )  # fmt: skip
    assert as_client.requests("ListSanctions") == [
        {"project_id": "p-1", "contractor_id": "dr-lee", "state": "SANCTION_STATE_LIFTED"}
    ]
    for command in ("sanctions", "appeals"):
        refused = as_client.run(command)
        assert refused.exit_code == ExitCode.USAGE and "--project" in refused.stderr
        assert as_client.requests() == []


def test_an_operator_reads_any_and_decides(as_operator: Crewctl) -> None:
    page = as_operator.json("appeals", "--state", "pending", ListAppeals={"appeals": [APPEAL]})
    assert page["appeals"][0]["sanction_id"] == SANCTION["sanction_id"]
    assert page["appeals"][0]["submission_id"] is None
    assert as_operator.requests() == [{"state": "APPEAL_STATE_PENDING"}]
    denied = as_operator.json(
        "appeal", "decide", "a-1", "--deny", "--note", "no",
        DecideAppeal={"appeal": {**APPEAL, "state": "APPEAL_STATE_DENIED"}},
    )  # fmt: skip
    assert denied["state"] == "denied"
    assert as_operator.requests() == [{"appeal_id": "a-1", "note": "no"}]  # uphold: false
    assert as_operator.authorizations() == ["Bearer crwo_golden-operator"]


def test_a_client_upholds_and_a_contractor_is_refused_before_any_call(
    as_client: Crewctl, as_contractor: Crewctl
) -> None:
    upheld = as_client.json("appeal", "decide", "a-2", "--uphold", DecideAppeal={"appeal": UPHELD})
    assert upheld["accepted_submission_ids"] == [UPHELD["submission_id"]]
    assert upheld["decided_by"] == "client"
    assert as_client.requests() == [{"appeal_id": "a-2", "uphold": True}]
    refused = as_contractor.run("appeal", "decide", "a-2", "--uphold")
    assert refused.exit_code == ExitCode.CREDENTIAL
    assert "a contractor cannot decide appeals" in refused.stderr
    assert as_contractor.requests() == []


def test_an_appeal_is_filed_with_a_key_made_or_given_and_retried_with_it(
    as_contractor: Crewctl,
) -> None:
    filed = Echo(
        lambda request: {
            "appeal": {**APPEAL, "text": request["text"], "sanction_id": request["sanction_id"]}
        }
    )
    got = as_contractor.json(
        "appeal", "file", "--sanction", "s-1", "--text", "wrong key", FileAppeal=filed
    )
    assert got["sanction_id"] == "s-1" and got["state"] == "pending"
    [sent] = as_contractor.requests()
    assert re.fullmatch(r"crewctl-[0-9a-f-]{36}", sent.pop("idempotency_key"))
    assert sent == {"sanction_id": "s-1", "text": "wrong key"}

    down = Refusal("UNAVAILABLE", "connection refused")
    result = as_contractor.run(
        "appeal", "file", "--submission", "c-8", "--text", "t", "--key", "k-1", FileAppeal=down
    )
    assert result.exit_code == ExitCode.UNAVAILABLE
    assert "crewctl appeal file --submission c-8 --text ... --key k-1" in result.stderr
    assert {r["idempotency_key"] for r in as_contractor.requests()} == {"k-1"}
    for flags in ((), ("--sanction", "s-1", "--submission", "c-8")):
        refused = as_contractor.run("appeal", "file", *flags, "--text", "t")
        assert refused.exit_code == ExitCode.USAGE and "exactly one" in refused.stderr
        assert as_contractor.requests() == []


def test_a_contractors_appeals_are_their_own_whole(as_contractor: Crewctl) -> None:
    page = as_contractor.json("appeals", ListMyAppeals={"appeals": [UPHELD]})
    assert page["appeals"][0]["decision_note"] == "agreed"
    assert as_contractor.requests() == [{}]
    refused = as_contractor.run("appeals", "--state", "pending")
    assert refused.exit_code == ExitCode.USAGE and "its own appeals" in refused.stderr
    refused = as_contractor.run("sanctions", "--contractor", "bo")
    assert refused.exit_code == ExitCode.USAGE and "leave out --contractor" in refused.stderr
    assert as_contractor.requests() == []


def test_watch_shows_a_sanction_and_an_appeal_of_the_project(as_client: Crewctl) -> None:
    event = {
        "cursor": "c-1",
        "project_id": "p-1",
        "sanction_changed": {"sanction": {**SANCTION, "evidence": []}, "version": 3},
    }
    appeal = {"cursor": "c-2", "project_id": "p-1", "appeal_changed": {"appeal": UPHELD}}
    result = as_client.run("--json", "watch", "--limit", "2", Watch=[{"events": [event, appeal]}])
    assert result.exit_code == 0, result.stderr
    first, second = (json.loads(line) for line in result.stdout.splitlines())
    assert (first["type"], first["task_id"], first["event"]["version"]) == (
        "sanction_changed",
        "",
        3,
    )
    assert first["event"]["sanction"]["rule"]["duration"] == "3d"
    assert first["event"]["sanction"]["state"] == "active"
    assert second["event"]["appeal"]["accepted_submission_ids"] == [UPHELD["submission_id"]]
    lines = as_client.run("watch", "--limit", "1", Watch=[{"events": [event]}]).stdout
    assert "sanction_changed     project=p-1  sanction_id=" in lines
    assert "action=suspend state=active" in lines
