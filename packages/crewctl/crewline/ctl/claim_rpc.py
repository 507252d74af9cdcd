"""The matcher's claim calls for crewctl, made with a contractor's token.

Protobuf stops here: replies become the records of ``crewline.ctl.claim_api``.
"""

from __future__ import annotations

from collections.abc import Iterator

from google.protobuf.timestamp_pb2 import Timestamp

from crewline.ctl.claim_api import (
    ClaimPage,
    ClaimRecord,
    OfferEvent,
    OfferPage,
    OfferRecord,
    SegmentRecord,
)
from crewline.ctl.config import Addresses
from crewline.ctl.pb import enum_number, enum_word, money_field, timestamp_text
from crewline.ctl.project_rpc import pay_terms_record
from crewline.ctl.rpc import Caller, ServiceCalls
from crewline.ctl.task_rpc import payload
from crewline.v1 import claim_pb2
from crewline.v1 import work_service_pb2 as api
from crewline.v1 import work_service_pb2_grpc as api_grpc

CLAIM_STATUS = api.ClaimStatus.DESCRIPTOR
_END_REASON = claim_pb2.ClaimEndReason.DESCRIPTOR
_REVIEW = claim_pb2.ReviewState.DESCRIPTOR
_WITHDRAWAL = api.WithdrawalReason.DESCRIPTOR


def offer_record(pb: api.Offer) -> OfferRecord:
    """An Offer message as a record."""
    return {
        "task_id": pb.task_id,
        "project_id": pb.project_id,
        "title": pb.title,
        "instructions": pb.instructions,
        "pay_terms": pay_terms_record(pb.pay_terms),
        "free_slots": pb.free_slots,
        "priority": pb.priority,
        "published_at": timestamp_text(pb, "published_at"),
        "expires_at": timestamp_text(pb, "expires_at"),
    }


def _event(kind: str, **given: object) -> OfferEvent:
    event: OfferEvent = {"type": kind, "task_id": "", "offer": None, "reason": None, "offers": 0}
    event.update(given)  # type: ignore[typeddict-item]
    return event


def offer_events(pb: api.StreamOffersResponse) -> list[OfferEvent]:
    """One message of the offers stream as the events it holds, in order."""
    kind = pb.WhichOneof("event")
    if kind == "changes":
        found: list[OfferEvent] = []
        for change in pb.changes.changes:
            if change.WhichOneof("change") == "offered":
                offer = offer_record(change.offered)
                found.append(_event("offered", task_id=offer["task_id"], offer=offer))
            elif change.WhichOneof("change") == "withdrawn":
                reason = enum_word(_WITHDRAWAL, change.withdrawn.reason)
                found.append(_event("withdrawn", task_id=change.withdrawn.task_id, reason=reason))
        return found
    if kind == "snapshot_end":
        return [_event("snapshot_end", offers=pb.snapshot_end.offers)]
    if kind in ("resync", "keepalive"):
        return [_event(kind)]
    return []


def segment_record(pb: claim_pb2.WorkSegment) -> SegmentRecord:
    return {
        "started_at": pb.started_at.ToJsonString(),
        "ended_at": pb.ended_at.ToJsonString(),
    }


def segment_pb(record: SegmentRecord) -> claim_pb2.WorkSegment:
    """A segment record (RFC 3339 times) as a message; ValueError if a time is unreadable."""
    started, ended = Timestamp(), Timestamp()
    started.FromJsonString(record["started_at"])
    ended.FromJsonString(record["ended_at"])
    return claim_pb2.WorkSegment(started_at=started, ended_at=ended)


def claim_record(pb: api.Claim) -> ClaimRecord:
    """A Claim message as a record."""
    payload_json, payload_base64 = payload(pb)
    return {
        "claim_id": pb.claim_id,
        "task_id": pb.task_id,
        "project_id": pb.project_id,
        "contractor_id": pb.contractor_id,
        "status": enum_word(CLAIM_STATUS, pb.status),
        "granted_at": timestamp_text(pb, "granted_at"),
        "deadline_at": timestamp_text(pb, "deadline_at"),
        "max_deadline_at": timestamp_text(pb, "max_deadline_at"),
        "worked_seconds": pb.worked_seconds,
        "cut": enum_word(_END_REASON, pb.cut),
        "end_reason": enum_word(_END_REASON, pb.end_reason),
        "ended_at": timestamp_text(pb, "ended_at"),
        "pay_terms": pay_terms_record(pb.pay_terms),
        "instructions": pb.instructions,
        "payload_json": payload_json,
        "payload_base64": payload_base64,
        "review": enum_word(_REVIEW, pb.review),
        "feedback": pb.feedback,
        "earned": money_field(pb, "earned"),
        "segments": [segment_record(s) for s in pb.segments],
    }


class GrpcClaims:
    """Calls the matcher's WorkService with ``authorization: Bearer <contractor token>``."""

    def __init__(self, calls: Caller) -> None:
        self._calls = calls

    @classmethod
    def connect(cls, addresses: Addresses, credential: str) -> GrpcClaims:
        """Calls to the matcher's WorkService with the contractor's token."""
        return cls(
            ServiceCalls(
                service="matcher",
                address=addresses.matcher,
                stub=api_grpc.WorkServiceStub,
                credential=credential,
                tls=addresses.tls,
            )
        )

    def list_offers(self, project_id: str, page_size: int, page_token: str) -> OfferPage:
        request = api.ListOffersRequest(
            project_id=project_id, page_size=page_size, page_token=page_token
        )
        reply = self._calls.call("ListOffers", request)
        return {
            "offers": [offer_record(o) for o in reply.offers],
            "next_page_token": reply.next_page_token,
        }

    def stream_offers(self, project_id: str, max_offers: int) -> Iterator[OfferEvent]:
        request = api.StreamOffersRequest(project_id=project_id, max_offers=max_offers)
        for reply in self._calls.stream("StreamOffers", request):
            yield from offer_events(reply)

    def claim_task(self, request_id: str, task_id: str) -> ClaimRecord:
        request = api.ClaimTaskRequest(request_id=request_id, task_id=task_id)
        return claim_record(self._calls.call("ClaimTask", request).claim)

    def get_claim(self, claim_id: str) -> ClaimRecord:
        reply = self._calls.call("GetClaim", api.GetClaimRequest(claim_id=claim_id))
        return claim_record(reply.claim)

    def list_claims(
        self, status: str | None, task_id: str, project_id: str, page_size: int, page_token: str
    ) -> ClaimPage:
        request = api.ListMyClaimsRequest(
            task_id=task_id, project_id=project_id, page_size=page_size, page_token=page_token
        )
        if status:
            request.status = enum_number(CLAIM_STATUS, status)  # type: ignore[assignment]
        reply = self._calls.call("ListMyClaims", request)
        return {
            "claims": [claim_record(c) for c in reply.claims],
            "next_page_token": reply.next_page_token,
        }

    def heartbeat(self, claim_id: str, worked_seconds: int) -> ClaimRecord:
        request = api.HeartbeatClaimRequest(claim_id=claim_id, worked_seconds=worked_seconds)
        return claim_record(self._calls.call("HeartbeatClaim", request).claim)

    def release(self, claim_id: str) -> ClaimRecord:
        reply = self._calls.call("ReleaseClaim", api.ReleaseClaimRequest(claim_id=claim_id))
        return claim_record(reply.claim)

    def submit(
        self,
        claim_id: str,
        result: bytes,
        worked_seconds: int,
        segments: list[SegmentRecord],
    ) -> ClaimRecord:
        request = api.SubmitWorkRequest(
            claim_id=claim_id,
            result=result,
            worked_seconds=worked_seconds,
            segments=[segment_pb(s) for s in segments],
        )
        return claim_record(self._calls.call("SubmitWork", request).claim)
