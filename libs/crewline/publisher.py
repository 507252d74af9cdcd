"""Where each outgoing event goes: one table per service, one ``publish`` call.

A service declares, once, each event type it produces with its topic and the
field that keys it (the key keeps one entity's events in order). Handlers then
``await deps.publisher.publish(conn, event)`` (or ``publish_many`` for a batch)
inside their transaction; the outbox does the rest.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
from google.protobuf.message import Message

from crewline import outbox


@dataclass(frozen=True)
class Route:
    topic: str
    key: Callable[[Any], str]  # the event -> its partition key


class Publisher:
    def __init__(self, *, producer: str, routes: Mapping[type[Message], Route]) -> None:
        self._producer = producer
        self._routes = dict(routes)

    def route(self, event_type: type[Message]) -> Route:
        return self._routes[event_type]

    def prepare(self, event: Message) -> outbox.OutboxRow:
        """The outbox row for ``event``, for SQL that stores it itself (one round trip)."""
        route = self._route_of(event)
        return outbox.prepare(
            topic=route.topic, key=route.key(event), payload=event, producer=self._producer
        )

    def _route_of(self, event: Message) -> Route:
        route = self._routes.get(type(event))
        if route is None:
            raise LookupError(f"{self._producer} has no route for {type(event).__name__}")
        return route

    async def publish(self, conn: asyncpg.Connection, event: Message) -> uuid.UUID:
        """Enqueue ``event`` in the caller's transaction; an unrouted type is a bug."""
        [event_id] = await self.publish_many(conn, [event])
        return event_id

    async def publish_many(
        self, conn: asyncpg.Connection, events: Sequence[Message]
    ) -> list[uuid.UUID]:
        """Enqueue ``events`` in order, with one write, in the caller's transaction."""
        routed = []
        for event in events:
            route = self._route_of(event)
            routed.append((route.topic, route.key(event), event))
        return await outbox.enqueue_many(conn, routed, producer=self._producer)
