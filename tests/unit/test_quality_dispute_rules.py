"""Disputes' pure rules in the quality service: what DisputeGoldKey and ResolveDispute
check before anything is read (each refusal naming its field, and one NOT_FOUND for
any task id that could not be disputed), idempotency keys, resolutions and their
repeats, which answers a corrected key scores otherwise and which sanctions no longer
hold, who may list which disputes, and the protobuf mapping (gold_id only where the
reader may know it)."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from crewline.auth.principal import OPERATOR, Kind, Principal
from crewline.errors import FailedPrecondition, InvalidArgument, NotFound
from crewline.protobuf import timestamp
from crewline.v1 import events_pb2
from crewline.v1 import quality_service_pb2 as api
from quality.adapters import disputes_pb
from quality.adapters import protobuf as pb
from quality.domain import disputes
from quality.domain.appeals import queue_paging
from quality.domain.corrections import overturned, rescored
from quality.domain.disputes import (
    ALREADY_RESOLVED,
    Correction,
    Dispute,
    DisputeState,
    Target,
    task_not_found,
)
from quality.domain.gold_keys import FieldRule, KeyedField, KeyKind
from quality.domain.reviews import ReviewedBy
from quality.domain.rules import Rule, RuleAction, RuleMeasure
from quality.domain.sanctions import EvidenceItem, Sanction, SanctionState

ANN = Principal(Kind.CONTRACTOR, "ann")
BOB = Principal(Kind.CONTRACTOR, "bob")
ACME = Principal(Kind.CLIENT, "acme")
T0 = datetime(2026, 3, 1, 9, tzinfo=UTC)
GOLD = uuid.UUID(int=3)
TARGET = Target(task_id="t1", gold_id=GOLD, project_id="p1", client_id="acme")
BENIGN = '{"severity": "benign"}'


def filed(*, key: str = "k1", task: str = "t1", note: str = "The guide says benign") -> Dispute:
    cmd = disputes.file_dispute(ANN, idempotency_key=key, task_id=task, note=note)
    return cmd.file(TARGET, now=T0)


def resolve(
    caller: Principal = ACME,
    *,
    dispute_id: str = str(uuid.UUID(int=9)),
    correction: Correction | None = None,
    dismiss: bool = False,
    note: str = "",
) -> disputes.ResolveDispute:
    return disputes.resolve_dispute(
        caller, dispute_id=dispute_id, correction=correction, dismiss=dismiss, note=note
    )


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"idempotency_key": ""}, "idempotency_key"),
        ({"idempotency_key": "a b"}, "idempotency_key"),
        ({"note": ""}, "note"),
        ({"note": "   "}, "note"),
        ({"note": "n" * 2001}, "note"),
        ({"note": "a\x00b"}, "note"),
    ],
)
def test_a_filing_names_the_field_it_refuses(kwargs: dict[str, str], field: str) -> None:
    request = {"idempotency_key": "k1", "task_id": "t1", "note": "a note", **kwargs}
    with pytest.raises(InvalidArgument) as err:
        disputes.file_dispute(ANN, **request)
    assert err.value.field == field


@pytest.mark.parametrize("task", ["", "a b", "x" * 129, "é", "t\x00"])
def test_a_task_id_that_could_not_be_one_is_the_one_not_found(task: str) -> None:
    with pytest.raises(NotFound) as err:
        disputes.file_dispute(ANN, idempotency_key="k1", task_id=task, note="a note")
    one = task_not_found()
    assert (err.value.message, err.value.reason, err.value.metadata) == (
        one.message,
        one.reason,
        one.metadata,
    )
    assert (one.message, one.metadata) == ("task_id: task not found", {"field": "task_id"})


def test_a_dispute_is_open_and_its_key_names_it_for_good() -> None:
    d = filed()
    assert (d.state, d.contractor_id, d.task_id, d.gold_id) == (
        DisputeState.OPEN,
        "ann",
        "t1",
        GOLD,
    )
    assert (d.project_id, d.client_id, d.filed_at, d.resolved_at) == ("p1", "acme", T0, None)
    assert d.dispute_id == disputes.dispute_id("ann", "k1")
    assert d.dispute_id != disputes.dispute_id("bob", "k1")
    assert d.dispute_id != disputes.dispute_id("ann", "k2")
    cmd = disputes.file_dispute(ANN, idempotency_key="k1", task_id="t1", note=d.note)
    assert cmd.repeats(d) == d
    for other in ({"task_id": "t2", "note": d.note}, {"task_id": "t1", "note": "other"}):
        again = disputes.file_dispute(ANN, idempotency_key="k1", **other)
        with pytest.raises(InvalidArgument) as err:
            again.repeats(d)
        assert err.value.field == "idempotency_key"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"dispute_id": ""}, "dispute_id"),
        ({"dispute_id": "nope"}, "dispute_id"),
        ({"note": "n" * 2001, "dismiss": True}, "note"),
        ({}, "resolution"),
        ({"correction": Correction(answer_json="")}, "correct.answer_json"),
        (
            {
                "correction": Correction(
                    answer_json=BENIGN, rules=(FieldRule(field="x", tolerance=-1),)
                )
            },
            "correct.rules[0].tolerance",
        ),
        (
            {
                "correction": Correction(
                    answer_json=BENIGN,
                    rules=(FieldRule(field="a"), FieldRule(field="b", tolerance=float("nan"))),
                )
            },
            "correct.rules[1].tolerance",
        ),
    ],
)
def test_a_resolution_names_the_field_it_refuses(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        resolve(**kwargs)  # type: ignore[arg-type]
    assert err.value.field == field


@pytest.mark.parametrize("caller", [ANN, OPERATOR])
def test_only_a_client_resolves_and_anyone_else_finds_no_dispute(caller: Principal) -> None:
    with pytest.raises(NotFound) as err:
        resolve(caller, dismiss=True)
    assert err.value.metadata == {"field": "dispute_id"}


def test_a_resolution_is_kept_and_the_same_one_again_changes_nothing() -> None:
    d = filed()
    key = Correction(answer_json=BENIGN)
    assert d.already(key) is False and d.already(None) is False
    now = T0 + timedelta(hours=1)
    dismissed = d.resolved(correction=None, note="kept", now=now)
    assert (dismissed.state, dismissed.resolved_at, dismissed.resolution_note) == (
        DisputeState.DISMISSED,
        now,
        "kept",
    )
    assert dismissed.already(None) is True
    with pytest.raises(FailedPrecondition) as err:
        dismissed.already(key)
    assert err.value.reason == ALREADY_RESOLVED

    corrected = d.resolved(correction=key, note="", now=now, accepted=["s1"], overturned=["x"])
    assert corrected.state is DisputeState.CORRECTED
    assert (corrected.accepted_submission_ids, corrected.overturned_sanction_ids) == (
        ("s1",),
        ("x",),
    )
    assert corrected.already(Correction(answer_json='{ "severity":"benign" }')) is True
    for other in (
        None,
        Correction(answer_json='{"severity": "watch"}'),
        Correction(
            answer_json=BENIGN, rules=(FieldRule(field="severity", also_accepted=("watch",)),)
        ),
    ):
        with pytest.raises(FailedPrecondition) as err:
            corrected.already(other)
        assert err.value.reason == ALREADY_RESOLVED


KEY = {"severity": KeyedField(kind=KeyKind.CHOICE, value="benign")}


def test_a_corrected_key_rescores_the_answers_kept_and_leaves_the_rest() -> None:
    answers = [
        ("right-now", '{"severity": "benign"}', False),
        ("wrong-now", '{"severity": "refer"}', True),
        ("unchanged", '{"severity": "watch"}', False),
        ("not-kept", None, False),  # scored before answers were kept
        ("not-json", "{oops", True),
    ]
    assert rescored(KEY, answers) == {"right-now": True, "wrong-now": False, "not-json": False}


def sanction(*verdicts: bool, below: int = 50) -> Sanction:
    rule = Rule(
        rule_id="careless",
        measure=RuleMeasure.GOLD_ACCURACY,
        below=below,
        min_sample=2,
        action=RuleAction.SUSPEND,
        duration=timedelta(days=7),
    )
    evidence = tuple(
        EvidenceItem(
            kind="gold", task_id=f"t{n}", submission_id=f"c{n}", submitted_at=T0, correct=v
        )
        for n, v in enumerate(verdicts)
    )
    return Sanction(
        sanction_id=uuid.UUID(int=1),
        contractor_id="ann",
        project_id="p1",
        client_id="acme",
        rule=rule,
        action=RuleAction.SUSPEND,
        measured_value=17,
        sample=len(evidence),
        state=SanctionState.ACTIVE,
        imposed_at=T0,
        ends_at=T0 + timedelta(days=7),
        ended_at=None,
        version=1,
        evidence=evidence,
    )


def test_a_sanction_is_overturned_when_its_own_evidence_no_longer_meets_its_rule() -> None:
    s = sanction(False, False)  # 0 of 2: 17
    assert overturned(s, {}) is False  # as imposed
    assert overturned(s, {"c0": True}) is True  # 1 of 2: 50, not below 50
    assert overturned(sanction(False, False, below=60), {"c0": True}) is False  # 50 < 60
    assert overturned(sanction(False, False, False), {"c0": True}) is False  # 1 of 3: 38
    assert overturned(sanction(True, False), {"c0": False}) is False
    review = EvidenceItem(kind="review", task_id="t", submission_id="s", submitted_at=T0)
    assert overturned(replace(sanction(), evidence=(review,)), {}) is False


def test_who_lists_which_disputes() -> None:
    mine = disputes.my_disputes(ANN, page_size=5)
    assert (mine.contractor_id, mine.client_id, mine.limit, mine.queue) == ("ann", None, 5, False)
    with pytest.raises(NotFound):
        disputes.my_disputes(ACME)
    theirs = disputes.disputes(ACME, project_id="p1", state=DisputeState.OPEN)
    assert (theirs.client_id, theirs.project_id, theirs.state, theirs.limit) == (
        "acme",
        "p1",
        DisputeState.OPEN,
        20,
    )
    assert disputes.disputes(OPERATOR).client_id is None
    with pytest.raises(InvalidArgument) as err:
        disputes.disputes(ACME)
    assert err.value.field == "project_id"
    with pytest.raises(NotFound):
        disputes.disputes(ANN, project_id="p1")
    with pytest.raises(InvalidArgument) as err:
        disputes.disputes(OPERATOR, page_size=101)
    assert err.value.field == "page_size"


def test_a_page_token_starts_the_next_page_after_the_last_dispute() -> None:
    d = filed()
    open_one = replace(d, seq=7)
    resolved = open_one.resolved(correction=None, note="", now=T0)
    assert disputes.page_token(None) == ""
    assert queue_paging(0, disputes.page_token(open_one)) == (20, (0, 7))
    assert queue_paging(0, disputes.page_token(resolved)) == (20, (1, 7))


def test_the_contractor_and_the_event_never_see_which_gold_task_it_is() -> None:
    d = filed().resolved(correction=Correction(answer_json=BENIGN), note="fixed", now=T0)
    shown = disputes_pb.dispute_to_pb(d, gold=True)
    assert shown.gold_id == str(GOLD)
    assert (shown.state, shown.resolution_note, shown.resolved_at) == (
        api.DISPUTE_STATE_CORRECTED,
        "fixed",
        timestamp(T0),
    )
    hidden = disputes_pb.dispute_to_pb(d, gold=False)
    assert hidden.gold_id == "" and hidden.HasField("resolved_at")
    assert disputes_pb.dispute_changed(d).dispute == hidden
    assert str(GOLD).encode() not in disputes_pb.dispute_changed(d).SerializeToString()
    assert disputes_pb.state_filter(api.DISPUTE_STATE_UNSPECIFIED) is None
    assert disputes_pb.state_filter(api.DISPUTE_STATE_DISMISSED) is DisputeState.DISMISSED
    with pytest.raises(InvalidArgument) as err:
        disputes_pb.state_filter(42)
    assert err.value.field == "state"


def test_a_resolve_request_maps_its_oneof() -> None:
    rule = api.GoldFieldRule(field="severity", also_accepted=["watch"], tolerance=0)
    request = api.ResolveDisputeRequest(
        dispute_id=str(uuid.UUID(int=9)),
        correct=api.GoldKeyCorrection(answer_json=BENIGN, rules=[rule]),
        note="n",
    )
    cmd = disputes_pb.resolve_dispute(request, ACME)
    assert cmd.correction == Correction(
        answer_json=BENIGN, rules=(FieldRule(field="severity", also_accepted=("watch",)),)
    )
    dismiss = api.ResolveDisputeRequest(dispute_id=str(uuid.UUID(int=9)), dismiss=True)
    assert disputes_pb.resolve_dispute(dismiss, ACME).correction is None
    with pytest.raises(InvalidArgument) as err:
        disputes_pb.resolve_dispute(api.ResolveDisputeRequest(dispute_id="x", dismiss=False), ACME)
    assert err.value.field == "dismiss"


def test_an_acceptance_by_key_correction_counts_as_an_override() -> None:
    event = events_pb2.SubmissionAccepted(
        submission_id="s1",
        task_id="t1",
        contractor_id="ann",
        client_id="acme",
        project_id="p1",
        accepted_by=events_pb2.ACCEPTED_BY_KEY_CORRECTION,
        accepted_at=timestamp(T0),
    )
    outcome = pb.accepted(event, now=T0)
    assert outcome.reviewed_by is ReviewedBy.OVERRIDE and outcome.overrides
