"""Contractors, their profiles and their tokens. Pure: no I/O, no protobuf."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TypeVar

from crewline import validate
from crewline.errors import AlreadyExists, FailedPrecondition, InvalidArgument

MAX_DISPLAY_NAME = 200
MAX_LIST_ENTRIES = 32  # domains, languages
MAX_LIST_ENTRY = 64
MAX_LOCALE = 16
MAX_CONCURRENT_CLAIMS = 100
DEFAULT_CONCURRENT_CLAIMS = 3
MAX_REASON = 500
DEFAULT_TOKEN_TTL = timedelta(hours=12)
MIN_TOKEN_TTL_SECONDS = 60
MAX_TOKEN_TTL_SECONDS = 30 * 24 * 3600
T = TypeVar("T")
# What UpdateContractor may change; referred_by is set once, at creation.
UPDATABLE = ("display_name", "domains", "languages", "locale", "max_concurrent_claims")


def _entries(values: Sequence[str], *, field: str) -> tuple[str, ...]:
    if len(values) > MAX_LIST_ENTRIES:
        raise InvalidArgument(field, f"must hold at most {MAX_LIST_ENTRIES} entries")
    for i, value in enumerate(values):
        if not value or len(value) > MAX_LIST_ENTRY or "\x00" in value:
            raise InvalidArgument(
                f"{field}[{i}]", f"must be 1-{MAX_LIST_ENTRY} characters, without NUL"
            )
        if value in values[:i]:
            raise InvalidArgument(f"{field}[{i}]", f"repeats {value!r}")
    return tuple(values)


def _display_name(value: str, *, field: str) -> str:
    name = validate.text(value, field=field, max_length=MAX_DISPLAY_NAME).strip()
    if not name:
        raise InvalidArgument(field, "is required")
    return name


def _max_claims(value: int, *, field: str) -> int:
    return validate.int_range(value, field=field, low=1, high=MAX_CONCURRENT_CLAIMS)


def operator_reason(value: str, *, field: str = "reason", required: bool = True) -> str:
    """Why an operator did something, for the record: up to 500 characters."""
    text = validate.text(value, field=field, max_length=MAX_REASON).strip()
    if required and not text:
        raise InvalidArgument(field, "is required")
    return text


@dataclass(frozen=True, kw_only=True)
class CreateContractor:
    contractor_id: str
    display_name: str
    domains: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    locale: str = ""
    max_concurrent_claims: int = DEFAULT_CONCURRENT_CLAIMS
    referred_by: str | None = None

    def new(self, *, now: datetime) -> Contractor:
        return Contractor(
            contractor_id=self.contractor_id,
            display_name=self.display_name,
            domains=self.domains,
            languages=self.languages,
            locale=self.locale,
            max_concurrent_claims=self.max_concurrent_claims,
            referred_by=self.referred_by,
            created_at=now,
            updated_at=now,
        )


def create_contractor(
    *,
    contractor_id: str,
    display_name: str,
    domains: Sequence[str] = (),
    languages: Sequence[str] = (),
    locale: str = "",
    max_concurrent_claims: int = 0,
    referred_by: str = "",
) -> CreateContractor:
    contractor_id = validate.identifier(contractor_id, field="contractor_id")
    name = validate.text(display_name, field="display_name", max_length=MAX_DISPLAY_NAME)
    referrer = validate.identifier(referred_by, field="referred_by") if referred_by else None
    if referrer == contractor_id:
        raise InvalidArgument("referred_by", "must name another contractor")
    return CreateContractor(
        contractor_id=contractor_id,
        display_name=name.strip() or contractor_id,
        domains=_entries(domains, field="domains"),
        languages=_entries(languages, field="languages"),
        locale=validate.text(locale, field="locale", max_length=MAX_LOCALE),
        max_concurrent_claims=(
            _max_claims(max_concurrent_claims, field="max_concurrent_claims")
            if max_concurrent_claims
            else DEFAULT_CONCURRENT_CLAIMS
        ),
        referred_by=referrer,
    )


@dataclass(frozen=True, kw_only=True)
class UpdateContractor:
    """The fields to change; None: not in the update mask."""

    contractor_id: str
    display_name: str | None = None
    domains: tuple[str, ...] | None = None
    languages: tuple[str, ...] | None = None
    locale: str | None = None
    max_concurrent_claims: int | None = None


def update_contractor(
    *,
    contractor_id: str,
    paths: Sequence[str],
    display_name: str,
    domains: Sequence[str],
    languages: Sequence[str],
    locale: str,
    max_concurrent_claims: int,
) -> UpdateContractor:
    """Only the fields named in ``paths`` are checked and changed (they live in ``contractor``)."""
    contractor_id = validate.identifier(contractor_id, field="contractor.contractor_id")
    if not paths:
        raise InvalidArgument("update_mask", f"must name at least one of {', '.join(UPDATABLE)}")
    for path in paths:
        if path not in UPDATABLE:
            raise InvalidArgument(
                "update_mask", f"cannot update {path!r}; allowed: {', '.join(UPDATABLE)}"
            )
    named = set(paths)
    return UpdateContractor(
        contractor_id=contractor_id,
        display_name=(
            _display_name(display_name, field="contractor.display_name")
            if "display_name" in named
            else None
        ),
        domains=_entries(domains, field="contractor.domains") if "domains" in named else None,
        languages=(
            _entries(languages, field="contractor.languages") if "languages" in named else None
        ),
        locale=(
            validate.text(locale, field="contractor.locale", max_length=MAX_LOCALE)
            if "locale" in named
            else None
        ),
        max_concurrent_claims=(
            _max_claims(max_concurrent_claims, field="contractor.max_concurrent_claims")
            if "max_concurrent_claims" in named
            else None
        ),
    )


@dataclass(frozen=True, kw_only=True)
class DeactivateContractor:
    contractor_id: str
    reason: str


def deactivate_contractor(*, contractor_id: str, reason: str) -> DeactivateContractor:
    return DeactivateContractor(
        contractor_id=validate.identifier(contractor_id, field="contractor_id"),
        reason=operator_reason(reason),
    )


@dataclass(frozen=True, kw_only=True)
class Contractor:
    contractor_id: str
    display_name: str
    created_at: datetime
    updated_at: datetime
    domains: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    locale: str = ""
    max_concurrent_claims: int = DEFAULT_CONCURRENT_CLAIMS
    referred_by: str | None = None
    active: bool = True
    revision: int = 1  # +1 on every change to the record

    def answers(self, cmd: CreateContractor) -> Contractor:
        """This contractor, when a repeated CreateContractor asks for what it already is."""
        if _asked(cmd) != _asked(self):
            raise AlreadyExists(
                f"contractor {self.contractor_id} exists with other fields",
                reason="CONTRACTOR_EXISTS",
            )
        return self

    def updated(self, cmd: UpdateContractor, *, now: datetime) -> Contractor:
        """The contractor with the masked fields changed; itself when nothing changes."""
        changed = replace(
            self,
            display_name=_given(cmd.display_name, self.display_name),
            domains=_given(cmd.domains, self.domains),
            languages=_given(cmd.languages, self.languages),
            locale=_given(cmd.locale, self.locale),
            max_concurrent_claims=_given(cmd.max_concurrent_claims, self.max_concurrent_claims),
        )
        if changed == self:
            return self
        return replace(changed, updated_at=now, revision=self.revision + 1)

    def deactivated(self, *, now: datetime) -> Contractor:
        """Inactive from now; a contractor already inactive is returned unchanged."""
        if not self.active:
            return self
        return replace(self, active=False, updated_at=now, revision=self.revision + 1)

    def check_active(self) -> None:
        if not self.active:
            raise FailedPrecondition(
                f"contractor {self.contractor_id} is deactivated", reason="CONTRACTOR_INACTIVE"
            )


def _given(value: T | None, current: T) -> T:
    return current if value is None else value


def _asked(c: Contractor | CreateContractor) -> tuple[object, ...]:
    """The fields a CreateContractor sets."""
    return (
        c.display_name,
        c.domains,
        c.languages,
        c.locale,
        c.max_concurrent_claims,
        c.referred_by,
    )


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
