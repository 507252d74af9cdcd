"""The matcher's ContractorAdminService for crewctl: calls, and replies as plain records.

``GrpcAdmin`` mixes ``ContractorCalls`` in and supplies the channel and call options.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

from google.protobuf import field_mask_pb2
from google.protobuf.message import Message

from crewline.ctl.api import (
    BlockRecord,
    ContractorRecord,
    NewToken,
    ProfileFields,
    QualificationChangeRecord,
    QualificationRecord,
    QualificationsReport,
    QualificationTypeRecord,
    TokenRecord,
)
from crewline.ctl.pb import timestamp_text
from crewline.protobuf import KINDS, kind_to_pb
from crewline.qualifications import Kind
from crewline.v1 import contractor_admin_service_pb2 as api
from crewline.v1 import contractor_admin_service_pb2_grpc as api_grpc
from crewline.v1 import project_pb2


def _kind(kind: project_pb2.QualificationKind.ValueType) -> str:
    found = KINDS.get(kind)
    return found.value if found else "unspecified"


def contractor_record(c: api.Contractor) -> ContractorRecord:
    """A Contractor message as a record."""
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


def token_record(token: api.ContractorToken) -> TokenRecord:
    """A ContractorToken message as a record (without the bearer secret)."""
    return {
        "token_id": token.token_id,
        "contractor_id": token.contractor_id,
        "issued_at": timestamp_text(token, "issued_at"),
        "expires_at": timestamp_text(token, "expires_at"),
        "revoked_at": timestamp_text(token, "revoked_at"),
    }


def qualification_type_record(t: api.QualificationType) -> QualificationTypeRecord:
    return {
        "name": t.name,
        "kind": _kind(t.kind),
        "description": t.description,
        "created_at": timestamp_text(t, "created_at"),
    }


def qualification_record(q: api.Qualification) -> QualificationRecord:
    """The value shows as score or text, by the type's kind (a presence type has neither)."""
    kind = _kind(q.kind)
    return {
        "contractor_id": q.contractor_id,
        "qualification": q.qualification,
        "kind": kind,
        "score": q.score if kind == Kind.SCORE else None,
        "text": q.text if kind == Kind.STRING else None,
        "granted_at": timestamp_text(q, "granted_at"),
        "updated_at": timestamp_text(q, "updated_at"),
    }


def change_record(
    e: api.QualificationHistoryEntry, kinds: dict[str, str]
) -> QualificationChangeRecord:
    """A history entry; ``kinds`` (qualification -> kind) says which value it carries."""
    name = api.QualificationChange.Name(e.change).removeprefix("QUALIFICATION_CHANGE_").lower()
    revoked = e.change == api.QUALIFICATION_CHANGE_REVOKED
    kind = kinds.get(e.qualification)
    return {
        "qualification": e.qualification,
        "change": name,
        "score": e.score if kind == Kind.SCORE and not revoked else None,
        "text": e.text if kind == Kind.STRING and not revoked else None,
        "reason": e.reason,
        "changed_at": timestamp_text(e, "changed_at"),
    }


def block_record(b: api.Block) -> BlockRecord:
    return {
        "block_id": b.block_id,
        "contractor_id": b.contractor_id,
        "project_id": b.project_id or None,
        "reason": b.reason,
        "blocked_at": timestamp_text(b, "blocked_at"),
        "lifted_at": timestamp_text(b, "lifted_at"),
    }


def _profile(target: Any, fields: ProfileFields) -> None:
    """Copy the given profile fields onto a request or Contractor message."""
    for name, value in fields.items():
        if isinstance(value, list):
            getattr(target, name).extend(value)
        else:
            setattr(target, name, value)


class ContractorCalls:
    """Operator calls to the matcher; each raises ``RpcFailed`` when refused."""

    def _channel(self, service: str) -> AbstractContextManager[Any]:
        raise NotImplementedError  # supplied by GrpcAdmin

    def _options(self) -> dict[str, Any]:
        raise NotImplementedError  # supplied by GrpcAdmin

    def _call(self, method: str, request: Message) -> Any:
        with self._channel("matcher") as channel:
            stub = api_grpc.ContractorAdminServiceStub(channel)
            return getattr(stub, method)(request, **self._options())

    def create_contractor(
        self,
        contractor_id: str,
        display_name: str,
        profile: ProfileFields | None = None,
        referred_by: str = "",
    ) -> ContractorRecord:
        request = api.CreateContractorRequest(
            contractor_id=contractor_id, display_name=display_name, referred_by=referred_by
        )
        _profile(request, profile or {})
        return contractor_record(self._call("CreateContractor", request).contractor)

    def get_contractor(self, contractor_id: str) -> ContractorRecord:
        request = api.GetContractorRequest(contractor_id=contractor_id)
        return contractor_record(self._call("GetContractor", request).contractor)

    def update_contractor(self, contractor_id: str, changes: ProfileFields) -> ContractorRecord:
        request = api.UpdateContractorRequest(
            contractor=api.Contractor(contractor_id=contractor_id),
            update_mask=field_mask_pb2.FieldMask(paths=list(changes)),
        )
        _profile(request.contractor, changes)
        return contractor_record(self._call("UpdateContractor", request).contractor)

    def deactivate_contractor(self, contractor_id: str, reason: str) -> ContractorRecord:
        request = api.DeactivateContractorRequest(contractor_id=contractor_id, reason=reason)
        return contractor_record(self._call("DeactivateContractor", request).contractor)

    def issue_token(self, contractor_id: str, ttl_seconds: int) -> NewToken:
        request = api.IssueContractorTokenRequest(
            contractor_id=contractor_id, ttl_seconds=ttl_seconds
        )
        reply = self._call("IssueContractorToken", request)
        return {"token": token_record(reply.token), "secret": reply.secret}

    def revoke_token(self, token_id: str) -> TokenRecord:
        request = api.RevokeContractorTokenRequest(token_id=token_id)
        return token_record(self._call("RevokeContractorToken", request).token)

    def define_qualification_type(
        self, name: str, kind: str, description: str
    ) -> QualificationTypeRecord:
        request = api.DefineQualificationTypeRequest(
            name=name, kind=kind_to_pb(Kind(kind)), description=description
        )
        reply = self._call("DefineQualificationType", request)
        return qualification_type_record(reply.qualification_type)

    def list_qualification_types(self) -> list[QualificationTypeRecord]:
        reply = self._call("ListQualificationTypes", api.ListQualificationTypesRequest())
        return [qualification_type_record(t) for t in reply.qualification_types]

    def grant_qualification(
        self, contractor_id: str, qualification: str, score: int | None, text: str | None
    ) -> QualificationRecord:
        request = api.GrantQualificationRequest(
            contractor_id=contractor_id, qualification=qualification, score=score, text=text
        )
        return qualification_record(self._call("GrantQualification", request).qualification)

    def revoke_qualification(self, contractor_id: str, qualification: str, reason: str) -> None:
        request = api.RevokeQualificationRequest(
            contractor_id=contractor_id, qualification=qualification, reason=reason
        )
        self._call("RevokeQualification", request)

    def list_qualifications(self, contractor_id: str) -> QualificationsReport:
        request = api.ListQualificationsRequest(contractor_id=contractor_id)
        reply = self._call("ListQualifications", request)
        kinds = {t["name"]: t["kind"] for t in self.list_qualification_types()}
        return {
            "contractor_id": contractor_id,
            "qualifications": [qualification_record(q) for q in reply.qualifications],
            "history": [change_record(e, kinds) for e in reply.history],
        }

    def block_contractor(
        self, block_id: str, contractor_id: str, project_id: str, reason: str
    ) -> BlockRecord:
        request = api.BlockContractorRequest(
            block_id=block_id, contractor_id=contractor_id, project_id=project_id, reason=reason
        )
        return block_record(self._call("BlockContractor", request).block)

    def lift_block(self, block_id: str) -> BlockRecord:
        return block_record(self._call("LiftBlock", api.LiftBlockRequest(block_id=block_id)).block)

    def list_blocks(self, contractor_id: str) -> list[BlockRecord]:
        reply = self._call("ListBlocks", api.ListBlocksRequest(contractor_id=contractor_id))
        return [block_record(b) for b in reply.blocks]
