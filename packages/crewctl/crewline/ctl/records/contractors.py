"""Contractors, their tokens, qualifications and blocks, as records; and a contractor's
profile fields as the Contractor message an update sends."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypedDict

from crewline.ctl.pb import enum_number, field_word, timestamp_text

if TYPE_CHECKING:
    from crewline.v1 import contractor_admin_service_pb2 as contractor_admin

KINDS = ("score", "presence", "string")


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
    client_id: str | None  # the client that may attach an exam granting it; None: operators
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


def contractor_record(c: contractor_admin.Contractor) -> ContractorRecord:
    return {
        "contractor_id": c.contractor_id,
        "display_name": c.display_name,
        "domains": list(c.domains),
        "languages": list(c.languages),
        "locale": c.locale,
        "max_concurrent_claims": c.max_concurrent_claims,
        "referred_by": c.referred_by or None,
        "active": c.active,
        "revision": c.revision,
        "created_at": timestamp_text(c, "created_at"),
        "updated_at": timestamp_text(c, "updated_at"),
    }


def profile_contractor(contractor_id: str, fields: ProfileFields) -> contractor_admin.Contractor:
    """The Contractor message an update sends: its id and the given fields."""
    from crewline.v1 import contractor_admin_service_pb2 as contractor_admin

    contractor = contractor_admin.Contractor(contractor_id=contractor_id)
    for name, value in fields.items():
        if isinstance(value, list):
            getattr(contractor, name).extend(value)
        else:
            setattr(contractor, name, value)
    return contractor


def token_record(token: contractor_admin.ContractorToken) -> TokenRecord:
    """A ContractorToken as a record (without the bearer secret)."""
    return {
        "token_id": token.token_id,
        "contractor_id": token.contractor_id,
        "issued_at": timestamp_text(token, "issued_at"),
        "expires_at": timestamp_text(token, "expires_at"),
        "revoked_at": timestamp_text(token, "revoked_at"),
    }


def new_token_record(reply: contractor_admin.IssueContractorTokenResponse) -> NewToken:
    return {"token": token_record(reply.token), "secret": reply.secret}


def kind_number(kind: str) -> int:
    """``score`` -> QUALIFICATION_KIND_SCORE's number."""
    from crewline.v1 import project_pb2

    return enum_number(project_pb2.QualificationKind.DESCRIPTOR, kind)


def _kind(message: contractor_admin.QualificationType | contractor_admin.Qualification) -> str:
    return field_word(message, "kind") or "unspecified"


def qualification_type_record(t: contractor_admin.QualificationType) -> QualificationTypeRecord:
    return {
        "name": t.name,
        "kind": _kind(t),
        "description": t.description,
        "client_id": t.client_id or None,
        "created_at": timestamp_text(t, "created_at"),
    }


def qualification_record(q: contractor_admin.Qualification) -> QualificationRecord:
    """The value shows as score or text, by the type's kind (a presence type has neither)."""
    kind = _kind(q)
    return {
        "contractor_id": q.contractor_id,
        "qualification": q.qualification,
        "kind": kind,
        "score": q.score if kind == "score" else None,
        "text": q.text if kind == "string" else None,
        "granted_at": timestamp_text(q, "granted_at"),
        "updated_at": timestamp_text(q, "updated_at"),
    }


def change_record(
    e: contractor_admin.QualificationHistoryEntry, kinds: dict[str, str]
) -> QualificationChangeRecord:
    """A history entry; ``kinds`` (qualification -> kind) says which value it carries."""
    change = field_word(e, "change")
    revoked = change == "revoked"
    kind = kinds.get(e.qualification)
    return {
        "qualification": e.qualification,
        "change": change or "unspecified",
        "score": e.score if kind == "score" and not revoked else None,
        "text": e.text if kind == "string" and not revoked else None,
        "reason": e.reason,
        "changed_at": timestamp_text(e, "changed_at"),
    }


def qualifications_report(
    contractor_id: str,
    held: contractor_admin.ListQualificationsResponse,
    types: list[contractor_admin.QualificationType],
) -> QualificationsReport:
    kinds = {t.name: _kind(t) for t in types}
    return {
        "contractor_id": contractor_id,
        "qualifications": [qualification_record(q) for q in held.qualifications],
        "history": [change_record(e, kinds) for e in held.history],
    }


def block_record(b: contractor_admin.Block) -> BlockRecord:
    return {
        "block_id": b.block_id,
        "contractor_id": b.contractor_id,
        "project_id": b.project_id or None,
        "reason": b.reason,
        "blocked_at": timestamp_text(b, "blocked_at"),
        "lifted_at": timestamp_text(b, "lifted_at"),
    }
