"""What ``crewctl claim ...`` needs from the matcher, in plain Python.

A contractor's calls, made with the contractor's token; ``crewline.ctl.claim_rpc.GrpcClaims``
is the real one, tests pass a fake. Records are JSON-ready dicts, like
``crewline.ctl.api``'s.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Protocol, TypedDict

from crewline.ctl.api import MoneyRecord
from crewline.ctl.config import Addresses
from crewline.ctl.project_api import PayTermsRecord


class SegmentRecord(TypedDict):
    """A stretch of time worked, RFC 3339 both."""

    started_at: str
    ended_at: str


class ClaimRecord(TypedDict):
    claim_id: str
    task_id: str
    project_id: str
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
    pay_terms: PayTermsRecord
    instructions: str
    payload_json: str | None
    payload_base64: str | None
    # Once work is submitted: its review (pending, accepted or rejected), the client's
    # feedback, what it earns when accepted, and the tracked segments as submitted.
    review: str | None
    feedback: str
    earned: MoneyRecord | None
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
    pay_terms: PayTermsRecord
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


class Claims(Protocol):
    """A contractor's claim calls. Each raises ``RpcFailed`` when refused."""

    def get_claim(self, claim_id: str) -> ClaimRecord: ...

    def list_offers(self, project_id: str, page_size: int, page_token: str) -> OfferPage: ...

    def stream_offers(self, project_id: str, max_offers: int) -> Iterator[OfferEvent]:
        """The offers now, then every change, live; ends (or raises ``RpcFailed``) when the
        connection does."""
        ...

    def claim_task(self, request_id: str, task_id: str) -> ClaimRecord:
        """Take a slot of ``task_id``; the same request id returns the same claim."""
        ...

    def list_claims(
        self, status: str | None, task_id: str, project_id: str, page_size: int, page_token: str
    ) -> ClaimPage: ...

    def heartbeat(self, claim_id: str, worked_seconds: int) -> ClaimRecord: ...

    def release(self, claim_id: str) -> ClaimRecord: ...

    def submit(
        self,
        claim_id: str,
        result: bytes,
        worked_seconds: int,
        segments: list[SegmentRecord],
    ) -> ClaimRecord:
        """Hand in ``result`` with the time worked: ``segments``, or ``worked_seconds``
        (0 and no segments: the last heartbeat's report counts)."""
        ...


# Builds a Claims for the resolved addresses and the contractor's token.
ClaimsFactory = Callable[[Addresses, str], Claims]
