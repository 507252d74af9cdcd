"""The kernel's OpsService for crewctl (dead-lettered events and deadlines), with the
operator credential.

Protobuf stops here: replies become the records of ``crewline.ctl.deadletters`` and
``crewline.ctl.deadlines``.
"""

from __future__ import annotations

from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp

from crewline.client.tls import ClientTls
from crewline.ctl.deadletters import DeadLetterPage, DeadLetterRecord, Replayed
from crewline.ctl.deadlines import DeadlinePage, DeadlineRecord, Rearmed
from crewline.ctl.pb import enum_word, timestamp_text
from crewline.ctl.rpc import RPC_TIMEOUT, ops_calls
from crewline.v1 import ops_service_pb2 as api


def dead_letter_record(pb: api.DeadLetter) -> DeadLetterRecord:
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


def deadline_record(pb: api.Deadline) -> DeadlineRecord:
    return {
        "kind": pb.kind,
        "ref": pb.ref,
        "generation": pb.generation,
        "state": enum_word(api.DeadlineState.DESCRIPTOR, pb.state) or "unknown",
        "due_at": timestamp_text(pb, "due_at"),
        "attempts": pb.attempts,
        "last_error": pb.last_error or None,
        "dead_at": timestamp_text(pb, "dead_at"),
        "fired_at": timestamp_text(pb, "fired_at"),
        "correlation_id": pb.correlation_id,
    }


def rearm_request(kind: str, ref: str, due_at: str | None) -> api.RearmDeadlineRequest:
    request = api.RearmDeadlineRequest(kind=kind, ref=ref)
    if due_at is not None:
        at = Timestamp()
        at.FromJsonString(due_at)
        request.due_at.CopyFrom(at)
    return request


class GrpcOps:
    """Calls one service's OpsService with ``authorization: Bearer <operator credential>``:
    the ``DeadLetterOps`` and the ``DeadlineOps`` of crewctl's commands."""

    def __init__(
        self,
        service: str,
        address: str,
        credential: str,
        *,
        timeout: float = RPC_TIMEOUT,
        tls: ClientTls | None = None,
    ) -> None:
        self._calls = ops_calls(service, address, credential, timeout=timeout, tls=tls)

    def _call(self, method: str, request: Any) -> Any:
        return self._calls.call(method, request)

    def list_dead_letters(self, topic: str, page_size: int, page_token: str) -> DeadLetterPage:
        request = api.ListDeadLettersRequest(
            topic=topic, page_size=page_size, page_token=page_token
        )
        reply = self._call("ListDeadLetters", request)
        return {
            "dead_letters": [dead_letter_record(d) for d in reply.dead_letters],
            "next_page_token": reply.next_page_token,
        }

    def replay(self, event_id: str) -> Replayed:
        reply = self._call("ReplayDeadLetter", api.ReplayDeadLetterRequest(event_id=event_id))
        return {
            "outcome": enum_word(api.ReplayOutcome.DESCRIPTOR, reply.outcome) or "unknown",
            "dead_letter": dead_letter_record(reply.dead_letter),
        }

    def list_dead_lettered(self, kind: str, page_size: int, page_token: str) -> DeadlinePage:
        request = api.ListDeadLetteredDeadlinesRequest(
            kind=kind, page_size=page_size, page_token=page_token
        )
        reply = self._call("ListDeadLetteredDeadlines", request)
        return {
            "deadlines": [deadline_record(d) for d in reply.deadlines],
            "next_page_token": reply.next_page_token,
        }

    def rearm(self, kind: str, ref: str, due_at: str | None) -> Rearmed:
        reply = self._call("RearmDeadline", rearm_request(kind, ref, due_at))
        return {
            "deadline": deadline_record(reply.deadline),
            "outcome": enum_word(api.RearmOutcome.DESCRIPTOR, reply.outcome) or "unknown",
        }
