"""Token-paged lists as plain async iterators."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import TypeVar

from crewline.client.results.wire import Page

T = TypeVar("T")

# Fetches the page at a token: its items and the next token ("" on the last page).
PageFetch = Callable[[str], Awaitable[tuple[Sequence[T], str]]]


async def items(fetch: PageFetch[T], *, first_token: str = "") -> AsyncIterator[T]:
    """Every item of every page, in order, fetching the next page only when needed.

    Stops on an empty token; a server that returned the token it was given would loop
    forever, so that is an error.
    """
    token = first_token
    while True:
        page, following = await fetch(token)
        for item in page:
            yield item
        if not following:
            return
        if following == token:
            raise RuntimeError(f"the server returned page token {token!r} again")
        token = following


def every(read_page: Callable[[str], Awaitable[Page[T]]]) -> AsyncIterator[T]:
    """Every item of the typed pages ``read_page(token)`` answers, as ``items`` does."""

    async def fetch(token: str) -> tuple[Sequence[T], str]:
        page = await read_page(token)
        return page.items, page.next_page_token

    return items(fetch)
