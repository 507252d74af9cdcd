"""A client's submissions, their time flags and bonuses, as records."""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, TypedDict

from crewline.ctl.pb import MoneyRecord, field_word, money_field, timestamp_text

if TYPE_CHECKING:
    from crewline.client import results
    from crewline.v1 import events_pb2, money_pb2
    from crewline.v1 import task_service_pb2 as task_api


class BonusRecord(TypedDict):
    bonus_id: str
    idempotency_key: str  # the same key returns the same bonus, forever
    amount: MoneyRecord | None
    reason: str
    granted_at: str | None


class FlagRecord(TypedDict):
    """Why the work's time was flagged (docs/quality.md, "Time flags"). A flag decides
    nothing: flagged work is never accepted automatically, it waits for review."""

    kind: str | None  # fast or implausible_time
    evidence: str  # the rule and its numbers, in words
    worked_seconds: int
    # fast: the project's timed submissions compared with (sample_size of them), their
    # median and median absolute deviation (as measured; as used, scale_seconds), and z.
    median_seconds: float
    mad_seconds: float
    scale_seconds: float
    z_score: float
    sample_size: int
    # implausible_time: seconds also tracked on the contractor's other hourly claims.
    overlap_seconds: int
    overlapping_claims: int


class SubmissionRecord(TypedDict):
    """A submission as its client reviews it (its id is the claim's)."""

    submission_id: str
    task_id: str
    project_id: str
    contractor_id: str
    status: str | None  # pending_review, accepted or rejected
    submitted_at: str | None
    # The server's figure of what the work is paid when accepted, shown truthfully:
    # earned once accepted; pending while it awaits review (what it will earn if
    # accepted); neither once rejected.
    earned: MoneyRecord | None
    pending: MoneyRecord | None
    worked_seconds: int
    reviewed_at: str | None
    accepted_by: str | None  # client, auto_accept or override
    feedback: str
    revert_until: str | None  # until when a rejection may still be overridden
    auto_accept_at: str | None  # when unreviewed work is accepted automatically
    flags: list[FlagRecord]  # flagged work has no auto_accept_at
    bonuses: list[BonusRecord]
    # The result: as text when it is UTF-8, else base64 (one of them is set).
    result_text: str | None
    result_base64: str | None


class SubmissionPage(TypedDict):
    submissions: list[SubmissionRecord]
    next_page_token: str  # empty on the last page


class NewBonus(TypedDict):
    bonus: BonusRecord
    submission: SubmissionRecord


def result_fields(result: bytes) -> tuple[str | None, str | None]:
    """A result as (text, None) when it is UTF-8, else (None, base64)."""
    try:
        return result.decode("utf-8"), None
    except UnicodeDecodeError:
        return None, base64.b64encode(result).decode()


class PayFields(TypedDict):
    earned: MoneyRecord | None
    pending: MoneyRecord | None


def pay_fields(review: str | None, earns: MoneyRecord | None) -> PayFields:
    """What reviewed work earned, or pending work will earn if accepted, by its review
    (``accepted``, ``pending`` or ``pending_review``; anything else: neither)."""
    if review == "accepted":
        return {"earned": earns, "pending": None}
    if review in ("pending", "pending_review"):
        return {"earned": None, "pending": earns}
    return {"earned": None, "pending": None}


def bonus_record(pb: task_api.Bonus) -> BonusRecord:
    return {
        "bonus_id": pb.bonus_id,
        "idempotency_key": pb.idempotency_key,
        "amount": money_field(pb, "amount"),
        "reason": pb.reason,
        "granted_at": timestamp_text(pb, "granted_at"),
    }


def flag_record(pb: events_pb2.ReviewFlag) -> FlagRecord:
    return {
        "kind": field_word(pb, "kind"),
        "evidence": pb.evidence,
        "worked_seconds": pb.worked_seconds,
        "median_seconds": pb.median_seconds,
        "mad_seconds": pb.mad_seconds,
        "scale_seconds": pb.scale_seconds,
        "z_score": pb.z_score,
        "sample_size": pb.sample_size,
        "overlap_seconds": pb.overlap_seconds,
        "overlapping_claims": pb.overlapping_claims,
    }


def flag_kinds(flags: list[FlagRecord]) -> str | None:
    """A table cell of the flags' kinds (``fast, implausible_time``); None when unflagged."""
    return ", ".join(f["kind"] or "unknown" for f in flags) or None


def flags_text(flags: list[FlagRecord]) -> str | None:
    """Each flag on a line of its own: its kind, then the evidence the reviewer weighs."""
    return "\n".join(f"{f['kind'] or 'unknown'}: {f['evidence']}" for f in flags) or None


def submission_record(pb: task_api.Submission) -> SubmissionRecord:
    """A Submission message as a record."""
    text, encoded = result_fields(pb.result)
    status = field_word(pb, "status")
    return {
        "submission_id": pb.submission_id,
        "task_id": pb.task_id,
        "project_id": pb.project_id,
        "contractor_id": pb.contractor_id,
        "status": status,
        "submitted_at": timestamp_text(pb, "submitted_at"),
        **pay_fields(status, money_field(pb, "earned")),
        "worked_seconds": pb.worked_seconds,
        "reviewed_at": timestamp_text(pb, "reviewed_at"),
        "accepted_by": field_word(pb, "accepted_by"),
        "feedback": pb.feedback,
        "revert_until": timestamp_text(pb, "revert_until"),
        "auto_accept_at": timestamp_text(pb, "auto_accept_at"),
        "flags": [flag_record(f) for f in pb.flags],
        "bonuses": [bonus_record(b) for b in pb.bonuses],
        "result_text": text,
        "result_base64": encoded,
    }


def page_record(reply: results.Page[results.Submission]) -> SubmissionPage:
    return {
        "submissions": [submission_record(s.raw) for s in reply.items],
        "next_page_token": reply.next_page_token,
    }


def new_bonus_record(reply: task_api.GrantBonusResponse) -> NewBonus:
    return {"bonus": bonus_record(reply.bonus), "submission": submission_record(reply.submission)}


def money_pb(record: MoneyRecord) -> money_pb2.Money:
    from crewline.client import build

    return build.money(record["amount_minor"], record["currency"])


def status_filter(
    word: str | None,
) -> results.SubmissionStatus | task_api.SubmissionStatus.ValueType:
    """A submission status word (``pending_review``) as the SDK's filter; None: any."""
    from crewline.client.results import SubmissionStatus
    from crewline.v1 import task_service_pb2 as task_api

    return SubmissionStatus(word.upper()) if word else task_api.SUBMISSION_STATUS_UNSPECIFIED
