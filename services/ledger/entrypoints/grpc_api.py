"""LedgerService over gRPC: parse, call a handler, map back.

Who may call what is the access policy at the bottom; the kernel's edge enforces
it, authenticates, and maps errors. The caller comes from ``principal_of``.
"""

from __future__ import annotations

import grpc

from crewline.auth.principal import EVERYONE, OPERATORS
from crewline.edge import AccessPolicy, principal_of
from crewline.protobuf import money_to_pb
from crewline.v1 import ledger_service_pb2 as api
from crewline.v1 import ledger_service_pb2_grpc as api_grpc
from ledger import handlers
from ledger.adapters import protobuf as pb
from ledger.deps import Deps
from ledger.domain import model


class LedgerServicer(api_grpc.LedgerServiceServicer):
    def __init__(self, deps: Deps) -> None:
        self._deps = deps

    async def GetBalance(
        self, request: api.GetBalanceRequest, context: grpc.aio.ServicerContext
    ) -> api.GetBalanceResponse:
        wanted = model.account_id(request.account_id) if request.account_id else None
        account, balances = await handlers.get_balance(wanted, principal_of(context), self._deps)
        return api.GetBalanceResponse(
            account_id=account, balances=[money_to_pb(m) for m in balances]
        )

    async def VerifyBooks(
        self, request: api.VerifyBooksRequest, context: grpc.aio.ServicerContext
    ) -> api.VerifyBooksResponse:
        return pb.books_to_pb(await handlers.verify_books(self._deps))

    def register(self, server: grpc.aio.Server) -> None:
        api_grpc.add_LedgerServiceServicer_to_server(self, server)


_LEDGER = api.DESCRIPTOR.services_by_name["LedgerService"]
SERVICE_NAMES = (_LEDGER.full_name,)
POLICY = AccessPolicy.of(_LEDGER, {"GetBalance": EVERYONE, "VerifyBooks": OPERATORS})
