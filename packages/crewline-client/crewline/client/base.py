"""What every SDK object shares: its transport, ``async with``, and the ledger reads."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from types import TracebackType
from typing import Self

from google.protobuf.message import Message

from crewline.client import paging
from crewline.client.config import DEFAULT_TIMEOUT, Endpoints, Service, resolve
from crewline.client.results import Balance, StatementEntry, StatementPage
from crewline.client.streams import Reconnect
from crewline.client.transport import Reply, Transport
from crewline.v1 import ledger_service_pb2 as ledger_api

LEDGER = "crewline.v1.LedgerService"


class Base:
    """Channels opened on first use and kept for the object's life; ``close`` ends them."""

    def __init__(
        self,
        *,
        credential: str | None,
        endpoints: Endpoints | None,
        addresses: Mapping[Service, str | None],
        timeout: float = DEFAULT_TIMEOUT,
        reconnect: Reconnect | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        resolved = resolve(endpoints=endpoints, overrides=addresses, env=env)
        self._rpc = Transport(resolved, credential, timeout=timeout)
        self._reconnect = reconnect or Reconnect()

    @property
    def endpoints(self) -> Endpoints:
        return self._rpc.endpoints

    async def close(self) -> None:
        """Closes the channels; calls in flight are cancelled."""
        await self._rpc.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


class LedgerReads(Base):
    """The ledger calls every principal may make (its own account only, unless operator)."""

    async def balance(self, *, account_id: str = "") -> Balance:
        """The balances of ``account_id`` (``client:<id>``, ``contractor:<id>``, or a
        platform account); empty: the caller's own account."""
        request = ledger_api.GetBalanceRequest(account_id=account_id)
        reply = await self._ledger("GetBalance", request, ledger_api.GetBalanceResponse)
        return Balance.from_pb(reply)

    async def statement_page(
        self, *, account_id: str = "", page_size: int = 0, page_token: str = ""
    ) -> StatementPage:
        """One page of the account's statement, newest first (empty ``account_id``: the
        caller's own)."""
        request = ledger_api.ListStatementRequest(
            account_id=account_id, page_size=page_size, page_token=page_token
        )
        reply = await self._ledger("ListStatement", request, ledger_api.ListStatementResponse)
        return StatementPage.from_pb(reply)

    def statement(
        self, *, account_id: str = "", page_size: int = 0
    ) -> AsyncIterator[StatementEntry]:
        """Every entry of the account's statement, page by page."""

        async def fetch(token: str) -> tuple[Sequence[StatementEntry], str]:
            page = await self.statement_page(
                account_id=account_id, page_size=page_size, page_token=token
            )
            return page.entries, page.next_page_token

        return paging.items(fetch)

    async def _ledger(self, method: str, request: Message, reply: type[Reply]) -> Reply:
        return await self._rpc.unary("ledger", f"{LEDGER}/{method}", request, reply)
