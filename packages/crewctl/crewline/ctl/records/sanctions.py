"""Quality rules, sanctions with their evidence, and appeals from the quality service, as
records. A rule's record has the shape of a rules file's entry (``crewctl quality rules
set -f``), so what ``rules get --json`` prints can be set again as it is."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, TypedDict

from crewline.ctl.pb import field_word, timestamp_text
from crewline.ctl.records.exports import readable

if TYPE_CHECKING:
    from crewline.client import results
    from crewline.v1 import quality_service_pb2 as quality_api

# The words of the protos' enums (test_crewctl_sanctions holds them equal to the SDK's),
# written out so that loading crewctl imports no generated code.
MEASURES = ("gold_accuracy", "acceptance_rate", "time_flag_share")
ACTIONS = ("suspend", "review_all", "notify")
SANCTION_STATES = ("active", "ended", "lifted")
APPEAL_STATES = ("pending", "upheld", "denied")
_UNITS = (("d", 86_400), ("h", 3_600), ("m", 60))


class RuleRecord(TypedDict):
    rule_id: str
    measure: str | None  # gold_accuracy, acceptance_rate or time_flag_share
    below: int | None  # the condition: strictly below, or strictly above, 0-100
    above: int | None
    min_sample: int | None  # answers or submissions needed before it acts
    action: str | None  # suspend, review_all or notify
    duration: str | None  # how long a sanction holds: 3d, 36h, 90m, 45s; none for notify


class RulesRecord(TypedDict):
    project_id: str
    rules: list[RuleRecord]


class GoldEvidenceRecord(TypedDict):
    correct: bool
    answer: Any  # the contractor's answer, JSON
    expected: Any  # the gold's key, JSON
    # The task's payload under one of three names: JSON, else UTF-8 text, else base64.
    payload: Any
    payload_text: str | None
    payload_base64: str | None


class ReviewEvidenceRecord(TypedDict):
    accepted: bool
    feedback: str


class FlagEvidenceRecord(TypedDict):
    flagged: bool


class EvidenceRecord(TypedDict):
    task_id: str
    submission_id: str  # the claim id
    submitted_at: str | None
    kind: str | None  # gold, review or flag: which of the three below is set
    gold: GoldEvidenceRecord | None
    review: ReviewEvidenceRecord | None
    flag: FlagEvidenceRecord | None


class SanctionRecord(TypedDict):
    sanction_id: str
    contractor_id: str
    project_id: str
    client_id: str
    rule: RuleRecord | None  # as it was when it acted
    action: str | None
    measured_value: int  # 0-100
    sample: int  # how many answers or submissions the value rests on
    state: str | None  # active, ended or lifted
    imposed_at: str | None
    ends_at: str | None
    ended_at: str | None
    evidence: list[EvidenceRecord]  # newest first


class SanctionPage(TypedDict):
    sanctions: list[SanctionRecord]  # newest first
    next_page_token: str  # empty on the last page


class AppealRecord(TypedDict):
    appeal_id: str
    contractor_id: str
    project_id: str
    client_id: str
    sanction_id: str | None  # what is appealed: a sanction, or a rejected submission
    submission_id: str | None
    text: str
    state: str | None  # pending, upheld or denied
    filed_at: str | None
    decide_by: str | None  # still pending then: upheld
    decided_at: str | None
    decided_by: str | None  # client, operator or deadline
    decision_note: str
    accepted_submission_ids: list[str]  # upheld: the rejections it turned into acceptances


class AppealPage(TypedDict):
    appeals: list[AppealRecord]
    next_page_token: str  # empty on the last page


def duration_text(seconds: int) -> str:
    """``3d``, ``36h``, ``90m``, ``45s``: in the largest whole unit, as a file takes it."""
    for unit, size in _UNITS:
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def rule_record(pb: quality_api.QualityRule) -> RuleRecord:
    condition = pb.WhichOneof("condition")
    held = pb.duration.seconds if pb.HasField("duration") else None
    return {
        "rule_id": pb.rule_id,
        "measure": field_word(pb, "measure"),
        "below": pb.below if condition == "below" else None,
        "above": pb.above if condition == "above" else None,
        "min_sample": pb.min_sample if pb.HasField("min_sample") else None,
        "action": field_word(pb, "action"),
        "duration": None if held is None else duration_text(held),
    }


def rules_record(policy: results.QualityPolicy) -> RulesRecord:
    return {
        "project_id": policy.project_id,
        "rules": [rule_record(rule) for rule in policy.raw.rules],
    }


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text or None


def _gold(pb: quality_api.GoldEvidence) -> GoldEvidenceRecord:
    chosen = pb.WhichOneof("payload")
    payload, text, raw = (
        readable(pb.payload_json if chosen == "payload_json" else pb.payload_bytes)
        if chosen
        else (None, None, None)
    )
    return {
        "correct": pb.correct,
        "answer": _json(pb.answer_json),
        "expected": _json(pb.expected_json),
        "payload": payload,
        "payload_text": text,
        "payload_base64": raw,
    }


def evidence_record(pb: quality_api.Evidence) -> EvidenceRecord:
    kind = pb.WhichOneof("item")
    return {
        "task_id": pb.task_id,
        "submission_id": pb.submission_id,
        "submitted_at": timestamp_text(pb, "submitted_at"),
        "kind": kind,
        "gold": _gold(pb.gold) if kind == "gold" else None,
        "review": (
            {"accepted": pb.review.accepted, "feedback": pb.review.feedback}
            if kind == "review"
            else None
        ),
        "flag": {"flagged": pb.flag.flagged} if kind == "flag" else None,
    }


def sanction_record(pb: quality_api.Sanction) -> SanctionRecord:
    return {
        "sanction_id": pb.sanction_id,
        "contractor_id": pb.contractor_id,
        "project_id": pb.project_id,
        "client_id": pb.client_id,
        "rule": rule_record(pb.rule) if pb.HasField("rule") else None,
        "action": field_word(pb, "action"),
        "measured_value": pb.measured_value,
        "sample": pb.sample,
        "state": field_word(pb, "state"),
        "imposed_at": timestamp_text(pb, "imposed_at"),
        "ends_at": timestamp_text(pb, "ends_at"),
        "ended_at": timestamp_text(pb, "ended_at"),
        "evidence": [evidence_record(e) for e in pb.evidence],
    }


def appeal_record(pb: quality_api.Appeal) -> AppealRecord:
    subject = pb.WhichOneof("subject")
    return {
        "appeal_id": pb.appeal_id,
        "contractor_id": pb.contractor_id,
        "project_id": pb.project_id,
        "client_id": pb.client_id,
        "sanction_id": pb.sanction_id if subject == "sanction_id" else None,
        "submission_id": pb.submission_id if subject == "submission_id" else None,
        "text": pb.text,
        "state": field_word(pb, "state"),
        "filed_at": timestamp_text(pb, "filed_at"),
        "decide_by": timestamp_text(pb, "decide_by"),
        "decided_at": timestamp_text(pb, "decided_at"),
        "decided_by": field_word(pb, "decided_by"),
        "decision_note": pb.decision_note,
        "accepted_submission_ids": list(pb.accepted_submission_ids),
    }


def sanction_page(reply: results.Page[results.Sanction]) -> SanctionPage:
    return {
        "sanctions": [sanction_record(s.raw) for s in reply.items],
        "next_page_token": reply.next_page_token,
    }


def appeal_page(reply: results.Page[results.Appeal]) -> AppealPage:
    return {
        "appeals": [appeal_record(a.raw) for a in reply.items],
        "next_page_token": reply.next_page_token,
    }
