"""LedgerService over gRPC: parse, call a handler, map back.

Who may call what is the access policy at the bottom; the kernel's edge enforces
it, authenticates, and maps errors. The caller comes from ``principal_of``.
"""

from __future__ import annotations

import grpc

from crewline.auth.principal import CONTRACTORS, EVERYONE, OPERATORS
from crewline.edge import AccessPolicy, principal_of
from crewline.protobuf import money_from_pb, money_to_pb
from crewline.v1 import ledger_service_pb2 as api
from crewline.v1 import ledger_service_pb2_grpc as api_grpc
from ledger.adapters import protobuf as pb
from ledger.deps import Deps
from ledger.domain import model
from ledger.domain.payouts import PreviewPayoutBatch, RunPayoutBatch, list_payout_batches
from ledger.handlers import books, payouts


class LedgerServicer(api_grpc.LedgerServiceServicer):
    def __init__(self, deps: Deps) -> None:
        self._deps = deps

    async def GetBalance(
        self, request: api.GetBalanceRequest, context: grpc.aio.ServicerContext
    ) -> api.GetBalanceResponse:
        wanted = model.account_id(request.account_id) if request.account_id else None
        account, balances = await books.get_balance(wanted, principal_of(context), self._deps)
        return api.GetBalanceResponse(
            account_id=account, balances=[money_to_pb(m) for m in balances]
        )

    async def ListStatement(
        self, request: api.ListStatementRequest, context: grpc.aio.ServicerContext
    ) -> api.ListStatementResponse:
        wanted = model.account_id(request.account_id) if request.account_id else None
        account, entries, token = await books.list_statement(
            wanted,
            principal_of(context),
            self._deps,
            size=request.page_size,
            page_token=request.page_token,
        )
        return api.ListStatementResponse(
            account_id=account,
            entries=[pb.statement_entry_to_pb(e) for e in entries],
            next_page_token=token,
        )

    async def GetEarnings(
        self, request: api.GetEarningsRequest, context: grpc.aio.ServicerContext
    ) -> api.GetEarningsResponse:
        earnings = await books.get_earnings(
            request.contractor_id or None, principal_of(context), self._deps
        )
        return pb.earnings_to_pb(earnings)

    async def VerifyBooks(
        self, request: api.VerifyBooksRequest, context: grpc.aio.ServicerContext
    ) -> api.VerifyBooksResponse:
        return pb.books_to_pb(await books.verify_books(self._deps))

    async def RunPayoutBatch(
        self, request: api.RunPayoutBatchRequest, context: grpc.aio.ServicerContext
    ) -> api.RunPayoutBatchResponse:
        cmd = RunPayoutBatch(batch_id=request.batch_id, threshold=money_from_pb(request.threshold))
        batch = await payouts.run_payout_batch(cmd, self._deps)
        return api.RunPayoutBatchResponse(batch=pb.batch_to_pb(batch))

    async def GetPayoutBatch(
        self, request: api.GetPayoutBatchRequest, context: grpc.aio.ServicerContext
    ) -> api.GetPayoutBatchResponse:
        batch = await payouts.get_payout_batch(request.batch_id, self._deps)
        return api.GetPayoutBatchResponse(batch=pb.batch_to_pb(batch))

    async def PreviewPayoutBatch(
        self, request: api.PreviewPayoutBatchRequest, context: grpc.aio.ServicerContext
    ) -> api.PreviewPayoutBatchResponse:
        cmd = PreviewPayoutBatch(threshold=money_from_pb(request.threshold))
        return pb.preview_to_pb(await payouts.preview_payout_batch(cmd, self._deps))

    async def ListPayoutBatches(
        self, request: api.ListPayoutBatchesRequest, context: grpc.aio.ServicerContext
    ) -> api.ListPayoutBatchesResponse:
        query = list_payout_batches(size=request.page_size, page_token=request.page_token)
        found, token = await payouts.list_payout_batches(query, self._deps)
        return api.ListPayoutBatchesResponse(
            batches=[pb.batch_summary_to_pb(b) for b in found], next_page_token=token
        )

    def register(self, server: grpc.aio.Server) -> None:
        api_grpc.add_LedgerServiceServicer_to_server(self, server)


_LEDGER = api.DESCRIPTOR.services_by_name["LedgerService"]
SERVICE_NAMES = (_LEDGER.full_name,)
POLICY = AccessPolicy.of(
    _LEDGER,
    {
        "GetBalance": EVERYONE,  # clients and contractors: their own account only
        "ListStatement": EVERYONE,  # likewise
        "GetEarnings": CONTRACTORS | OPERATORS,  # contractors: their own only
        "VerifyBooks": OPERATORS,
        "RunPayoutBatch": OPERATORS,
        "GetPayoutBatch": OPERATORS,
        "PreviewPayoutBatch": OPERATORS,
        "ListPayoutBatches": OPERATORS,
    },
)
