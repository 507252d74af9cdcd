"""OpsService: what operators see of the kernel's own state, served by every service.

Dead-lettered deadlines (see ``crewline.clock``) are listed a page at a time and
brought back with ``RearmDeadline``. Dead-lettered events (see ``crewline.consumer``)
are listed with ``ListDeadLetters`` and applied again with ``ReplayDeadLetter``,
through the service's own consumer (``ServiceKit.runtime`` hands it over). Operators
only: the rule is ``POLICY``, which ``ServiceKit.runtime`` adds to each service's own.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta

import asyncpg
import grpc

from crewline import clock, dead_letters, errors, paging, validate
from crewline.auth.principal import OPERATORS
from crewline.consumer import EventConsumer, ReplayOutcome
from crewline.dead_letters import DeadLetter
from crewline.edge import AccessPolicy
from crewline.events import ALL_TOPICS
from crewline.protobuf import request_time, timestamp
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
_REPLAYED = {
    ReplayOutcome.APPLIED: api.REPLAY_OUTCOME_APPLIED,
    ReplayOutcome.FAILED: api.REPLAY_OUTCOME_FAILED,
    ReplayOutcome.ALREADY_APPLIED: api.REPLAY_OUTCOME_ALREADY_APPLIED,
}


def kind_of(value: str) -> str:
    return validate.identifier(value, field="kind")


def ref_of(value: str) -> str:
    if not value:
        raise errors.InvalidArgument("ref", "is required")
    return validate.text(value, field="ref", max_length=MAX_REF_CHARS)


def due_at_of(request: api.RearmDeadlineRequest, now: datetime) -> datetime:
    """The requested due time (now when unset): a real time at most a year ahead."""
    due_at = request_time(request, "due_at")
    if due_at is None:
        return now
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
        kind, ref = bytes.fromhex(kind).decode(), bytes.fromhex(ref).decode()
    except ValueError:  # not hex, or not UTF-8
        raise paging.not_ours() from None
    if "\x00" in kind + ref:  # no deadline's kind or ref holds one: PostgreSQL text cannot
        raise paging.not_ours()
    return paging.token_time(at), kind, ref


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


def topic_of(value: str) -> str | None:
    """A topic filter: one of Crewline's topics, without the namespace; None for any."""
    if not value:
        return None
    if value not in ALL_TOPICS:
        raise errors.InvalidArgument("topic", f"must be one of {', '.join(ALL_TOPICS)}")
    return value


def event_id_of(value: str) -> uuid.UUID:
    """An event id: a UUID, as the dead letters list shows it."""
    return validate.uuid_id(value, field="event_id")


def dead_letter_to_pb(letter: DeadLetter) -> api.DeadLetter:
    return api.DeadLetter(
        event_id=str(letter.event_id),
        topic=letter.topic,
        partition=letter.partition,
        offset=letter.offset,
        type=letter.event_type,
        error=letter.error,
        dead_at=timestamp(letter.dead_at),
        correlation_id=letter.correlation_id,
        replays=letter.replays,
    )


class OpsServicer(api_grpc.OpsServiceServicer):
    def __init__(
        self, *, pool: asyncpg.Pool, clock: Clock, consumers: Iterable[EventConsumer] = ()
    ) -> None:
        self._pool = pool
        self._clock = clock
        # A dead letter is replayed by the consumer (group) whose handler failed it.
        self._consumers = {c.group_id: c for c in consumers}

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

    async def ListDeadLetters(
        self, request: api.ListDeadLettersRequest, context: grpc.aio.ServicerContext
    ) -> api.ListDeadLettersResponse:
        topic = topic_of(request.topic)
        size = paging.page_size(request.page_size, default=DEFAULT_PAGE_SIZE, maximum=MAX_PAGE_SIZE)
        after = paging.cursor_of(request.page_token)  # (dead_at, event_id)
        async with self._pool.acquire() as conn:
            found = await dead_letters.list_open(conn, topic=topic, after=after, limit=size + 1)
        page = found[:size]
        return api.ListDeadLettersResponse(
            dead_letters=[dead_letter_to_pb(d) for d in page],
            next_page_token=page[-1].cursor().token() if len(found) > size else "",
        )

    async def ReplayDeadLetter(
        self, request: api.ReplayDeadLetterRequest, context: grpc.aio.ServicerContext
    ) -> api.ReplayDeadLetterResponse:
        event_id = event_id_of(request.event_id)
        async with self._pool.acquire() as conn:
            letter = await dead_letters.find(conn, event_id)
        if letter is None:
            raise errors.NotFound(f"no dead letter {event_id}", reason="DEAD_LETTER_NOT_FOUND")
        consumer = self._consumers.get(letter.consumer)
        if consumer is None:
            raise errors.FailedPrecondition(
                f"dead letter {event_id} belongs to consumer {letter.consumer!r},"
                " which this service does not run",
                reason="CONSUMER_NOT_HERE",
            )
        replayed = await consumer.replay(event_id)
        return api.ReplayDeadLetterResponse(
            outcome=_REPLAYED[replayed.outcome],
            dead_letter=dead_letter_to_pb(replayed.dead_letter),
        )

    def register(self, server: grpc.aio.Server) -> None:
        api_grpc.add_OpsServiceServicer_to_server(self, server)


_OPS = api.DESCRIPTOR.services_by_name["OpsService"]
SERVICE_NAME = _OPS.full_name
POLICY = AccessPolicy.of(
    _OPS,
    {
        "ListDeadLetteredDeadlines": OPERATORS,
        "RearmDeadline": OPERATORS,
        "ListDeadLetters": OPERATORS,
        "ReplayDeadLetter": OPERATORS,
    },
)
