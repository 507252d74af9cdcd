"""The dispatcher's operator service: clients, their API keys, and the bonuses they granted."""

from __future__ import annotations

from typing import TypeAlias

import grpc

from crewline import validate
from crewline.auth.principal import OPERATORS
from crewline.edge import AccessPolicy
from crewline.v1 import client_admin_service_pb2 as admin_api
from crewline.v1 import client_admin_service_pb2_grpc as admin_grpc
from dispatcher.adapters import protobuf as pb
from dispatcher.adapters import review_pb
from dispatcher.deps import Deps
from dispatcher.domain import bonuses, clients
from dispatcher.handlers import clients as client_handlers

Context: TypeAlias = grpc.aio.ServicerContext


class ClientAdminServicer(admin_grpc.ClientAdminServiceServicer):
    """For operators: clients, their API keys, and the bonuses they granted."""

    def __init__(self, deps: Deps) -> None:
        self._deps = deps

    async def CreateClient(
        self, request: admin_api.CreateClientRequest, context: Context
    ) -> admin_api.CreateClientResponse:
        cmd = clients.create_client(client_id=request.client_id, display_name=request.display_name)
        client = await client_handlers.create_client(cmd, self._deps)
        return admin_api.CreateClientResponse(client=pb.client_to_pb(client))

    async def ListClients(
        self, request: admin_api.ListClientsRequest, context: Context
    ) -> admin_api.ListClientsResponse:
        query = clients.list_clients(size=request.page_size, page_token=request.page_token)
        found, token = await client_handlers.list_clients(query, self._deps)
        return admin_api.ListClientsResponse(
            clients=[pb.listed_client_to_pb(c) for c in found], next_page_token=token
        )

    async def CreateApiKey(
        self, request: admin_api.CreateApiKeyRequest, context: Context
    ) -> admin_api.CreateApiKeyResponse:
        cmd = clients.create_api_key(request_id=request.request_id, client_id=request.client_id)
        key, secret = await client_handlers.create_api_key(cmd, self._deps)
        return admin_api.CreateApiKeyResponse(key=pb.api_key_to_pb(key), secret=secret or "")

    async def ListApiKeys(
        self, request: admin_api.ListApiKeysRequest, context: Context
    ) -> admin_api.ListApiKeysResponse:
        client_id = validate.identifier(request.client_id, field="client_id")
        keys = await client_handlers.list_api_keys(client_id, self._deps)
        return admin_api.ListApiKeysResponse(keys=[pb.api_key_to_pb(k) for k in keys])

    async def RevokeApiKey(
        self, request: admin_api.RevokeApiKeyRequest, context: Context
    ) -> admin_api.RevokeApiKeyResponse:
        key_id = validate.identifier(request.key_id, field="key_id")
        key = await client_handlers.revoke_api_key(key_id, self._deps)
        return admin_api.RevokeApiKeyResponse(key=pb.api_key_to_pb(key))

    async def ListBonuses(
        self, request: admin_api.ListBonusesRequest, context: Context
    ) -> admin_api.ListBonusesResponse:
        query = bonuses.list_bonuses(
            client_id=request.client_id,
            project_id=request.project_id,
            size=request.page_size,
            page_token=request.page_token,
        )
        found, token = await client_handlers.list_bonuses(query, self._deps)
        return admin_api.ListBonusesResponse(
            bonuses=[review_pb.listed_bonus_to_pb(b) for b in found], next_page_token=token
        )

    def register(self, server: grpc.aio.Server) -> None:
        admin_grpc.add_ClientAdminServiceServicer_to_server(self, server)


SERVICE = admin_api.DESCRIPTOR.services_by_name["ClientAdminService"]
POLICY = AccessPolicy.of(
    SERVICE,
    {
        "CreateClient": OPERATORS,
        "ListClients": OPERATORS,
        "CreateApiKey": OPERATORS,
        "ListApiKeys": OPERATORS,
        "RevokeApiKey": OPERATORS,
        "ListBonuses": OPERATORS,
    },
)
