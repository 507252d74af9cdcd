"""A contractor's offers and claims, as records; and the work segments crewctl sends."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypedDict

from crewline.ctl.pb import (
    MoneyRecord,
    field_word,
    money_field,
    timestamp_text,
)
from crewline.ctl.records.answers import AnswerSpecRecord, answer_spec_of
from crewline.ctl.records.projects import PayTermsRecord, pay_terms_record
from crewline.ctl.records.submissions import pay_fields
from crewline.ctl.records.tasks import payload

if TYPE_CHECKING:
    from crewline.client import results
    from crewline.v1 import claim_pb2
    from crewline.v1 import work_service_pb2 as work_api


class SegmentRecord(TypedDict):
    """A stretch of time worked, RFC 3339 both."""

    started_at: str
    ended_at: str


class ClaimRecord(TypedDict):
    claim_id: str
    task_id: str
    project_id: str
    project_title: str  # the project's current title; empty if the matcher lacks it
    contractor_id: str
    status: str | None  # active, submitted or ended
    granted_at: str | None
    # The lease: the claim ends then unless work is submitted or a heartbeat moves it.
    deadline_at: str | None
    max_deadline_at: str | None  # no heartbeat moves the lease past it
    worked_seconds: int  # as last reported; once submitted, the time worked
    # Set when the client cancelled or paused the work: no more heartbeats, but work
    # may be submitted until deadline_at. The reason the claim ends with if it is not.
    cut: str | None
    end_reason: str | None
    ended_at: str | None
    pay_terms: PayTermsRecord | None  # None: none shown (unpaid work)
    unpaid: bool  # an unpaid exam's question: the work is not paid
    # The shape of the result, frozen when the claim was granted; None: any bytes.
    answer_spec: AnswerSpecRecord | None
    instructions: str
    payload_json: str | None
    payload_base64: str | None
    # Once work is submitted: its review (pending, accepted or rejected), the client's
    # feedback, what it earned once accepted or will earn if accepted while pending
    # (neither once rejected), and the tracked segments as submitted.
    review: str | None
    feedback: str
    earned: MoneyRecord | None
    pending: MoneyRecord | None
    segments: list[SegmentRecord]


class ClaimPage(TypedDict):
    claims: list[ClaimRecord]
    next_page_token: str  # empty on the last page


class OfferRecord(TypedDict):
    """A task the contractor may claim now, and what a claim granted now is paid."""

    task_id: str
    project_id: str
    title: str
    instructions: str
    pay_terms: PayTermsRecord | None  # None: none shown (unpaid work)
    unpaid: bool  # an unpaid exam's question: the work is not paid
    answer_spec: AnswerSpecRecord | None  # the shape of a result a claim granted now takes
    free_slots: int
    priority: int
    published_at: str | None
    expires_at: str | None


class OfferPage(TypedDict):
    offers: list[OfferRecord]  # by priority (highest first), then oldest first
    next_page_token: str  # empty on the last page


class OfferEvent(TypedDict):
    """One thing the offers stream said."""

    # offered, withdrawn, snapshot_end (the offers so far are the whole set), resync
    # (forget every offer: a fresh snapshot follows) or keepalive.
    type: str
    task_id: str  # offered, withdrawn
    offer: OfferRecord | None  # offered
    reason: str | None  # withdrawn: filled, claimed_by_you, not_eligible or closed
    offers: int  # snapshot_end: how many offers the snapshot held


def shown_terms(pb: work_api.Offer | work_api.Claim) -> PayTermsRecord | None:
    """The message's pay terms; None when it shows none (unpaid work shows none)."""
    return pay_terms_record(pb.pay_terms) if pb.HasField("pay_terms") else None


def offer_record(pb: work_api.Offer) -> OfferRecord:
    """An Offer message as a record."""
    return {
        "task_id": pb.task_id,
        "project_id": pb.project_id,
        "title": pb.title,
        "instructions": pb.instructions,
        "pay_terms": shown_terms(pb),
        "unpaid": pb.unpaid,
        "answer_spec": answer_spec_of(pb),
        "free_slots": pb.free_slots,
        "priority": pb.priority,
        "published_at": timestamp_text(pb, "published_at"),
        "expires_at": timestamp_text(pb, "expires_at"),
    }


def _event(kind: str, **given: object) -> OfferEvent:
    event: OfferEvent = {"type": kind, "task_id": "", "offer": None, "reason": None, "offers": 0}
    event.update(given)  # type: ignore[typeddict-item]
    return event


def offer_event_record(event: Any) -> OfferEvent:
    """One event of the SDK's offers stream (``crewline.client.offers``) as a record."""
    kind = type(event).__name__
    if kind == "Offered":
        offer = offer_record(event.offer.raw)
        return _event("offered", task_id=offer["task_id"], offer=offer)
    if kind == "Withdrawn":  # its reason: a WithdrawalReason (FILLED), or None
        reason = event.reason.lower() if event.reason else None
        return _event("withdrawn", task_id=event.task_id, reason=reason)
    if kind == "SnapshotEnd":
        return _event("snapshot_end", offers=event.offers)
    return _event("resync")


def segment_record(pb: claim_pb2.WorkSegment) -> SegmentRecord:
    return {
        "started_at": pb.started_at.ToJsonString(),
        "ended_at": pb.ended_at.ToJsonString(),
    }


def segment_pb(record: SegmentRecord) -> claim_pb2.WorkSegment:
    """A segment record (RFC 3339 times) as a message; ValueError if a time is unreadable."""
    from google.protobuf.timestamp_pb2 import Timestamp

    from crewline.v1 import claim_pb2

    started, ended = Timestamp(), Timestamp()
    started.FromJsonString(record["started_at"])
    ended.FromJsonString(record["ended_at"])
    return claim_pb2.WorkSegment(started_at=started, ended_at=ended)


def claim_record(pb: work_api.Claim) -> ClaimRecord:
    """A Claim message as a record."""
    payload_json, payload_base64 = payload(pb)
    review = field_word(pb, "review")
    return {
        "claim_id": pb.claim_id,
        "task_id": pb.task_id,
        "project_id": pb.project_id,
        "project_title": pb.project_title,
        "contractor_id": pb.contractor_id,
        "status": field_word(pb, "status"),
        "granted_at": timestamp_text(pb, "granted_at"),
        "deadline_at": timestamp_text(pb, "deadline_at"),
        "max_deadline_at": timestamp_text(pb, "max_deadline_at"),
        "worked_seconds": pb.worked_seconds,
        "cut": field_word(pb, "cut"),
        "end_reason": field_word(pb, "end_reason"),
        "ended_at": timestamp_text(pb, "ended_at"),
        "pay_terms": shown_terms(pb),
        "unpaid": pb.unpaid,
        "answer_spec": answer_spec_of(pb),
        "instructions": pb.instructions,
        "payload_json": payload_json,
        "payload_base64": payload_base64,
        "review": review,
        "feedback": pb.feedback,
        **pay_fields(review, money_field(pb, "earned")),
        "segments": [segment_record(s) for s in pb.segments],
    }


def claim_page_record(reply: results.Page[results.Claim]) -> ClaimPage:
    return {
        "claims": [claim_record(c.raw) for c in reply.items],
        "next_page_token": reply.next_page_token,
    }


def offer_page_record(reply: results.Page[results.Offer]) -> OfferPage:
    return {
        "offers": [offer_record(o.raw) for o in reply.items],
        "next_page_token": reply.next_page_token,
    }


def status_filter(word: str | None) -> results.ClaimStatus | work_api.ClaimStatus.ValueType:
    """A claim status word (``submitted``) as the SDK's filter; None: any."""
    from crewline.client.results import ClaimStatus
    from crewline.v1 import work_service_pb2 as work_api

    return ClaimStatus(word.upper()) if word else work_api.CLAIM_STATUS_UNSPECIFIED
