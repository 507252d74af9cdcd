"""What an operator lists: contractors (matcher), clients and bonuses (dispatcher).
``Operator`` has these calls; they live here to keep each module short."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

from google.protobuf.message import Message

from crewline.client import paging
from crewline.client.results import ListedBonus, Page
from crewline.client.transport import Reply
from crewline.client.upkeep import Upkeep
from crewline.v1 import client_admin_service_pb2 as client_admin
from crewline.v1 import contractor_admin_service_pb2 as contractor_admin

CLIENT_ADMIN = "crewline.v1.ClientAdminService"
CONTRACTOR_ADMIN = "crewline.v1.ContractorAdminService"


class Listings(Upkeep):
    """The operator's lists, each as one page and as every item, page by page."""

    async def list_contractors_page(
        self,
        *,
        qualification: str = "",
        blocked: bool | None = None,
        active: bool | None = None,
        page_size: int = 0,
        page_token: str = "",
    ) -> contractor_admin.ListContractorsResponse:
        """One page of contractors, by id. ``qualification``: only those holding it;
        ``blocked``/``active``: only those with (True) or without (False) a block in
        force / only active or deactivated ones; None lets every one through."""
        request = contractor_admin.ListContractorsRequest(
            qualification=qualification, page_size=page_size, page_token=page_token
        )
        if blocked is not None:
            request.blocked = blocked
        if active is not None:
            request.active = active
        return await self._contractors(
            "ListContractors", request, contractor_admin.ListContractorsResponse
        )

    def contractors(
        self,
        *,
        qualification: str = "",
        blocked: bool | None = None,
        active: bool | None = None,
        page_size: int = 0,
    ) -> AsyncIterator[contractor_admin.ListedContractor]:
        """Every contractor that passes the filters (as ``list_contractors_page``)."""

        async def fetch(token: str) -> tuple[Sequence[contractor_admin.ListedContractor], str]:
            page = await self.list_contractors_page(
                qualification=qualification,
                blocked=blocked,
                active=active,
                page_size=page_size,
                page_token=token,
            )
            return page.contractors, page.next_page_token

        return paging.items(fetch)

    async def list_clients_page(
        self, *, page_size: int = 0, page_token: str = ""
    ) -> client_admin.ListClientsResponse:
        """One page of clients, by id, each with its count of valid API keys."""
        request = client_admin.ListClientsRequest(page_size=page_size, page_token=page_token)
        return await self._clients("ListClients", request, client_admin.ListClientsResponse)

    def clients(self, *, page_size: int = 0) -> AsyncIterator[client_admin.ListedClient]:
        """Every client, by id, page by page."""

        async def fetch(token: str) -> tuple[Sequence[client_admin.ListedClient], str]:
            page = await self.list_clients_page(page_size=page_size, page_token=token)
            return page.clients, page.next_page_token

        return paging.items(fetch)

    async def list_bonuses_page(
        self, *, client_id: str = "", project_id: str = "", page_size: int = 0, page_token: str = ""
    ) -> Page[ListedBonus]:
        """One page of bonuses, newest first; only ``client_id``'s, or only on
        ``project_id``'s submissions, when given."""
        request = client_admin.ListBonusesRequest(
            client_id=client_id, project_id=project_id, page_size=page_size, page_token=page_token
        )
        reply = await self._clients("ListBonuses", request, client_admin.ListBonusesResponse)
        return Page.from_pb(reply, ListedBonus.from_pb)

    def bonuses(
        self, *, client_id: str = "", project_id: str = "", page_size: int = 0
    ) -> AsyncIterator[ListedBonus]:
        """Every bonus that passes the filters (as ``list_bonuses_page``), newest first."""
        return paging.every(
            lambda token: self.list_bonuses_page(
                client_id=client_id, project_id=project_id, page_size=page_size, page_token=token
            )
        )

    # --- plumbing ------------------------------------------------------------

    async def _clients(self, method: str, request: Message, reply: type[Reply]) -> Reply:
        return await self._rpc.unary("dispatcher", f"{CLIENT_ADMIN}/{method}", request, reply)

    async def _contractors(self, method: str, request: Message, reply: type[Reply]) -> Reply:
        return await self._rpc.unary("matcher", f"{CONTRACTOR_ADMIN}/{method}", request, reply)
