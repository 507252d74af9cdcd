"""Paged lists: one page, or with ``--all`` every page from there on, as one list."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar, cast

import click

P = TypeVar("P", bound=Mapping[str, Any])


@dataclass(frozen=True)
class Paging:
    """A list command's --page-size, --page-token and --all."""

    size: int
    token: str
    every: bool

    def read(self, fetch: Callable[[int, str], P], items: str) -> P:
        """The page at the token given, or with --all every page's ``items`` from there
        on (``read_pages``); ``fetch(size, token)`` reads one page."""
        return read_pages(lambda token: fetch(self.size, token), items, self.token, self.every)


def paging_options(
    *, most: int, server_default: int | None
) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """--page-size (at most ``most``; 0 leaves it to the server, whose page holds
    ``server_default`` when said), --page-token and --all, as every list takes them,
    given to the command as one ``paging: Paging``."""
    said = f"1-{most}; 0: {server_default}." if server_default else "0: the default."
    options = (
        click.option("--page-size", type=click.IntRange(0, most), default=0, help=said),
        click.option("--page-token", default="", help="The previous page's token."),
        click.option("--all", "every", is_flag=True, help="Every page, as one list."),
    )

    def decorate(command: Callable[..., None]) -> Callable[..., None]:
        @functools.wraps(command)
        def paged(*args: Any, page_size: int, page_token: str, every: bool, **kwargs: Any) -> None:
            command(*args, paging=Paging(page_size, page_token, every), **kwargs)

        for option in reversed(options):
            paged = option(paged)
        return paged

    return decorate


def read_pages(fetch: Callable[[str], P], items: str, page_token: str, every: bool) -> P:
    """The page at ``page_token``; with ``every``, it and every later page's ``items``
    joined, with the last page's (empty) ``next_page_token``."""
    page = fetch(page_token)
    if not every:
        return page
    found = list(page[items])
    while page["next_page_token"]:
        page = fetch(page["next_page_token"])
        found.extend(page[items])
    return cast(P, {**page, items: found})


def print_more(page: Mapping[str, Any]) -> None:
    """How to ask for the next page, when there is one."""
    if page["next_page_token"]:
        click.echo(f"More: --page-token {page['next_page_token']}")
