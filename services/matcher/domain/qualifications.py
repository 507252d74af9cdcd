"""Qualification types and the qualifications contractors hold. Pure: no I/O, no protobuf.

The value rules (kinds, score range, text length) are the kernel's, shared with the
dispatcher; here are the commands and what each change leaves in the history.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from datetime import datetime

from crewline import validate
from crewline.errors import AlreadyExists, InvalidArgument
from crewline.qualifications import Kind, Value, grantable_name, type_name, value_for
from matcher.domain.contractors import operator_reason

MAX_DESCRIPTION = 500


@dataclass(frozen=True, kw_only=True)
class DefineQualificationType:
    name: str
    kind: Kind
    description: str
    client_id: str | None = None  # the client that may attach an exam granting it


def define_qualification_type(
    *, name: str, kind: Kind | None, description: str, client_id: str = ""
) -> DefineQualificationType:
    # Quality measures are built in: the quality service measures them, no one defines them.
    name = grantable_name(name, field="name")
    if kind is None:
        raise InvalidArgument("kind", "is required: score, presence or string")
    return DefineQualificationType(
        name=name,
        kind=kind,
        description=validate.text(description, field="description", max_length=MAX_DESCRIPTION),
        client_id=_exam_client(client_id, kind),
    )


def _exam_client(client_id: str, kind: Kind) -> str | None:
    """The client named by a type is the one that may attach an exam to it, and exams
    grant only SCORE types: on any other kind the name could only mislead. Whether the
    client exists is the dispatcher's to know (clients are its records), not the
    matcher's: the format is checked here, the ownership where an exam is attached."""
    if not client_id:
        return None
    client_id = validate.identifier(client_id, field="client_id")
    if kind is not Kind.SCORE:
        raise InvalidArgument(
            "client_id",
            f"names the client of an exam, which grants only score types, not {kind.value}",
        )
    return client_id


@dataclass(frozen=True, kw_only=True)
class QualificationType:
    name: str
    kind: Kind
    description: str
    created_at: datetime
    client_id: str | None = None  # None: only operators may attach an exam granting it

    def answers(self, cmd: DefineQualificationType) -> QualificationType:
        """This type, when it is defined again with the same kind and client (the first
        description stays). Another client is refused, not ignored: the client decides
        who may attach an exam, and an answer that quietly kept the first would let the
        operator believe the second may."""
        if cmd.kind is not self.kind:
            raise AlreadyExists(
                f"qualification type {self.name} exists as a {self.kind.value} type",
                reason="QUALIFICATION_TYPE_EXISTS",
            )
        if cmd.client_id != self.client_id:
            owner = f"client {self.client_id}" if self.client_id else "no client"
            raise AlreadyExists(
                f"qualification type {self.name} exists for {owner}",
                reason="QUALIFICATION_TYPE_EXISTS",
            )
        return self


def unknown_type(name: str) -> InvalidArgument:
    return InvalidArgument(
        "qualification", f"names no qualification type: {name!r}", reason="UNKNOWN_QUALIFICATION"
    )


@dataclass(frozen=True, kw_only=True)
class GrantQualification:
    """The value is checked once the type's kind is known (``Held.granted``)."""

    contractor_id: str
    qualification: str
    score: int | None
    text: str | None
    reason: str = ""  # the history entry's: an operator's grant has none


def grant_qualification(
    *, contractor_id: str, qualification: str, score: int | None, text: str | None
) -> GrantQualification:
    return GrantQualification(
        contractor_id=validate.identifier(contractor_id, field="contractor_id"),
        qualification=grantable_name(qualification, field="qualification"),
        score=score,
        text=text,
    )


@dataclass(frozen=True, kw_only=True)
class RevokeQualification:
    contractor_id: str
    qualification: str
    reason: str


def revoke_qualification(
    *, contractor_id: str, qualification: str, reason: str
) -> RevokeQualification:
    return RevokeQualification(
        contractor_id=validate.identifier(contractor_id, field="contractor_id"),
        qualification=type_name(qualification, field="qualification"),
        reason=operator_reason(reason, required=False),
    )


class Change(enum.StrEnum):
    GRANTED = "granted"
    UPDATED = "updated"
    REVOKED = "revoked"


@dataclass(frozen=True, kw_only=True)
class HistoryEntry:
    contractor_id: str
    qualification: str
    change: Change
    value: Value  # after the change: None when revoked, or for a presence type
    reason: str
    changed_at: datetime


@dataclass(frozen=True, kw_only=True)
class Held:
    """A qualification a contractor holds now."""

    contractor_id: str
    qualification: str
    kind: Kind
    value: Value
    granted_at: datetime
    updated_at: datetime

    def entry(self, change: Change, *, reason: str = "") -> HistoryEntry:
        return HistoryEntry(
            contractor_id=self.contractor_id,
            qualification=self.qualification,
            change=change,
            value=None if change is Change.REVOKED else self.value,
            reason=reason,
            changed_at=self.updated_at,
        )


def granted(
    held: Held | None, cmd: GrantQualification, *, qtype: QualificationType, now: datetime
) -> tuple[Held, HistoryEntry | None]:
    """What a grant leaves held, and its history entry (None: the same value, no change)."""
    value = value_for(qtype.kind, score=cmd.score, text=cmd.text)
    if held is None:
        new = Held(
            contractor_id=cmd.contractor_id,
            qualification=qtype.name,
            kind=qtype.kind,
            value=value,
            granted_at=now,
            updated_at=now,
        )
        return new, new.entry(Change.GRANTED, reason=cmd.reason)
    if held.value == value:
        return held, None
    changed = replace(held, value=value, updated_at=now)
    return changed, changed.entry(Change.UPDATED, reason=cmd.reason)


def revoked(held: Held | None, cmd: RevokeQualification, *, now: datetime) -> HistoryEntry | None:
    """The history entry a revocation writes; None when nothing was held."""
    if held is None:
        return None
    return replace(held, updated_at=now).entry(Change.REVOKED, reason=cmd.reason)
