"""Checks for request fields shared by every service; each error names its field."""

from __future__ import annotations

import re
import uuid

from crewline.errors import InvalidArgument

_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}")


def identifier(value: str, *, field: str) -> str:
    """A caller-chosen id (request, client, contractor): 1-128 safe characters."""
    if not value:
        raise InvalidArgument(field, "is required")
    if not _ID.fullmatch(value):
        raise InvalidArgument(
            field, "must be 1-128 letters, digits or . _ : @ - and start with a letter or digit"
        )
    return value


def uuid_id(value: str, *, field: str) -> uuid.UUID:
    """An id Crewline issued (task, claim): a UUID."""
    if not value:
        raise InvalidArgument(field, "is required")
    try:
        return uuid.UUID(value)
    except ValueError:
        raise InvalidArgument(field, "is not a valid id") from None


def int_range(value: int, *, field: str, low: int, high: int) -> int:
    if not low <= value <= high:
        raise InvalidArgument(field, f"must be between {low} and {high}")
    return value


def text(value: str, *, field: str, max_length: int) -> str:
    """Free text: bounded, and without NUL, which PostgreSQL text cannot hold."""
    if len(value) > max_length:
        raise InvalidArgument(field, f"must be at most {max_length} characters")
    if "\x00" in value:
        raise InvalidArgument(field, "must not contain NUL characters")
    return value
