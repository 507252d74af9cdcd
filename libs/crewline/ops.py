"""OpsService: what operators see of the kernel's own state, served by every service.

Dead-lettered deadlines (see ``crewline.clock``) are listed a page at a time and
brought back with ``RearmDeadline``. Operators only: the rule is ``POLICY``, which
``ServiceKit.runtime`` adds to each service's own.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import asyncpg
import grpc

from crewline import clock, errors, paging, validate
from crewline.auth.principal import OPERATORS
from crewline.edge import AccessPolicy
from crewline.protobuf import from_timestamp, timestamp
from crewline.timekeeping import Clock
from crewline.v1 import ops_service_pb2 as api
from crewline.v1 import ops_service_pb2_grpc as api_grpc

DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE = 50, 500
MAX_REF_CHARS = 200
# An operator's typo (a year too far) is refused rather than armed out of sight.
MAX_AHEAD = timedelta(days=366)

_STATES = {
    "pending": api.DEADLINE_STATE_PENDING,
    "fired": api.DEADLINE_STATE_FIRED,
    "dead_lettered": api.DEADLINE_STATE_DEAD_LETTERED,
}
_OUTCOMES = {
    clock.Scheduled.ARMED: api.REARM_OUTCOME_ARMED,
    clock.Scheduled.MOVED: api.REARM_OUTCOME_MOVED,
    clock.Scheduled.UNCHANGED: api.REARM_OUTCOME_UNCHANGED,
}


def kind_of(value: str) -> str:
    return validate.identifier(value, field="kind")


def ref_of(value: str) -> str:
    if not value:
        raise errors.InvalidArgument("ref", "is required")
    return validate.text(value, field="ref", max_length=MAX_REF_CHARS)


def due_at_of(request: api.RearmDeadlineRequest, now: datetime) -> datetime:
    """The requested due time (now when unset): a real time at most a year ahead."""
    if not request.HasField("due_at"):
        return now
    try:
        due_at = from_timestamp(request.due_at)
    except (ValueError, OverflowError):
        raise errors.InvalidArgument("due_at", "is not a valid time") from None
    if due_at > now + MAX_AHEAD:
        raise errors.InvalidArgument("due_at", f"must be at most {MAX_AHEAD.days} days ahead")
    return due_at


def page_token(record: clock.DeadlineRecord) -> str:
    """The token of the page after ``record``; kind and ref in hex, as they may hold ``|``."""
    assert record.dead_at is not None
    d = record.deadline
    return paging.encode_token(
        record.dead_at.isoformat(), d.kind.encode().hex(), d.ref.encode().hex()
    )


def cursor_of(token: str) -> tuple[datetime, str, str] | None:
    """(dead_at, kind, ref) after which a page starts; None for the first page."""
    if not token:
        return None
    at, kind, ref = paging.decode_token(token, parts=3)
    try:
        return paging.token_time(at), bytes.fromhex(kind).decode(), bytes.fromhex(ref).decode()
    except ValueError:
        raise paging.not_ours() from None


def deadline_to_pb(record: clock.DeadlineRecord) -> api.Deadline:
    d = record.deadline
    pb = api.Deadline(
        kind=d.kind,
        ref=d.ref,
        generation=d.generation,
        due_at=timestamp(d.due_at),
        attempts=d.attempts,
        correlation_id=d.correlation_id,
        state=_STATES[record.state],
        last_error=record.last_error or "",
    )
    if record.fired_at is not None:
        pb.fired_at.CopyFrom(timestamp(record.fired_at))
    if record.dead_at is not None:
        pb.dead_at.CopyFrom(timestamp(record.dead_at))
    return pb


class OpsServicer(api_grpc.OpsServiceServicer):
    def __init__(self, *, pool: asyncpg.Pool, clock: Clock) -> None:
        self._pool = pool
        self._clock = clock

    async def ListDeadLetteredDeadlines(
        self, request: api.ListDeadLetteredDeadlinesRequest, context: grpc.aio.ServicerContext
    ) -> api.ListDeadLetteredDeadlinesResponse:
        kind = kind_of(request.kind) if request.kind else None
        size = paging.page_size(request.page_size, default=DEFAULT_PAGE_SIZE, maximum=MAX_PAGE_SIZE)
        after = cursor_of(request.page_token)
        async with self._pool.acquire() as conn:
            found = await clock.dead_letters(conn, kind=kind, after=after, limit=size + 1)
        page = found[:size]
        return api.ListDeadLetteredDeadlinesResponse(
            deadlines=[deadline_to_pb(r) for r in page],
            next_page_token=page_token(page[-1]) if len(found) > size else "",
        )

    async def RearmDeadline(
        self, request: api.RearmDeadlineRequest, context: grpc.aio.ServicerContext
    ) -> api.RearmDeadlineResponse:
        kind, ref = kind_of(request.kind), ref_of(request.ref)
        due_at = due_at_of(request, self._clock.now())
        async with self._pool.acquire() as conn, conn.transaction():
            if await clock.find(conn, kind=kind, ref=ref) is None:
                raise errors.NotFound(f"no deadline {kind} {ref}", reason="DEADLINE_NOT_FOUND")
            outcome = await clock.rearm(conn, kind=kind, ref=ref, due_at=due_at)
            record = await clock.find(conn, kind=kind, ref=ref)
        assert record is not None  # the row was locked by rearm() until commit
        return api.RearmDeadlineResponse(
            deadline=deadline_to_pb(record), outcome=_OUTCOMES[outcome]
        )

    def register(self, server: grpc.aio.Server) -> None:
        api_grpc.add_OpsServiceServicer_to_server(self, server)


_OPS = api.DESCRIPTOR.services_by_name["OpsService"]
SERVICE_NAME = _OPS.full_name
POLICY = AccessPolicy.of(_OPS, {"ListDeadLetteredDeadlines": OPERATORS, "RearmDeadline": OPERATORS})
