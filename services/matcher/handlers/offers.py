"""Offers: the tasks a contractor may claim now, by priority then age."""

from __future__ import annotations

from crewline.paging import split_page
from matcher.adapters import repository as repo
from matcher.deps import Deps
from matcher.domain.commands import ListOffers
from matcher.domain.offers import Offer, OfferCursor


async def list_offers(query: ListOffers, deps: Deps) -> tuple[list[Offer], OfferCursor | None]:
    """One page of offers, and where the next page starts (None on the last)."""
    async with deps.pool.acquire() as conn:
        found = await repo.offers_for(
            conn, query, now=deps.clock.now(), limit=query.page_size + 1, specs=deps.answer_specs
        )
    page, last = split_page(found, query.page_size)
    return page, (last.cursor if last else None)
