"""Rules and sanctions at the quality service's protobuf edge: a rule as sent (unset or
unknown enums, an unset minimum sample or duration) is checked by the domain naming the
request's field and comes back with its defaults; a sanction's event never holds its
evidence while its readers get it; who may call the sanction RPCs."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from google.protobuf.duration_pb2 import Duration

from crewline.auth.principal import Kind
from crewline.errors import InvalidArgument
from crewline.v1 import quality_service_pb2 as api
from quality.adapters import protobuf_rules as pbr
from quality.domain import issuing
from quality.domain.rules import check_rules
from quality.domain.sanctions import EvidenceItem, Measured, Window, impose
from quality.entrypoints.grpc_api import POLICY

NOW = datetime(2026, 3, 1, tzinfo=UTC)


def _set(*rules: api.QualityRule) -> issuing.SetPolicy:
    return issuing.set_policy(
        client_id="acme",
        project_id="p1",
        gold_share_percent=None,
        rules=[pbr.rule_input(r) for r in rules],
        update_mask=["rules"],
    )


def test_a_rule_comes_back_with_its_defaults() -> None:
    sent = api.QualityRule(
        rule_id="careless",
        measure=api.RULE_MEASURE_GOLD_ACCURACY,
        below=60,
        action=api.RULE_ACTION_SUSPEND,
    )
    [rule] = _set(sent).rules or ()
    back = pbr.rule_to_pb(rule)
    assert back.WhichOneof("condition") == "below" and back.below == 60
    assert back.min_sample == 5 and back.HasField("min_sample")
    assert back.duration.ToTimedelta() == timedelta(days=7)
    notify = api.QualityRule(
        rule_id="n", measure=3, above=0, min_sample=1, action=api.RULE_ACTION_NOTIFY
    )
    [rule] = _set(notify).rules or ()
    back = pbr.rule_to_pb(rule)
    assert (back.WhichOneof("condition"), back.above, back.HasField("duration")) == (
        "above",
        0,
        False,
    )


@pytest.mark.parametrize(
    ("rule", "field"),
    [
        (api.QualityRule(rule_id="r", below=1, action=1), "policy.rules[0].measure"),
        (api.QualityRule(rule_id="r", measure=9, below=1, action=1), "policy.rules[0].measure"),
        (api.QualityRule(rule_id="r", measure=1, below=1), "policy.rules[0].action"),
        (api.QualityRule(rule_id="r", measure=1, action=1), "policy.rules[0].below"),
        (
            api.QualityRule(rule_id="r", measure=1, below=1, action=1, min_sample=0),
            "policy.rules[0].min_sample",
        ),
        (
            api.QualityRule(
                rule_id="r", measure=1, below=1, action=3, duration=Duration(seconds=3600)
            ),
            "policy.rules[0].duration",
        ),
    ],
)
def test_a_rule_as_sent_is_refused_naming_the_requests_field(
    rule: api.QualityRule, field: str
) -> None:
    with pytest.raises(InvalidArgument) as err:
        _set(rule)
    assert err.value.field == field


def test_a_sanctions_event_holds_no_evidence_and_its_readers_get_it() -> None:
    [rule] = check_rules(
        [pbr.rule_input(api.QualityRule(rule_id="r", measure=1, below=50, action=1))]
    )
    item = EvidenceItem(
        kind="gold",
        task_id="t1",
        submission_id="c1",
        submitted_at=NOW,
        gold_id=uuid.uuid4(),
        correct=False,
        answer_json='{"severity": "benign"}',
        expected_json='{"severity": "refer"}',
        payload_json='{"case": 1}',
    )
    measured = Measured(contractor_id="ann", project_id="p1", client_id="acme", value=8, sample=5)
    window = Window(items=(item,), newest=(NOW, "c1"))
    sanction = impose(rule, measured, window, sanction_id=uuid.uuid4(), now=NOW)
    event = pbr.sanction_changed(sanction)
    assert event.version == 1 and list(event.sanction.evidence) == []
    assert b"benign" not in event.SerializeToString()
    [shown] = pbr.sanction_to_pb(sanction, evidence=True).evidence
    assert shown.WhichOneof("item") == "gold"
    assert (shown.gold.answer_json, shown.gold.expected_json, shown.gold.payload_json) == (
        item.answer_json,
        item.expected_json,
        item.payload_json,
    )
    assert pbr.state_from_pb(api.SANCTION_STATE_UNSPECIFIED) is None


def test_contractors_list_their_own_sanctions_and_clients_and_operators_the_rest() -> None:
    method = "/crewline.v1.QualityService/{}".format
    assert POLICY.allowed(method("ListMySanctions")) == {Kind.CONTRACTOR}
    assert POLICY.allowed(method("ListSanctions")) == {Kind.CLIENT, Kind.OPERATOR}
