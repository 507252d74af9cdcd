"""``Operator``: the platform's own calls: clients and keys (dispatcher), contractors,
tokens, qualifications and blocks (matcher); from ``Listings``, the lists of contractors,
clients and bonuses; from ``Upkeep``, payouts and verification (ledger), each service's
dead letters and deadlines, and health; and, from ``ContractorScores``, ``Sanctions``,
``Disputes`` and ``Exams``, any contractor's scores, sanctions, appeals and disputes of
gold keys, and the exams that grant qualification types (quality)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from google.protobuf import field_mask_pb2

from crewline.client.config import (
    DEFAULT_TIMEOUT,
    OPERATOR_CREDENTIAL_ENV,
    Endpoints,
    credential_from,
    credential_or_none,
)
from crewline.client.disputes import Disputes
from crewline.client.exams import Exams
from crewline.client.ids import request_id_or_new
from crewline.client.listings import Listings
from crewline.client.sanctions import Sanctions
from crewline.client.scores import ContractorScores
from crewline.client.streams import Reconnect
from crewline.v1 import client_admin_service_pb2 as client_admin
from crewline.v1 import contractor_admin_service_pb2 as contractor_admin
from crewline.v1 import project_pb2


class Operator(Listings, ContractorScores, Sanctions, Disputes, Exams):
    """The operator's calls, authenticated by the operator credential (default
    ``CREWLINE_OPERATOR_CREDENTIAL``). ``async with`` closes its channels.

    With ``credential_required=False`` and no credential given or set, calls go without
    one: the health calls answer so (a probe needs no secret), every other is refused.
    """

    def __init__(
        self,
        *,
        credential: str | None = None,
        dispatcher: str | None = None,
        matcher: str | None = None,
        ledger: str | None = None,
        quality: str | None = None,
        endpoints: Endpoints | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        reconnect: Reconnect | None = None,
        env: Mapping[str, str] | None = None,
        credential_required: bool = True,
    ) -> None:
        super().__init__(
            credential=(
                credential_from(
                    credential, variable=OPERATOR_CREDENTIAL_ENV, env=env, who="Operator"
                )
                if credential_required
                else credential_or_none(credential, variable=OPERATOR_CREDENTIAL_ENV, env=env)
            ),
            endpoints=endpoints,
            addresses={
                "dispatcher": dispatcher,
                "matcher": matcher,
                "ledger": ledger,
                "quality": quality,
            },
            timeout=timeout,
            reconnect=reconnect,
            env=env,
        )

    # --- clients and API keys (dispatcher) -----------------------------------

    async def create_client(self, client_id: str, *, display_name: str = "") -> client_admin.Client:
        """The client, made if new (repeating it returns the same client)."""
        request = client_admin.CreateClientRequest(client_id=client_id, display_name=display_name)
        reply = await self._clients("CreateClient", request, client_admin.CreateClientResponse)
        return reply.client

    async def create_api_key(
        self, client_id: str, *, request_id: str | None = None
    ) -> client_admin.CreateApiKeyResponse:
        """A new API key; ``secret`` (the credential) is shown only in this reply."""
        request = client_admin.CreateApiKeyRequest(
            request_id=request_id_or_new(request_id), client_id=client_id
        )
        return await self._clients("CreateApiKey", request, client_admin.CreateApiKeyResponse)

    async def api_keys(self, client_id: str) -> list[client_admin.ApiKey]:
        request = client_admin.ListApiKeysRequest(client_id=client_id)
        reply = await self._clients("ListApiKeys", request, client_admin.ListApiKeysResponse)
        return list(reply.keys)

    async def revoke_api_key(self, key_id: str) -> client_admin.ApiKey:
        request = client_admin.RevokeApiKeyRequest(key_id=key_id)
        reply = await self._clients("RevokeApiKey", request, client_admin.RevokeApiKeyResponse)
        return reply.key

    # --- contractors and tokens (matcher) ------------------------------------

    async def create_contractor(
        self,
        contractor_id: str,
        *,
        display_name: str = "",
        domains: Iterable[str] = (),
        languages: Iterable[str] = (),
        locale: str = "",
        max_concurrent_claims: int = 0,
        referred_by: str = "",
    ) -> contractor_admin.Contractor:
        """The contractor, made if new (repeating it returns the same contractor)."""
        request = contractor_admin.CreateContractorRequest(
            contractor_id=contractor_id,
            display_name=display_name,
            domains=list(domains),
            languages=list(languages),
            locale=locale,
            max_concurrent_claims=max_concurrent_claims,
            referred_by=referred_by,
        )
        reply = await self._contractors(
            "CreateContractor", request, contractor_admin.CreateContractorResponse
        )
        return reply.contractor

    async def get_contractor(self, contractor_id: str) -> contractor_admin.Contractor:
        request = contractor_admin.GetContractorRequest(contractor_id=contractor_id)
        reply = await self._contractors(
            "GetContractor", request, contractor_admin.GetContractorResponse
        )
        return reply.contractor

    async def update_contractor(
        self, contractor: contractor_admin.Contractor, *, paths: Iterable[str]
    ) -> contractor_admin.Contractor:
        """Sets the fields named in ``paths`` to their values in ``contractor``."""
        request = contractor_admin.UpdateContractorRequest(
            contractor=contractor, update_mask=field_mask_pb2.FieldMask(paths=list(paths))
        )
        reply = await self._contractors(
            "UpdateContractor", request, contractor_admin.UpdateContractorResponse
        )
        return reply.contractor

    async def deactivate_contractor(
        self, contractor_id: str, *, reason: str = ""
    ) -> contractor_admin.Contractor:
        request = contractor_admin.DeactivateContractorRequest(
            contractor_id=contractor_id, reason=reason
        )
        reply = await self._contractors(
            "DeactivateContractor", request, contractor_admin.DeactivateContractorResponse
        )
        return reply.contractor

    async def issue_token(
        self, contractor_id: str, *, ttl_seconds: int = 0
    ) -> contractor_admin.IssueContractorTokenResponse:
        """A new contractor token; ``secret`` is the credential. Not retried (each call
        issues another token)."""
        request = contractor_admin.IssueContractorTokenRequest(
            contractor_id=contractor_id, ttl_seconds=ttl_seconds
        )
        return await self._contractors(
            "IssueContractorToken", request, contractor_admin.IssueContractorTokenResponse
        )

    async def revoke_token(self, token_id: str) -> contractor_admin.ContractorToken:
        request = contractor_admin.RevokeContractorTokenRequest(token_id=token_id)
        reply = await self._contractors(
            "RevokeContractorToken", request, contractor_admin.RevokeContractorTokenResponse
        )
        return reply.token

    # --- qualifications and blocks (matcher) ---------------------------------

    async def define_qualification_type(
        self,
        name: str,
        *,
        kind: project_pb2.QualificationKind.ValueType,
        description: str = "",
        client_id: str = "",
    ) -> contractor_admin.QualificationType:
        """The type, defined if new. ``client_id``: a client that may attach an exam
        granting it (a SCORE type); empty: only operators may."""
        request = contractor_admin.DefineQualificationTypeRequest(
            name=name, kind=kind, description=description, client_id=client_id
        )
        reply = await self._contractors(
            "DefineQualificationType", request, contractor_admin.DefineQualificationTypeResponse
        )
        return reply.qualification_type

    async def qualification_types(self) -> list[contractor_admin.QualificationType]:
        request = contractor_admin.ListQualificationTypesRequest()
        reply = await self._contractors(
            "ListQualificationTypes", request, contractor_admin.ListQualificationTypesResponse
        )
        return list(reply.qualification_types)

    async def grant_qualification(
        self,
        contractor_id: str,
        qualification: str,
        *,
        score: int | None = None,
        text: str | None = None,
    ) -> contractor_admin.Qualification:
        """Grants (or updates) a qualification: a ``score`` or a ``text`` per its kind."""
        request = contractor_admin.GrantQualificationRequest(
            contractor_id=contractor_id, qualification=qualification
        )
        if score is not None:
            request.score = score
        if text is not None:
            request.text = text
        reply = await self._contractors(
            "GrantQualification", request, contractor_admin.GrantQualificationResponse
        )
        return reply.qualification

    async def revoke_qualification(
        self, contractor_id: str, qualification: str, *, reason: str = ""
    ) -> None:
        request = contractor_admin.RevokeQualificationRequest(
            contractor_id=contractor_id, qualification=qualification, reason=reason
        )
        await self._contractors(
            "RevokeQualification", request, contractor_admin.RevokeQualificationResponse
        )

    async def qualifications(
        self, contractor_id: str
    ) -> contractor_admin.ListQualificationsResponse:
        """What the contractor holds, and the history of changes."""
        request = contractor_admin.ListQualificationsRequest(contractor_id=contractor_id)
        return await self._contractors(
            "ListQualifications", request, contractor_admin.ListQualificationsResponse
        )

    async def block(
        self,
        contractor_id: str,
        *,
        project_id: str = "",
        reason: str = "",
        block_id: str | None = None,
    ) -> contractor_admin.Block:
        """Blocks the contractor from a project (or everything, with no ``project_id``);
        the same ``block_id`` returns the same block (one is made when not given)."""
        request = contractor_admin.BlockContractorRequest(
            block_id=request_id_or_new(block_id),
            contractor_id=contractor_id,
            project_id=project_id,
            reason=reason,
        )
        reply = await self._contractors(
            "BlockContractor", request, contractor_admin.BlockContractorResponse
        )
        return reply.block

    async def lift_block(self, block_id: str) -> contractor_admin.Block:
        request = contractor_admin.LiftBlockRequest(block_id=block_id)
        reply = await self._contractors("LiftBlock", request, contractor_admin.LiftBlockResponse)
        return reply.block

    async def blocks(self, contractor_id: str) -> list[contractor_admin.Block]:
        request = contractor_admin.ListBlocksRequest(contractor_id=contractor_id)
        reply = await self._contractors("ListBlocks", request, contractor_admin.ListBlocksResponse)
        return list(reply.blocks)
