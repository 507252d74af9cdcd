"""Sanctions and appeals on the quality service's QualityService: a contractor's own
sanctions and appeals, and filing one (``MySanctions``, on ``Contractor``); the
sanctions and appeals in a client's projects, or any for an operator, and deciding an
appeal (``Sanctions``, on ``Client`` and ``Operator``). Each is a typed ``Sanction``
(with the ``Evidence`` it rests on) or ``Appeal``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TypeAlias

from crewline.client import paging
from crewline.client.build import enum_number
from crewline.client.ids import request_id_or_new
from crewline.client.results import Appeal, AppealState, Page, Sanction, SanctionState
from crewline.client.scores import _Quality
from crewline.v1 import quality_service_pb2 as quality_api

SanctionStateNumber: TypeAlias = quality_api.SanctionState.ValueType
AppealStateNumber: TypeAlias = quality_api.AppealState.ValueType
ANY_SANCTION = quality_api.SANCTION_STATE_UNSPECIFIED
ANY_APPEAL = quality_api.APPEAL_STATE_UNSPECIFIED


class MySanctions(_Quality):
    """The calling contractor's own sanctions and appeals."""

    async def my_sanctions_page(
        self, *, project_id: str = "", page_size: int = 0, page_token: str = ""
    ) -> Page[Sanction]:
        """One page of the caller's sanctions, newest first, each with its rule, the
        value measured and the evidence; ``project_id``: that project's only."""
        request = quality_api.ListMySanctionsRequest(
            project_id=project_id, page_size=page_size, page_token=page_token
        )
        reply = await self._quality("ListMySanctions", request, quality_api.ListMySanctionsResponse)
        return Page.from_pb(reply, Sanction.from_pb)

    def my_sanctions(self, *, project_id: str = "", page_size: int = 0) -> AsyncIterator[Sanction]:
        """Every sanction of the caller, newest first, page by page."""
        return paging.every(
            lambda token: self.my_sanctions_page(
                project_id=project_id, page_size=page_size, page_token=token
            )
        )

    async def file_appeal(
        self,
        *,
        text: str,
        sanction_id: str | None = None,
        submission_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> Appeal:
        """Appeals one of the caller's sanctions (``sanction_id``) or a rejection of
        their work (``submission_id``, the claim id): exactly one of them, within 7 days
        of it, once. ``text``: 1-2,000 characters. The same ``idempotency_key`` returns
        the same appeal (one is made when not given, and kept across retries)."""
        if (sanction_id is None) == (submission_id is None):
            raise TypeError("file_appeal takes sanction_id or submission_id: exactly one")
        request = quality_api.FileAppealRequest(
            idempotency_key=request_id_or_new(idempotency_key), text=text
        )
        if sanction_id is not None:
            request.sanction_id = sanction_id
        else:
            request.submission_id = submission_id or ""
        reply = await self._quality("FileAppeal", request, quality_api.FileAppealResponse)
        return Appeal.from_pb(reply.appeal)

    async def my_appeals_page(self, *, page_size: int = 0, page_token: str = "") -> Page[Appeal]:
        """One page of the caller's appeals, newest first."""
        request = quality_api.ListMyAppealsRequest(page_size=page_size, page_token=page_token)
        reply = await self._quality("ListMyAppeals", request, quality_api.ListMyAppealsResponse)
        return Page.from_pb(reply, Appeal.from_pb)

    def my_appeals(self, *, page_size: int = 0) -> AsyncIterator[Appeal]:
        """Every appeal of the caller, newest first, page by page."""
        return paging.every(
            lambda token: self.my_appeals_page(page_size=page_size, page_token=token)
        )


class Sanctions(_Quality):
    """The sanctions and appeals in a client's own projects (``project_id`` required),
    or in any project for an operator (``project_id`` optional), and their decisions."""

    async def list_sanctions_page(
        self,
        project_id: str = "",
        *,
        contractor_id: str = "",
        state: SanctionState | SanctionStateNumber = ANY_SANCTION,
        page_size: int = 0,
        page_token: str = "",
    ) -> Page[Sanction]:
        """One page of sanctions, newest first, with their evidence; ``contractor_id``:
        that contractor's only; ``state``: only those in it (``SanctionState.ACTIVE``).
        A project of another client is NOT_FOUND, as an unknown one."""
        request = quality_api.ListSanctionsRequest(
            project_id=project_id,
            contractor_id=contractor_id,
            state=enum_number(state, quality_api.SanctionState),
            page_size=page_size,
            page_token=page_token,
        )
        reply = await self._quality("ListSanctions", request, quality_api.ListSanctionsResponse)
        return Page.from_pb(reply, Sanction.from_pb)

    def sanctions(
        self,
        project_id: str = "",
        *,
        contractor_id: str = "",
        state: SanctionState | SanctionStateNumber = ANY_SANCTION,
        page_size: int = 0,
    ) -> AsyncIterator[Sanction]:
        """Every sanction matching the filters, newest first, page by page."""
        return paging.every(
            lambda token: self.list_sanctions_page(
                project_id,
                contractor_id=contractor_id,
                state=state,
                page_size=page_size,
                page_token=token,
            )
        )

    async def list_appeals_page(
        self,
        project_id: str = "",
        *,
        state: AppealState | AppealStateNumber = ANY_APPEAL,
        page_size: int = 0,
        page_token: str = "",
    ) -> Page[Appeal]:
        """One page of appeals, the oldest undecided first; ``state``: only those in it
        (``AppealState.PENDING``)."""
        request = quality_api.ListAppealsRequest(
            project_id=project_id,
            state=enum_number(state, quality_api.AppealState),
            page_size=page_size,
            page_token=page_token,
        )
        reply = await self._quality("ListAppeals", request, quality_api.ListAppealsResponse)
        return Page.from_pb(reply, Appeal.from_pb)

    def appeals(
        self,
        project_id: str = "",
        *,
        state: AppealState | AppealStateNumber = ANY_APPEAL,
        page_size: int = 0,
    ) -> AsyncIterator[Appeal]:
        """Every appeal matching the filters, the oldest undecided first, page by page."""
        return paging.every(
            lambda token: self.list_appeals_page(
                project_id, state=state, page_size=page_size, page_token=token
            )
        )

    async def decide_appeal(self, appeal_id: str, *, uphold: bool, note: str = "") -> Appeal:
        """Upholds (``uphold=True``) or denies a pending appeal; ``note`` (at most 2,000
        characters) is shown to the contractor. Upheld, an active sanction appealed is
        lifted and the rejections it rests on (or the one appealed) become acceptances.
        The same decision again returns the appeal unchanged; the other one is refused
        (FAILED_PRECONDITION)."""
        request = quality_api.DecideAppealRequest(appeal_id=appeal_id, uphold=uphold, note=note)
        reply = await self._quality("DecideAppeal", request, quality_api.DecideAppealResponse)
        return Appeal.from_pb(reply.appeal)
