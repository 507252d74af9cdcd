"""The Watch stream: the client's log replayed after its cursor, then followed."""

from __future__ import annotations

from collections.abc import AsyncIterator

from crewline.v1 import task_service_pb2 as api
from dispatcher.adapters import lifecycle_pb
from dispatcher.adapters.watch_hub import WatchHub
from dispatcher.deps import Deps
from dispatcher.domain.lifecycle import Watch, watch_cursor
from dispatcher.handlers import watch

MAX_RESPONSE_BYTES = 1024 * 1024  # events per response, bounded (one always goes)


async def stream(query: Watch, deps: Deps, hub: WatchHub) -> AsyncIterator[api.WatchResponse]:
    """Responses until the caller goes: first, at once, an empty one holding the cursor
    the stream starts from (so a watcher that drops before any event resumes without a
    gap); then what is logged after it, in order, and an empty response (keepalive)
    after each quiet ``watch_keepalive_seconds``. Every response carries the cursor."""
    follower = hub.follow(query.client_id)  # before the first read: no wake-up is missed
    try:
        after = await watch.start(query, deps)
        yield api.WatchResponse(cursor=watch_cursor(after))
        while True:
            follower.clear()
            async for response, last in _catch_up(query, after, deps):
                after = last
                yield response
            if not await follower.wait(deps.settings.watch_keepalive_seconds):
                yield api.WatchResponse(cursor=watch_cursor(after))
    finally:
        hub.unfollow(follower)


async def _catch_up(
    query: Watch, after: int, deps: Deps
) -> AsyncIterator[tuple[api.WatchResponse, int]]:
    """Responses for everything logged after ``after``, each with its last number."""
    while True:
        rows = await watch.read(query, after, deps)
        batch: list[api.WatchEvent] = []
        size = 0
        for seq, body in rows:
            if batch and size + len(body) > MAX_RESPONSE_BYTES:
                yield api.WatchResponse(events=batch, cursor=watch_cursor(after)), after
                batch, size = [], 0
            batch.append(lifecycle_pb.watch_event(seq, body))
            size += len(body)
            after = seq
        if batch:
            yield api.WatchResponse(events=batch, cursor=watch_cursor(after)), after
        if len(rows) < watch.PAGE:
            return
