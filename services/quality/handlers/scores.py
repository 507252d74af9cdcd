"""Reading scores. Who may call each is the access policy in ``entrypoints/grpc_api.py``;
whose scores, in which projects, a caller may read is decided in ``domain.queries``."""

from __future__ import annotations

from crewline.paging import split_page
from quality.adapters import scores
from quality.deps import Deps
from quality.domain.queries import After, ScoreQuery
from quality.domain.scores import Score


async def find_scores(query: ScoreQuery, deps: Deps) -> tuple[list[Score], str]:
    """A page of scores and the next page's token ("" after the last)."""
    async with deps.pool.acquire() as conn:
        found = await scores.find(conn, query)
    page, last = split_page(found, query.limit)
    return page, After.of(last).token() if last else ""
