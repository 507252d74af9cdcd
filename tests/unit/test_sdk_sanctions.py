"""The SDK's quality rules, sanctions and appeals: rules read and set (with the update
mask, so the gold share is left alone), a contractor's own sanctions with typed
evidence, filing and listing appeals, the sanctions and appeals a client or an operator
sees and deciding them (typed results, a page and every page, async and blocking),
against a stand-in quality service."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from grpc_standin import Echo, Refusal, StandIns

from crewline.client import (
    AcceptedBy,
    Appeal,
    AppealDecider,
    AppealState,
    Client,
    Contractor,
    Endpoints,
    FailedPrecondition,
    FlagEvidence,
    GoldEvidence,
    Operator,
    QualityRule,
    ReviewEvidence,
    RuleAction,
    RuleMeasure,
    Sanction,
    SanctionState,
    Submission,
    sync,
)
from crewline.client.sanctions import MySanctions, Sanctions
from crewline.v1 import events_pb2
from crewline.v1 import quality_service_pb2 as quality_api
from crewline.v1 import task_service_pb2 as task_api

KEY = "crwk_k_s"
TOKEN = "a.contractor.token"
OPERATOR = "crwo_operator"
AT = "2026-03-01T14:05:09Z"
RULE = {
    "rule_id": "low-gold",
    "measure": "RULE_MEASURE_GOLD_ACCURACY",
    "below": 70,
    "min_sample": 10,
    "action": "RULE_ACTION_SUSPEND",
    "duration": "259200s",
}
NOTICE = {
    "rule_id": "fast-hands",
    "measure": "RULE_MEASURE_TIME_FLAG_SHARE",
    "above": 30,
    "min_sample": 5,
    "action": "RULE_ACTION_NOTIFY",
}
SANCTION = {
    "sanction_id": "s-1",
    "contractor_id": "dr-lee",
    "project_id": "p-1",
    "client_id": "acme",
    "rule": RULE,
    "action": "RULE_ACTION_SUSPEND",
    "measured_value": 55,
    "sample": 10,
    "state": "SANCTION_STATE_ACTIVE",
    "imposed_at": AT,
    "ends_at": "2026-03-04T14:05:09Z",
    "evidence": [
        {
            "task_id": "t-9",
            "submission_id": "c-9",
            "submitted_at": AT,
            "gold": {
                "payload_json": '{"image":"a.png"}',
                "answer_json": '{"severity":"grave"}',
                "expected_json": '{"severity":"mild"}',
            },
        },
        {
            "task_id": "t-8",
            "submission_id": "c-8",
            "review": {"accepted": False, "feedback": "blurry"},
        },
        {"task_id": "t-7", "submission_id": "c-7", "flag": {"flagged": True}},
    ],
}
ENDED = {
    **SANCTION,
    "sanction_id": "s-0",
    "rule": NOTICE,
    "action": "RULE_ACTION_NOTIFY",
    "state": "SANCTION_STATE_ENDED",
    "evidence": [],
}
APPEAL = {
    "appeal_id": "a-1",
    "contractor_id": "dr-lee",
    "project_id": "p-1",
    "client_id": "acme",
    "sanction_id": "s-1",
    "text": "the key is wrong",
    "state": "APPEAL_STATE_PENDING",
    "filed_at": AT,
    "decide_by": "2026-03-10T14:05:09Z",
}
UPHELD = {
    **APPEAL,
    "appeal_id": "a-2",
    "sanction_id": None,
    "submission_id": "c-8",
    "state": "APPEAL_STATE_UPHELD",
    "decided_at": AT,
    "decided_by": "APPEAL_DECIDER_CLIENT",
    "decision_note": "fair",
    "accepted_submission_ids": ["c-8"],
}
UPHELD = {k: v for k, v in UPHELD.items() if v is not None}


def quality(servers: StandIns) -> Endpoints:
    return Endpoints(quality=servers.address("quality"))


def requests(servers: StandIns, method: str) -> list[dict[str, Any]]:
    return [r.request for r in servers.received if r.method.endswith(f"/{method}")]


def test_a_rule_goes_to_the_wire_and_back_as_it_was() -> None:
    rule = QualityRule(
        rule_id="low-gold",
        measure=RuleMeasure.GOLD_ACCURACY,
        below=70,
        min_sample=10,
        action=RuleAction.SUSPEND,
        duration=timedelta(days=3),
    )
    message = rule.to_pb()
    assert message.WhichOneof("condition") == "below" and message.below == 70
    assert message.measure == quality_api.RULE_MEASURE_GOLD_ACCURACY
    assert message.action == quality_api.RULE_ACTION_SUSPEND
    assert (message.min_sample, message.duration.seconds) == (10, 259_200)
    assert QualityRule.from_pb(message) == rule
    assert str(rule) == "low-gold: GOLD_ACCURACY below 70, at least 10 counted -> SUSPEND for 3d"

    zero = QualityRule(rule_id="z", measure=None, above=0, action=RuleAction.NOTIFY).to_pb()
    assert zero.WhichOneof("condition") == "above" and zero.above == 0  # 0 is a condition
    assert not zero.HasField("min_sample") and not zero.HasField("duration")
    assert zero.measure == quality_api.RULE_MEASURE_UNSPECIFIED  # the service names it
    read = QualityRule.from_pb(zero)
    assert (read.below, read.above, read.min_sample, read.duration) == (None, 0, None, None)


def test_a_rule_with_both_conditions_is_refused_before_it_could_lose_one() -> None:
    with pytest.raises(ValueError, match="below or above, not both"):
        QualityRule(rule_id="r", measure=RuleMeasure.ACCEPTANCE_RATE, below=1, above=2, action=None)


async def test_rules_are_set_by_the_mask_and_read_back_typed(servers: StandIns) -> None:
    policy = {"project_id": "p-1", "gold_share_percent": 5, "rules": [RULE, NOTICE]}
    servers.play(
        {"SetQualityPolicy": [{"policy": policy}], "GetQualityPolicy": [{"policy": policy}]}
    )
    rules: list[QualityRule | quality_api.QualityRule] = [
        QualityRule(
            rule_id="low-gold",
            measure=RuleMeasure.GOLD_ACCURACY,
            below=70,
            min_sample=10,
            action=RuleAction.SUSPEND,
            duration=timedelta(days=3),
        ),
        quality_api.QualityRule(rule_id="raw", above=30),  # a message goes as it is
    ]
    async with Client(credential=KEY, endpoints=quality(servers), env={}) as client:
        set_ = await client.set_quality_policy("p-1", rules=rules)
        await client.set_quality_policy("p-1", rules=[])
        await client.set_quality_policy("p-1", gold_share_percent=0, rules=rules[:1])
        await client.set_quality_policy("p-1", gold_share_percent=10)
        read = await client.quality_policy("p-1")

    assert requests(servers, "SetQualityPolicy") == [
        {"policy": {"project_id": "p-1", "rules": [RULE, {"rule_id": "raw", "above": 30}]},
         "update_mask": "rules"},
        {"policy": {"project_id": "p-1"}, "update_mask": "rules"},  # no rule left
        {"policy": {"project_id": "p-1", "gold_share_percent": 0, "rules": [RULE]},
         "update_mask": "goldSharePercent,rules"},
        {"policy": {"project_id": "p-1", "gold_share_percent": 10}},  # rules kept: no mask
    ]  # fmt: skip
    assert set_ == read
    first, second = read.rules
    assert (first.measure, first.below, first.above) == (RuleMeasure.GOLD_ACCURACY, 70, None)
    assert (first.action, first.duration, first.min_sample) == (
        RuleAction.SUSPEND,
        timedelta(days=3),
        10,
    )
    assert (second.measure, second.above, second.duration) == (
        RuleMeasure.TIME_FLAG_SHARE,
        30,
        None,
    )
    assert str(read) == "quality policy of p-1: gold share 5%, 2 rules"


def _check_sanction(sanction: Sanction) -> None:
    assert (sanction.sanction_id, sanction.state, sanction.action) == (
        "s-1",
        SanctionState.ACTIVE,
        RuleAction.SUSPEND,
    )
    assert (sanction.measured_value, sanction.sample) == (55, 10)
    assert sanction.rule is not None and sanction.rule.rule_id == "low-gold"
    assert sanction.imposed_at == datetime(2026, 3, 1, 14, 5, 9, tzinfo=UTC)
    assert sanction.ends_at == datetime(2026, 3, 4, 14, 5, 9, tzinfo=UTC)
    assert sanction.ended_at is None
    gold, review, flag = sanction.evidence
    assert isinstance(gold.item, GoldEvidence)
    assert (gold.task_id, gold.submission_id, gold.item.payload) == (
        "t-9",
        "c-9",
        '{"image":"a.png"}',
    )
    assert (gold.item.answer, gold.item.expected, gold.item.correct) == (
        {"severity": "grave"},
        {"severity": "mild"},
        False,
    )
    assert review.item == ReviewEvidence(accepted=False, feedback="blurry")
    assert flag.item == FlagEvidence(flagged=True) and flag.submitted_at is None
    assert str(review) == "c-8 (task t-8, -): review, rejected: 'blurry'"


async def test_a_contractor_reads_their_sanctions_with_typed_evidence(servers: StandIns) -> None:
    pages = {
        "ListMySanctions": [
            {"sanctions": [SANCTION], "next_page_token": "n2"},
            {"sanctions": [ENDED]},
        ]
    }
    servers.play(pages)
    async with Contractor(credential=TOKEN, endpoints=quality(servers), env={}) as me:
        page = await me.my_sanctions_page(project_id="p-1", page_size=1)
        servers.play(pages)
        every = [s async for s in me.my_sanctions(project_id="p-1", page_size=1)]

    [first] = page.items
    _check_sanction(first)
    assert page.next_page_token == "n2"
    assert [(s.sanction_id, s.state) for s in every] == [
        ("s-1", SanctionState.ACTIVE),
        ("s-0", SanctionState.ENDED),
    ]
    assert str(every[1]) == (
        "sanction s-0: NOTIFY dr-lee in p-1 by rule fast-hands (TIME_FLAG_SHARE 55 over 10"
        " items), ENDED, imposed 2026-03-01 14:05 UTC until 2026-03-04 14:05 UTC"
    )
    assert [r.authorization for r in servers.received] == [f"Bearer {TOKEN}"] * 2
    assert [r.request for r in servers.received] == [  # the second play's: every page
        {"project_id": "p-1", "page_size": 1},
        {"project_id": "p-1", "page_size": 1, "page_token": "n2"},
    ]


async def test_an_appeal_is_filed_with_one_subject_and_a_key_kept_or_made(
    servers: StandIns,
) -> None:
    def filed(request: dict[str, Any]) -> dict[str, Any]:
        subject = {k: v for k, v in request.items() if k != "idempotency_key"}
        return {"appeal": {**{k: v for k, v in APPEAL.items() if k != "sanction_id"}, **subject}}

    servers.play({"FileAppeal": [Echo(filed)]})
    async with Contractor(credential=TOKEN, endpoints=quality(servers), env={}) as me:
        mine = await me.file_appeal(sanction_id="s-1", text="the key is wrong")
        other = await me.file_appeal(submission_id="c-8", text="see the image")
        again = await me.file_appeal(sanction_id="s-1", text="x", idempotency_key="appeal-s-1")
        for wrong in ({}, {"sanction_id": "s-1", "submission_id": "c-8"}):
            with pytest.raises(TypeError, match="exactly one"):
                await me.file_appeal(text="t", **wrong)

    first, second, third = requests(servers, "FileAppeal")
    made = first.pop("idempotency_key")
    assert re.fullmatch(r"[0-9a-f]{32}", made)
    assert first == {"sanction_id": "s-1", "text": "the key is wrong"}
    assert second["submission_id"] == "c-8" and "sanction_id" not in second
    assert second["idempotency_key"] != made  # a fresh key per call
    assert third["idempotency_key"] == "appeal-s-1"
    assert isinstance(mine, Appeal) and (mine.state, mine.sanction_id) == (
        AppealState.PENDING,
        "s-1",
    )
    assert (other.sanction_id, other.submission_id, other.subject) == ("", "c-8", "submission c-8")
    assert again.text == "x"


def test_a_closed_window_is_a_failed_precondition_with_its_reason(servers: StandIns) -> None:
    closed = Refusal(
        "FAILED_PRECONDITION",
        "the appeal window closed at 2026-03-08T14:05:09Z",
        "APPEAL_WINDOW_CLOSED",
    )
    servers.play({"FileAppeal": [closed]})
    with sync.Contractor(credential=TOKEN, endpoints=quality(servers), env={}) as me:
        with pytest.raises(FailedPrecondition) as err:
            me.file_appeal(submission_id="c-8", text="late")
    assert err.value.reason == "APPEAL_WINDOW_CLOSED"
    assert (err.value.service, err.value.address) == ("quality", servers.address("quality"))


def test_a_contractors_appeals_come_a_page_and_every_page_blocking(servers: StandIns) -> None:
    pages = {
        "ListMyAppeals": [{"appeals": [APPEAL], "next_page_token": "a2"}, {"appeals": [UPHELD]}]
    }
    servers.play(pages)
    with sync.Contractor(credential=TOKEN, endpoints=quality(servers), env={}) as me:
        page = me.my_appeals_page(page_size=1)
        servers.play(pages)
        every = list(me.my_appeals(page_size=1))
    assert [a.appeal_id for a in page.items] == ["a-1"] and page.next_page_token == "a2"
    upheld = every[1]
    assert (upheld.state, upheld.decided_by, upheld.decision_note) == (
        AppealState.UPHELD,
        AppealDecider.CLIENT,
        "fair",
    )
    assert upheld.accepted_submission_ids == ("c-8",)
    assert str(upheld) == (
        "appeal a-2 of submission c-8 by dr-lee in p-1: UPHELD, filed 2026-03-01 14:05 UTC,"
        " decided 2026-03-01 14:05 UTC by CLIENT"
    )
    assert requests(servers, "ListMyAppeals") == [
        {"page_size": 1},
        {"page_size": 1, "page_token": "a2"},
    ]


async def test_a_client_lists_sanctions_and_appeals_by_filter_and_decides(
    servers: StandIns,
) -> None:
    servers.play(
        {
            "ListSanctions": [{"sanctions": [SANCTION]}],
            "ListAppeals": [{"appeals": [APPEAL], "next_page_token": "a2"}, {"appeals": []}],
            "DecideAppeal": [{"appeal": UPHELD}],
        }
    )
    async with Client(credential=KEY, endpoints=quality(servers), env={}) as client:
        [sanction] = [
            s
            async for s in client.sanctions(
                "p-1", contractor_id="dr-lee", state=SanctionState.ACTIVE
            )
        ]
        appeals = [a async for a in client.appeals("p-1", state=AppealState.PENDING)]
        decided = await client.decide_appeal("a-2", uphold=True, note="fair")
        await client.list_sanctions_page("p-1", state=quality_api.SANCTION_STATE_LIFTED)
        with pytest.raises(TypeError):  # another enum's member is not a sanction state
            await client.list_sanctions_page("p-1", state=AppealState.PENDING)  # type: ignore[arg-type]

    _check_sanction(sanction)
    assert [a.appeal_id for a in appeals] == ["a-1"]
    assert decided.state is AppealState.UPHELD and decided.accepted_submission_ids == ("c-8",)
    assert [(r.method.rsplit("/", 1)[1], r.request) for r in servers.received] == [
        (
            "ListSanctions",
            {"project_id": "p-1", "contractor_id": "dr-lee", "state": "SANCTION_STATE_ACTIVE"},
        ),
        ("ListAppeals", {"project_id": "p-1", "state": "APPEAL_STATE_PENDING"}),
        ("ListAppeals", {"project_id": "p-1", "state": "APPEAL_STATE_PENDING", "page_token": "a2"}),
        ("DecideAppeal", {"appeal_id": "a-2", "uphold": True, "note": "fair"}),
        ("ListSanctions", {"project_id": "p-1", "state": "SANCTION_STATE_LIFTED"}),
    ]
    assert {r.authorization for r in servers.received} == {f"Bearer {KEY}"}


def test_an_operator_reads_any_projects_and_denies_blocking(servers: StandIns) -> None:
    denied = {**APPEAL, "state": "APPEAL_STATE_DENIED", "decided_by": "APPEAL_DECIDER_OPERATOR"}
    servers.play(
        {
            "ListSanctions": [{"sanctions": [ENDED]}],
            "ListAppeals": [{"appeals": [APPEAL]}],
            "DecideAppeal": [{"appeal": denied}],
        }
    )
    with sync.Operator(credential=OPERATOR, endpoints=quality(servers), env={}) as operator:
        [ended] = operator.sanctions()
        assert operator.list_appeals_page().items[0].appeal_id == "a-1"
        assert [a.appeal_id for a in operator.appeals()] == ["a-1"]
        no = operator.decide_appeal("a-1", uphold=False)
    assert ended.evidence == () and ended.rule is not None and ended.rule.above == 30
    assert (no.state, no.decided_by) == (AppealState.DENIED, AppealDecider.OPERATOR)
    assert [r.request for r in servers.received] == [{}, {}, {}, {"appeal_id": "a-1"}]
    assert {r.authorization for r in servers.received} == {f"Bearer {OPERATOR}"}


@pytest.mark.parametrize(
    ("mixin", "blocking"),
    [(MySanctions, sync.Contractor), (Sanctions, sync.Client), (Sanctions, sync.Operator)],
)
def test_every_sanction_and_appeal_call_is_blocking_too(mixin: type, blocking: type) -> None:
    calls = {name for name in vars(mixin) if not name.startswith("_")}
    assert calls and calls <= set(vars(blocking))
    for audience in (Client, Operator):
        assert issubclass(audience, Sanctions)
    assert issubclass(Contractor, MySanctions) and not issubclass(Contractor, Sanctions)


def test_work_an_upheld_appeal_accepts_reads_as_accepted_by_appeal() -> None:
    message = task_api.Submission(submission_id="c-8", accepted_by=events_pb2.ACCEPTED_BY_APPEAL)
    assert Submission.from_pb(message).accepted_by is AcceptedBy.APPEAL
    assert AcceptedBy.APPEAL.pb_name() == "ACCEPTED_BY_APPEAL"
