"""Contractors and their tokens. Pure: no I/O, no protobuf."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from crewline import validate
from crewline.errors import AlreadyExists

MAX_DISPLAY_NAME = 200
DEFAULT_TOKEN_TTL = timedelta(hours=12)
MIN_TOKEN_TTL_SECONDS = 60
MAX_TOKEN_TTL_SECONDS = 30 * 24 * 3600


@dataclass(frozen=True, kw_only=True)
class CreateContractor:
    contractor_id: str
    display_name: str


def create_contractor(*, contractor_id: str, display_name: str) -> CreateContractor:
    contractor_id = validate.identifier(contractor_id, field="contractor_id")
    name = validate.text(display_name, field="display_name", max_length=MAX_DISPLAY_NAME)
    return CreateContractor(contractor_id=contractor_id, display_name=name.strip() or contractor_id)


@dataclass(frozen=True, kw_only=True)
class Contractor:
    contractor_id: str
    display_name: str
    created_at: datetime

    def answers(self, cmd: CreateContractor) -> Contractor:
        if cmd.display_name != self.display_name:
            raise AlreadyExists(
                f"contractor {self.contractor_id} exists with another display name",
                reason="CONTRACTOR_EXISTS",
            )
        return self


@dataclass(frozen=True, kw_only=True)
class IssueToken:
    contractor_id: str
    ttl: timedelta


def issue_token(*, contractor_id: str, ttl_seconds: int) -> IssueToken:
    ttl = (
        timedelta(
            seconds=validate.int_range(
                ttl_seconds,
                field="ttl_seconds",
                low=MIN_TOKEN_TTL_SECONDS,
                high=MAX_TOKEN_TTL_SECONDS,
            )
        )
        if ttl_seconds
        else DEFAULT_TOKEN_TTL
    )
    return IssueToken(
        contractor_id=validate.identifier(contractor_id, field="contractor_id"), ttl=ttl
    )


@dataclass(frozen=True, kw_only=True)
class ContractorToken:
    token_id: str
    contractor_id: str
    issued_at: datetime
    expires_at: datetime
    revoked_at: datetime | None = None

    def revoke(self, *, now: datetime) -> ContractorToken:
        """Revoked now; a token already revoked keeps its first revocation."""
        return self if self.revoked_at is not None else replace(self, revoked_at=now)
