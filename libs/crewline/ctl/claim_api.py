"""What ``crewctl claim ...`` needs from the matcher, in plain Python.

A contractor's calls, made with the contractor's token; ``crewline.ctl.claim_rpc.GrpcClaims``
is the real one, tests pass a fake. Records are JSON-ready dicts, like
``crewline.ctl.api``'s.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, TypedDict

from crewline.ctl.config import Addresses
from crewline.ctl.project_api import PayTermsRecord


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
    worked_seconds: int  # as last reported
    # Set when the client cancelled or paused the work: no more heartbeats, but work
    # may be submitted until deadline_at. The reason the claim ends with if it is not.
    cut: str | None
    end_reason: str | None
    ended_at: str | None
    pay_terms: PayTermsRecord
    instructions: str
    payload_json: str | None
    payload_base64: str | None


class ClaimPage(TypedDict):
    claims: list[ClaimRecord]
    next_page_token: str  # empty on the last page


class Claims(Protocol):
    """A contractor's claim calls. Each raises ``RpcFailed`` when refused."""

    def get_claim(self, claim_id: str) -> ClaimRecord: ...

    def list_claims(
        self, status: str | None, task_id: str, project_id: str, page_size: int, page_token: str
    ) -> ClaimPage: ...

    def heartbeat(self, claim_id: str, worked_seconds: int) -> ClaimRecord: ...

    def release(self, claim_id: str) -> ClaimRecord: ...


# Builds a Claims for the resolved addresses and the contractor's token.
ClaimsFactory = Callable[[Addresses, str], Claims]
