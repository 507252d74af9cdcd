"""What the commands need from the services, in plain Python.

Commands talk to an ``Admin``; ``crewline.ctl.rpc.GrpcAdmin`` is the real one and
tests pass a fake. Records are JSON-ready dicts (timestamps as RFC 3339 strings,
``None`` when unset), so ``--json`` prints exactly what the command got.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, TypedDict

from crewline.ctl.config import Addresses


class MoneyRecord(TypedDict):
    """An amount in the currency's minor units (cents): 1250 USD is 12.50 USD."""

    currency: str
    amount_minor: int


class ClientRecord(TypedDict):
    client_id: str
    display_name: str
    created_at: str | None


class ApiKeyRecord(TypedDict):
    key_id: str
    client_id: str
    created_at: str | None
    revoked_at: str | None


class NewApiKey(TypedDict):
    key: ApiKeyRecord
    # None when the request id repeats an earlier request: a secret is shown only once.
    secret: str | None


class ContractorRecord(TypedDict):
    contractor_id: str
    display_name: str
    domains: list[str]
    languages: list[str]
    locale: str
    max_concurrent_claims: int
    referred_by: str | None
    active: bool
    revision: int
    created_at: str | None
    updated_at: str | None


class ProfileFields(TypedDict, total=False):
    """A contractor's profile fields; in an update, only those present change."""

    display_name: str
    domains: list[str]
    languages: list[str]
    locale: str
    max_concurrent_claims: int


class TokenRecord(TypedDict):
    token_id: str
    contractor_id: str
    issued_at: str | None
    expires_at: str | None
    revoked_at: str | None


class NewToken(TypedDict):
    token: TokenRecord
    secret: str


class QualificationTypeRecord(TypedDict):
    name: str
    kind: str  # score, presence or string
    description: str
    created_at: str | None


class QualificationRecord(TypedDict):
    """A qualification a contractor holds; score or text is set by the type's kind."""

    contractor_id: str
    qualification: str
    kind: str
    score: int | None
    text: str | None
    granted_at: str | None
    updated_at: str | None


class QualificationChangeRecord(TypedDict):
    qualification: str
    change: str  # granted, updated or revoked
    score: int | None
    text: str | None
    reason: str
    changed_at: str | None


class QualificationsReport(TypedDict):
    contractor_id: str
    qualifications: list[QualificationRecord]
    history: list[QualificationChangeRecord]  # oldest first


class BlockRecord(TypedDict):
    block_id: str
    contractor_id: str
    project_id: str | None  # None: every project
    reason: str
    blocked_at: str | None
    lifted_at: str | None


class HealthRow(TypedDict):
    service: str
    address: str
    liveness: str  # a ServingStatus name, UNREACHABLE, or the status code of a refusal
    readiness: str


class HealthReport(TypedDict):
    serving: bool  # every liveness and readiness check says SERVING
    services: list[HealthRow]


class RpcFailed(Exception):
    """A service answered a call with a gRPC error (or could not be reached)."""

    def __init__(
        self, *, service: str, address: str, code: str, details: str, reason: str | None = None
    ) -> None:
        super().__init__(f"{service} at {address}: {code}: {details}")
        self.service = service
        self.address = address
        self.code = code  # a grpc.StatusCode name, e.g. "NOT_FOUND"
        self.details = details
        self.reason = reason  # google.rpc.ErrorInfo.reason, when the server sent one


class Admin(Protocol):
    """The operator calls crewctl makes. Each raises ``RpcFailed`` when refused."""

    def create_client(self, client_id: str, display_name: str) -> ClientRecord: ...

    def create_api_key(self, client_id: str, request_id: str) -> NewApiKey: ...

    def list_api_keys(self, client_id: str) -> list[ApiKeyRecord]: ...

    def revoke_api_key(self, key_id: str) -> ApiKeyRecord: ...

    def create_contractor(
        self,
        contractor_id: str,
        display_name: str,
        profile: ProfileFields | None = None,
        referred_by: str = "",
    ) -> ContractorRecord: ...

    def get_contractor(self, contractor_id: str) -> ContractorRecord: ...

    def update_contractor(self, contractor_id: str, changes: ProfileFields) -> ContractorRecord: ...

    def deactivate_contractor(self, contractor_id: str, reason: str) -> ContractorRecord: ...

    def issue_token(self, contractor_id: str, ttl_seconds: int) -> NewToken: ...

    def revoke_token(self, token_id: str) -> TokenRecord: ...

    def define_qualification_type(
        self, name: str, kind: str, description: str
    ) -> QualificationTypeRecord: ...

    def list_qualification_types(self) -> list[QualificationTypeRecord]: ...

    def grant_qualification(
        self, contractor_id: str, qualification: str, score: int | None, text: str | None
    ) -> QualificationRecord: ...

    def revoke_qualification(self, contractor_id: str, qualification: str, reason: str) -> None: ...

    def list_qualifications(self, contractor_id: str) -> QualificationsReport: ...

    def block_contractor(
        self, block_id: str, contractor_id: str, project_id: str, reason: str
    ) -> BlockRecord: ...

    def lift_block(self, block_id: str) -> BlockRecord: ...

    def list_blocks(self, contractor_id: str) -> list[BlockRecord]: ...

    def health(self) -> list[HealthRow]: ...


# Builds an Admin for the resolved addresses and credential (None: call without one).
AdminFactory = Callable[[Addresses, str | None], Admin]
