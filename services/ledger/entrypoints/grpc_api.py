"""LedgerService over gRPC: parse, call a handler, map back. Errors map at the kernel's edge."""

from __future__ import annotations

import asyncpg
import grpc

from crewline.protobuf import money_to_pb
from crewline.v1 import ledger_service_pb2 as api
from crewline.v1 import ledger_service_pb2_grpc as api_grpc
from ledger import handlers
from ledger.adapters import protobuf as pb
from ledger.domain import model


class LedgerServicer(api_grpc.LedgerServiceServicer):
    def __init__(self, *, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def GetBalance(
        self, request: api.GetBalanceRequest, context: grpc.aio.ServicerContext
    ) -> api.GetBalanceResponse:
        account_id = model.account_id(request.account_id)
        balances = await handlers.get_balance(account_id, pool=self._pool)
        return api.GetBalanceResponse(
            account_id=account_id, balances=[money_to_pb(m) for m in balances]
        )

    async def VerifyBooks(
        self, request: api.VerifyBooksRequest, context: grpc.aio.ServicerContext
    ) -> api.VerifyBooksResponse:
        return pb.books_to_pb(await handlers.verify_books(pool=self._pool))

    def register(self, server: grpc.aio.Server) -> None:
        api_grpc.add_LedgerServiceServicer_to_server(self, server)


SERVICE_NAME = api.DESCRIPTOR.services_by_name["LedgerService"].full_name
