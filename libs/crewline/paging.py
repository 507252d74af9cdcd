"""Cursor pagination: a page token holds the sort key of the last item of the page before.

Tokens are base64 text, so callers treat them as opaque; a token this module did not
write is ``InvalidArgument`` on ``page_token``. ``encode_token`` / ``decode_token``
are the plumbing for any sort key; ``PageCursor`` is the common (time, UUID) one. A
part read back from a token is checked as far as the query it feeds needs: a value
PostgreSQL would refuse (a time out of range, a NUL, a number wider than its column)
must be the caller's ``InvalidArgument``, not the server's ``INTERNAL``.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

from crewline import validate
from crewline.errors import InvalidArgument

_SEPARATOR = "|"
MAX_BIGINT = 2**63 - 1  # PostgreSQL's bigint
MAX_INTEGER = 2**31 - 1  # PostgreSQL's integer
T = TypeVar("T")


def not_ours(field: str = "page_token") -> InvalidArgument:
    """The error for a page token this service did not issue."""
    return InvalidArgument(field, "is not a token this service issued")


def encode_token(*parts: str) -> str:
    """A page token holding ``parts`` (none may contain ``|``)."""
    if any(_SEPARATOR in p for p in parts):
        raise ValueError(f"a page token part may not contain {_SEPARATOR!r}")
    return base64.urlsafe_b64encode(_SEPARATOR.join(parts).encode()).decode()


def decode_token(token: str, *, parts: int, field: str = "page_token") -> list[str]:
    """The ``parts`` strings in a token from ``encode_token``; else InvalidArgument."""
    try:
        found = base64.urlsafe_b64decode(token.encode()).decode().split(_SEPARATOR)
    except (ValueError, binascii.Error):  # bad base64 or UTF-8 (both ValueErrors)
        raise not_ours(field) from None
    if len(found) != parts or not all(found):
        raise not_ours(field)
    return found


def token_time(text: str, *, field: str = "page_token") -> datetime:
    """A time from a token part, with its timezone, in UTC. A time that has no UTC
    date (year 1 at +14:00) is not ours; asyncpg could not send it."""
    try:
        at = datetime.fromisoformat(text)
        if at.tzinfo is None:
            raise not_ours(field)
        return at.astimezone(UTC)
    except (ValueError, OverflowError):
        raise not_ours(field) from None


def token_uint(text: str, *, field: str = "page_token", maximum: int = MAX_BIGINT) -> int:
    """A non-negative integer from a token part, at most ``maximum`` (PostgreSQL's
    bigint unless the column is narrower): ASCII digits only ("²" is a digit to
    ``str.isdigit`` and not to ``int``; ``int`` takes " 7" and "7_0")."""
    if not (text.isascii() and text.isdigit()) or len(text) > 19 or int(text) > maximum:
        raise not_ours(field)
    return int(text)


def token_identifier(text: str, *, field: str = "page_token") -> str:
    """A caller-chosen id (a contractor's, a client's, a batch's) from a token part,
    held to the rules ``validate.identifier`` holds new ids to."""
    try:
        return validate.identifier(text, field=field)
    except InvalidArgument:
        raise not_ours(field) from None


def token_uuid(text: str, *, field: str = "page_token") -> str:
    """A UUID from a token part, written the one way Crewline writes UUIDs."""
    try:
        return str(uuid.UUID(text))
    except ValueError:
        raise not_ours(field) from None


@dataclass(frozen=True)
class PageCursor:
    """Where a page ended, for lists ordered by (a time, an id). Every such id is a
    UUID (some are stored as text), so one read back from a token must be one."""

    at: datetime
    id: str

    def token(self) -> str:
        return encode_token(self.at.isoformat(), self.id)

    @classmethod
    def from_token(cls, token: str, *, field: str = "page_token") -> PageCursor:
        at, key = decode_token(token, parts=2, field=field)
        return cls(token_time(at, field=field), token_uuid(key, field=field))


def cursor_of(token: str, *, field: str = "page_token") -> PageCursor | None:
    """The cursor of a request's page token; None for the first page (no token)."""
    return PageCursor.from_token(token, field=field) if token else None


def page_size(value: int, *, default: int, maximum: int, field: str = "page_size") -> int:
    """A request's page size: 0 means ``default``, else 1 to ``maximum``."""
    return validate.int_range(value or default, field=field, low=1, high=maximum)


def split_page(found: Sequence[T], size: int) -> tuple[list[T], T | None]:
    """A page out of ``found``, the rows of a query asked for ``size + 1`` of them: its
    first ``size``, and the page's last item when another page follows (None on the
    last page), whose sort key the next page's token holds."""
    page = list(found[:size])
    return page, (page[-1] if len(found) > size else None)
