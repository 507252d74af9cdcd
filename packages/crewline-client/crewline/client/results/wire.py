"""Reading generated messages into result fields, and the short text results print as."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum
from typing import Any, Generic, TypeVar

from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

from crewline.client.results.money import Money

T = TypeVar("T")
Payload = str | bytes | None


def time_of(message: Message, name: str) -> datetime | None:
    """The Timestamp field ``name`` as an aware UTC datetime; None when unset."""
    if not message.HasField(name):
        return None
    stamp: Timestamp = getattr(message, name)
    return stamp.ToDatetime(tzinfo=UTC)


def money_of(message: Message, name: str) -> Money | None:
    """The Money field ``name``; None when unset."""
    return Money.from_pb(getattr(message, name)) if message.HasField(name) else None


def payload_of(message: Message) -> Payload:
    """The ``payload`` oneof: JSON text as str, opaque bytes as bytes, None when unset."""
    kind = message.WhichOneof("payload")
    if kind is None:
        return None
    value: str | bytes = getattr(message, kind)
    return value


def when(at: datetime | None) -> str:
    """``2026-03-01 14:05 UTC``, or ``-`` for no time."""
    return "-" if at is None else at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def counted(count: int, noun: str) -> str:
    """``1 submission``, ``3 submissions``."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def brief(result: object, *names: str) -> str:
    """``Task(task_id='t1', status=OPEN)``: a result's repr from a few of its fields."""
    shown = ", ".join(f"{name}={_short(getattr(result, name))}" for name in names)
    return f"{type(result).__name__}({shown})"


def _short(value: object) -> str:
    if isinstance(value, Enum | Money):
        return str(value)
    if isinstance(value, datetime):
        return repr(value.isoformat())
    if isinstance(value, str | bytes) and len(value) > 40:
        return repr(value[:37]) + "..."
    if isinstance(value, tuple):
        return f"<{len(value)}>"
    return repr(value)


@dataclass(frozen=True, slots=True, kw_only=True)
class Page(Generic[T]):
    """One page of a list: ``items`` in the server's order, and ``next_page_token``
    ("" on the last page) to ask for the next."""

    items: tuple[T, ...]
    next_page_token: str
    raw: Message = field(repr=False, compare=False)

    @classmethod
    def from_pb(cls, message: Message, item: Callable[[Any], T]) -> Page[T]:
        """The page in a List...Response: its one repeated field, each ``item(...)``."""
        return cls(
            items=tuple(item(each) for each in _listed(message)),
            next_page_token=getattr(message, "next_page_token", ""),
            raw=message,
        )

    def __repr__(self) -> str:
        more = f", next_page_token={self.next_page_token!r}" if self.next_page_token else ""
        return f"Page(<{len(self.items)} items>{more})"


def _listed(message: Message) -> Sequence[Message]:
    repeated = [f for f in message.DESCRIPTOR.fields if f.is_repeated and f.message_type]
    if len(repeated) != 1:
        raise TypeError(f"{message.DESCRIPTOR.name} is not a page of one kind of item")
    items: Sequence[Message] = getattr(message, repeated[0].name)
    return items
