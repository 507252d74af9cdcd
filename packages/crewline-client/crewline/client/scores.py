"""Scores from the quality service's QualityService: a contractor's own (``MyScores``, on
``Contractor``), and one contractor's as a client or operator sees them
(``ContractorScores``, on ``Client`` and ``Operator``). Each is a ``Score``: the measure,
its value 0-100, the accepted and reviewed counts over the window, the window, and when
it last changed."""

from __future__ import annotations

from collections.abc import AsyncIterator

from google.protobuf.message import Message

from crewline.client import paging
from crewline.client.base import Base
from crewline.client.results import Page, Score
from crewline.client.transport import Reply
from crewline.v1 import quality_service_pb2 as quality_api

QUALITY = "crewline.v1.QualityService"


class _Quality(Base):
    async def _quality(self, method: str, request: Message, reply: type[Reply]) -> Reply:
        return await self._rpc.unary("quality", f"{QUALITY}/{method}", request, reply)


class MyScores(_Quality):
    """The calling contractor's own scores."""

    async def my_scores_page(
        self, *, project_id: str = "", page_size: int = 0, page_token: str = ""
    ) -> Page[Score]:
        """One page of the caller's scores, by project; ``project_id``: that project's only."""
        request = quality_api.ListMyScoresRequest(
            project_id=project_id, page_size=page_size, page_token=page_token
        )
        reply = await self._quality("ListMyScores", request, quality_api.ListMyScoresResponse)
        return Page.from_pb(reply, Score.from_pb)

    def my_scores(self, *, project_id: str = "", page_size: int = 0) -> AsyncIterator[Score]:
        """Every score of the caller, page by page."""
        return paging.every(
            lambda token: self.my_scores_page(
                project_id=project_id, page_size=page_size, page_token=token
            )
        )


class ContractorScores(_Quality):
    """One contractor's scores: a client's own projects' only (elsewhere: none), an
    operator's all."""

    async def contractor_scores_page(
        self, contractor_id: str, *, project_id: str = "", page_size: int = 0, page_token: str = ""
    ) -> Page[Score]:
        """One page of the contractor's scores, by project; ``project_id``: that one only."""
        request = quality_api.GetContractorScoresRequest(
            contractor_id=contractor_id,
            project_id=project_id,
            page_size=page_size,
            page_token=page_token,
        )
        reply = await self._quality(
            "GetContractorScores", request, quality_api.GetContractorScoresResponse
        )
        return Page.from_pb(reply, Score.from_pb)

    def contractor_scores(
        self, contractor_id: str, *, project_id: str = "", page_size: int = 0
    ) -> AsyncIterator[Score]:
        """Every score of the contractor the caller may see, page by page."""
        return paging.every(
            lambda token: self.contractor_scores_page(
                contractor_id, project_id=project_id, page_size=page_size, page_token=token
            )
        )
