"""The Kafka event envelope and the topics it travels on.

Every record's value is a serialized ``crewline.v1.EventEnvelope`` whose payload
is one of the messages in ``events.proto``. Topic names are versioned.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from google.protobuf.message import DecodeError, Message

from crewline.v1 import envelope_pb2

# dispatcher: TaskPublished, TaskChanged, LeaseElapsed, SubmissionAccepted,
# SubmissionRejected, SubmissionFlagged, BonusGranted; key task_id
TASKS_TOPIC = "crewline.tasks.v1"
# matcher: ClaimGranted, ClaimExtended, ClaimEnded, ClaimSettled, WorkSubmitted; key task_id
CLAIMS_TOPIC = "crewline.claims.v1"
PAY_TOPIC = "crewline.pay.v1"  # ledger: PayPosted; key account id credited
# dispatcher: ClientCreated, ApiKeyCreated/Revoked (key client id); matcher:
# ContractorCreated, ContractorTokenRevoked (key contractor id). Every service reads it.
IDENTITY_TOPIC = "crewline.identity.v1"
PROJECTS_TOPIC = "crewline.projects.v1"  # dispatcher: ProjectChanged; key project_id
# matcher: ContractorChanged, QualificationChanged, BlockChanged (key contractor id);
# QualificationTypeDefined (key type name), which the dispatcher reads.
CONTRACTORS_TOPIC = "crewline.contractors.v1"
# quality: ScoreChanged, GoldIssued, SanctionChanged, AppealChanged (key contractor id).
QUALITY_TOPIC = "crewline.quality.v1"
ALL_TOPICS = (
    TASKS_TOPIC,
    CLAIMS_TOPIC,
    PAY_TOPIC,
    IDENTITY_TOPIC,
    PROJECTS_TOPIC,
    CONTRACTORS_TOPIC,
    QUALITY_TOPIC,
)

CORRELATION_HEADER = "correlation_id"


class MalformedEvent(ValueError):
    """A record that is not an envelope, or whose payload does not parse."""


def wrap(
    payload: Message,
    *,
    producer: str,
    correlation_id: str,
    event_id: uuid.UUID | None = None,
    occurred_at: datetime | None = None,
) -> envelope_pb2.EventEnvelope:
    """Put a payload in an envelope with a fresh event id."""
    env = envelope_pb2.EventEnvelope(
        event_id=str(event_id or uuid.uuid4()),
        type=payload.DESCRIPTOR.full_name,
        correlation_id=correlation_id,
        producer=producer,
    )
    env.occurred_at.FromDatetime(occurred_at or datetime.now(UTC))
    env.payload.Pack(payload)
    return env


def parse_envelope(value: bytes | None) -> envelope_pb2.EventEnvelope:
    """The envelope in a record value; raises ``MalformedEvent`` for anything else."""
    if not value:
        raise MalformedEvent("empty record value")
    env = envelope_pb2.EventEnvelope()
    try:
        env.ParseFromString(value)
    except DecodeError as exc:
        raise MalformedEvent(f"not an EventEnvelope: {exc}") from None
    try:
        canonical = str(uuid.UUID(env.event_id)) == env.event_id
    except ValueError:
        canonical = False
    if not canonical:  # '{...}' or 'urn:uuid:...' parse in Python but not in PostgreSQL
        raise MalformedEvent(f"event_id {env.event_id!r} is not a canonical UUID")
    if not env.type or env.payload.TypeName() != env.type:
        raise MalformedEvent(f"type {env.type!r} does not match payload {env.payload.TypeName()!r}")
    return env


@dataclass(frozen=True)
class PayloadTypes:
    """Maps the payload names a consumer knows to their message classes."""

    by_name: dict[str, type[Message]]

    @classmethod
    def of(cls, types: Iterable[type[Message]]) -> PayloadTypes:
        return cls({t.DESCRIPTOR.full_name: t for t in types})

    def unpack(self, env: envelope_pb2.EventEnvelope) -> Message | None:
        """The payload as its message class, or None for a type this consumer ignores."""
        cls = self.by_name.get(env.type)
        if cls is None:
            return None
        msg = cls()
        if not env.payload.Unpack(msg):
            raise MalformedEvent(f"payload does not unpack as {env.type}")
        return msg
