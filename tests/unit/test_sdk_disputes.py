"""The SDK's disputes of gold keys: a contractor disputes a key (with an idempotency key
kept or made) and lists their own; a client lists those of its projects and corrects a
key (sent as a gold task's key is, with its rules) or dismisses a dispute; an operator
lists any and cannot resolve (typed results, a page and every page, async and
blocking), against a stand-in quality service."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest
from grpc_standin import Echo, Refusal, StandIns

from crewline.client import (
    AcceptedBy,
    AppealState,
    Client,
    Contractor,
    Dispute,
    DisputeState,
    Endpoints,
    FailedPrecondition,
    GoldFieldRule,
    NotFound,
    Operator,
    Submission,
    sync,
)
from crewline.client.build import gold_rules
from crewline.client.disputes import Disputes, MyDisputes, ResolveDisputes
from crewline.v1 import events_pb2
from crewline.v1 import quality_service_pb2 as quality_api
from crewline.v1 import task_service_pb2 as task_api

KEY = "crwk_k_s"
TOKEN = "a.contractor.token"
OPERATOR = "crwo_operator"
AT = "2026-03-01T14:05:09Z"
OPEN = {
    "dispute_id": "d-1",
    "contractor_id": "dr-lee",
    "project_id": "p-1",
    "client_id": "acme",
    "task_id": "t-9",
    "note": "the lesion is severe, not mild",
    "state": "DISPUTE_STATE_OPEN",
    "filed_at": AT,
}
CORRECTED = {
    **OPEN,
    "dispute_id": "d-2",
    "gold_id": "g-1",
    "state": "DISPUTE_STATE_CORRECTED",
    "resolved_at": "2026-03-02T09:00:00Z",
    "resolution_note": "you were right",
    "accepted_submission_ids": ["c-9", "c-12"],
    "overturned_sanction_ids": ["s-1"],
}


def quality(servers: StandIns) -> Endpoints:
    return Endpoints(quality=servers.address("quality"))


def requests(servers: StandIns, method: str) -> list[dict[str, Any]]:
    return [r.request for r in servers.received if r.method.endswith(f"/{method}")]


async def test_a_key_is_disputed_with_an_idempotency_key_kept_or_made(servers: StandIns) -> None:
    def filed(request: dict[str, Any]) -> dict[str, Any]:
        return {"dispute": {**OPEN, "task_id": request["task_id"], "note": request["note"]}}

    servers.play({"DisputeGoldKey": [Echo(filed)]})
    async with Contractor(credential=TOKEN, endpoints=quality(servers), env={}) as me:
        mine = await me.dispute_gold_key("t-9", "the lesion is severe")
        other = await me.dispute_gold_key("t-8", "blank image")
        again = await me.dispute_gold_key("t-9", "x", idempotency_key="dispute-t-9")

    first, second, third = requests(servers, "DisputeGoldKey")
    made = first.pop("idempotency_key")
    assert re.fullmatch(r"[0-9a-f]{32}", made)
    assert first == {"task_id": "t-9", "note": "the lesion is severe"}
    assert second["idempotency_key"] != made  # a fresh key per call
    assert third["idempotency_key"] == "dispute-t-9"
    assert isinstance(mine, Dispute)
    assert (mine.state, mine.task_id, mine.gold_id) == (DisputeState.OPEN, "t-9", "")
    assert (other.task_id, again.note) == ("t-8", "x")
    assert {r.authorization for r in servers.received} == {f"Bearer {TOKEN}"}


def test_a_task_not_disputable_is_not_found_blocking(servers: StandIns) -> None:
    servers.play({"DisputeGoldKey": [Refusal("NOT_FOUND", "task t-1 not found")]})
    with sync.Contractor(credential=TOKEN, endpoints=quality(servers), env={}) as me:
        with pytest.raises(NotFound) as err:
            me.dispute_gold_key("t-1", "wrong key", idempotency_key="k-1")
    assert (err.value.service, err.value.address) == ("quality", servers.address("quality"))
    assert requests(servers, "DisputeGoldKey") == [
        {"idempotency_key": "k-1", "task_id": "t-1", "note": "wrong key"}
    ]


def test_a_contractors_disputes_come_a_page_and_every_page_blocking(servers: StandIns) -> None:
    pages = {
        "ListMyDisputes": [{"disputes": [OPEN], "next_page_token": "d2"}, {"disputes": [CORRECTED]}]
    }
    servers.play(pages)
    with sync.Contractor(credential=TOKEN, endpoints=quality(servers), env={}) as me:
        page = me.my_disputes_page(page_size=1)
        servers.play(pages)
        every = list(me.my_disputes(page_size=1))
    assert [d.dispute_id for d in page.items] == ["d-1"] and page.next_page_token == "d2"
    corrected = every[1]
    assert (corrected.state, corrected.resolution_note) == (
        DisputeState.CORRECTED,
        "you were right",
    )
    assert corrected.resolved_at == datetime(2026, 3, 2, 9, tzinfo=UTC)
    assert corrected.accepted_submission_ids == ("c-9", "c-12")
    assert corrected.overturned_sanction_ids == ("s-1",)
    assert str(corrected) == (
        "dispute d-2 of task t-9 by dr-lee in p-1: CORRECTED, filed 2026-03-01 14:05 UTC,"
        " resolved 2026-03-02 09:00 UTC"
    )
    assert str(every[0]).endswith("OPEN, filed 2026-03-01 14:05 UTC")
    assert requests(servers, "ListMyDisputes") == [
        {"page_size": 1},
        {"page_size": 1, "page_token": "d2"},
    ]


async def test_a_client_lists_by_state_and_corrects_a_key_with_its_rules(
    servers: StandIns,
) -> None:
    servers.play(
        {
            "ListDisputes": [{"disputes": [OPEN], "next_page_token": "d2"}, {"disputes": []}],
            "ResolveDispute": [{"dispute": CORRECTED}],
        }
    )
    rules: list[GoldFieldRule | quality_api.GoldFieldRule] = [
        *gold_rules({"severity": ["moderate"]}, {}),
        quality_api.GoldFieldRule(field="confidence", tolerance=0.5),  # a message as it is
    ]
    async with Client(credential=KEY, endpoints=quality(servers), env={}) as client:
        found = [d async for d in client.disputes("p-1", state=DisputeState.OPEN)]
        corrected = await client.resolve_dispute(
            "d-2",
            correct={"severity": "severe", "confidence": 0.9},
            rules=rules,
            note="you were right",
        )
        await client.list_disputes_page("p-1", state=quality_api.DISPUTE_STATE_DISMISSED)
        with pytest.raises(TypeError):  # another enum's member is not a dispute state
            await client.list_disputes_page("p-1", state=AppealState.PENDING)  # type: ignore[arg-type]

    assert [d.dispute_id for d in found] == ["d-1"]
    assert corrected.state is DisputeState.CORRECTED and corrected.gold_id == "g-1"
    assert [(r.method.rsplit("/", 1)[1], r.request) for r in servers.received] == [
        ("ListDisputes", {"project_id": "p-1", "state": "DISPUTE_STATE_OPEN"}),
        ("ListDisputes", {"project_id": "p-1", "state": "DISPUTE_STATE_OPEN", "page_token": "d2"}),
        (
            "ResolveDispute",
            {
                "dispute_id": "d-2",
                "correct": {
                    # as gold_task sends a key: compact, keys sorted
                    "answer_json": '{"confidence":0.9,"severity":"severe"}',
                    "rules": [
                        {"field": "severity", "also_accepted": ["moderate"]},
                        {"field": "confidence", "tolerance": 0.5},
                    ],
                },
                "note": "you were right",
            },
        ),
        ("ListDisputes", {"project_id": "p-1", "state": "DISPUTE_STATE_DISMISSED"}),
    ]
    assert {r.authorization for r in servers.received} == {f"Bearer {KEY}"}


def test_a_dismissal_is_sent_alone_and_exactly_one_resolution_is_taken(
    servers: StandIns,
) -> None:
    dismissed = {**OPEN, "state": "DISPUTE_STATE_DISMISSED", "resolution_note": "the key holds"}
    already = Refusal(
        "FAILED_PRECONDITION", "dispute d-1 was dismissed already", "DISPUTE_ALREADY_RESOLVED"
    )
    servers.play({"ResolveDispute": [{"dispute": dismissed}, already]})
    with sync.Client(credential=KEY, endpoints=quality(servers), env={}) as client:
        kept = client.resolve_dispute("d-1", dismiss=True, note="the key holds")
        with pytest.raises(FailedPrecondition) as err:
            client.resolve_dispute("d-1", correct={"severity": "mild"})
        wrongs: list[dict[str, Any]] = [
            {},
            {"correct": {"severity": "mild"}, "dismiss": True},
            {"dismiss": True, "rules": [GoldFieldRule(field="severity", tolerance=1)]},
        ]
        for wrong in wrongs:
            with pytest.raises(TypeError):
                client.resolve_dispute("d-1", **wrong)
    assert kept.state is DisputeState.DISMISSED and kept.accepted_submission_ids == ()
    assert err.value.reason == "DISPUTE_ALREADY_RESOLVED"
    assert requests(servers, "ResolveDispute") == [
        {"dispute_id": "d-1", "dismiss": True, "note": "the key holds"},
        {"dispute_id": "d-1", "correct": {"answer_json": '{"severity":"mild"}'}},
    ]  # the refused resolutions sent nothing


def test_an_operator_reads_any_projects_disputes_blocking(servers: StandIns) -> None:
    servers.play({"ListDisputes": [{"disputes": [CORRECTED]}, {"disputes": [OPEN]}]})
    with sync.Operator(credential=OPERATOR, endpoints=quality(servers), env={}) as operator:
        [corrected] = operator.disputes()
        assert [d.dispute_id for d in operator.list_disputes_page().items] == ["d-1"]
    assert corrected.gold_id == "g-1"
    assert [r.request for r in servers.received] == [{}, {}]
    assert {r.authorization for r in servers.received} == {f"Bearer {OPERATOR}"}


@pytest.mark.parametrize(
    ("mixin", "blocking"),
    [
        (MyDisputes, sync.Contractor),
        (Disputes, sync.Client),
        (ResolveDisputes, sync.Client),
        (Disputes, sync.Operator),
    ],
)
def test_every_dispute_call_is_blocking_too(mixin: type, blocking: type) -> None:
    calls = {name for name in vars(mixin) if not name.startswith("_")}
    assert calls and calls <= set(vars(blocking))


def test_each_audience_has_its_own_dispute_calls() -> None:
    assert issubclass(Client, ResolveDisputes) and issubclass(Operator, Disputes)
    assert not issubclass(Operator, ResolveDisputes)  # the key is the client's to correct
    assert not hasattr(sync.Operator, "resolve_dispute")
    assert issubclass(Contractor, MyDisputes) and not issubclass(Contractor, Disputes)


def test_work_a_corrected_key_accepts_reads_as_accepted_by_key_correction() -> None:
    message = task_api.Submission(
        submission_id="c-9", accepted_by=events_pb2.ACCEPTED_BY_KEY_CORRECTION
    )
    assert Submission.from_pb(message).accepted_by is AcceptedBy.KEY_CORRECTION
    assert AcceptedBy.KEY_CORRECTION.pb_name() == "ACCEPTED_BY_KEY_CORRECTION"
