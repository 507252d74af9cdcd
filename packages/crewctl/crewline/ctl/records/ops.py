"""What an operator sees of each service's upkeep, as records: dead-lettered events,
dead-lettered deadlines, and health."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypedDict

from crewline.ctl.pb import field_word, timestamp_text

if TYPE_CHECKING:
    from crewline.client.upkeep import ServiceHealth
    from crewline.v1 import ops_service_pb2 as ops_api


class DeadLetterRecord(TypedDict):
    event_id: str
    topic: str  # without the deployment's namespace, e.g. crewline.tasks.v1
    partition: int
    offset: int
    type: str  # the event's type, e.g. crewline.v1.SubmissionAccepted; '' if it did not parse
    error: str  # the first failure's, then the last replay's
    dead_at: str | None
    correlation_id: str
    replays: int


class DeadLetterPage(TypedDict):
    dead_letters: list[DeadLetterRecord]
    next_page_token: str  # empty on the last page


class Replayed(TypedDict):
    outcome: str  # applied, failed or already_applied
    dead_letter: DeadLetterRecord


class DeadlineRecord(TypedDict):
    kind: str
    ref: str
    generation: int
    state: str  # pending, fired or dead_lettered
    due_at: str | None
    attempts: int  # failed handler runs in this generation
    last_error: str | None
    dead_at: str | None
    fired_at: str | None
    correlation_id: str


class DeadlinePage(TypedDict):
    deadlines: list[DeadlineRecord]
    next_page_token: str  # empty on the last page


class Rearmed(TypedDict):
    deadline: DeadlineRecord
    outcome: str  # armed, moved or unchanged


def dead_letter_record(pb: ops_api.DeadLetter) -> DeadLetterRecord:
    return {
        "event_id": pb.event_id,
        "topic": pb.topic,
        "partition": pb.partition,
        "offset": pb.offset,
        "type": pb.type,
        "error": pb.error,
        "dead_at": timestamp_text(pb, "dead_at"),
        "correlation_id": pb.correlation_id,
        "replays": pb.replays,
    }


def deadline_record(pb: ops_api.Deadline) -> DeadlineRecord:
    return {
        "kind": pb.kind,
        "ref": pb.ref,
        "generation": pb.generation,
        "state": field_word(pb, "state") or "unknown",
        "due_at": timestamp_text(pb, "due_at"),
        "attempts": pb.attempts,
        "last_error": pb.last_error or None,
        "dead_at": timestamp_text(pb, "dead_at"),
        "fired_at": timestamp_text(pb, "fired_at"),
        "correlation_id": pb.correlation_id,
    }


def dead_letter_page(reply: ops_api.ListDeadLettersResponse) -> DeadLetterPage:
    return {
        "dead_letters": [dead_letter_record(d) for d in reply.dead_letters],
        "next_page_token": reply.next_page_token,
    }


def replayed_record(reply: ops_api.ReplayDeadLetterResponse) -> Replayed:
    return {
        "outcome": field_word(reply, "outcome") or "unknown",
        "dead_letter": dead_letter_record(reply.dead_letter),
    }


def deadline_page(reply: ops_api.ListDeadLetteredDeadlinesResponse) -> DeadlinePage:
    return {
        "deadlines": [deadline_record(d) for d in reply.deadlines],
        "next_page_token": reply.next_page_token,
    }


def rearmed_record(reply: ops_api.RearmDeadlineResponse) -> Rearmed:
    return {
        "deadline": deadline_record(reply.deadline),
        "outcome": field_word(reply, "outcome") or "unknown",
    }


class HealthRow(TypedDict):
    service: str
    address: str
    liveness: str  # a ServingStatus name, UNREACHABLE, or the status code of a refusal
    readiness: str


class HealthReport(TypedDict):
    serving: bool  # every liveness and readiness check says SERVING
    services: list[HealthRow]


def health_report(found: list[ServiceHealth]) -> HealthReport:
    rows: list[HealthRow] = [
        {
            "service": h.service,
            "address": h.address,
            "liveness": h.liveness,
            "readiness": h.readiness,
        }
        for h in found
    ]
    return {"serving": all(h.serving for h in found), "services": rows}
