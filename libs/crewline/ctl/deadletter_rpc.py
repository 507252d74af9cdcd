"""The kernel's OpsService for crewctl: dead-lettered events, with the operator credential.

Protobuf stops here: replies become the records of ``crewline.ctl.deadletters``.
"""

from __future__ import annotations

from typing import Any

from crewline.ctl.deadletters import DeadLetterPage, DeadLetterRecord, Replayed
from crewline.ctl.pb import enum_word, timestamp_text
from crewline.ctl.rpc import RPC_TIMEOUT, ops_calls
from crewline.tls import ClientTls
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


class GrpcDeadLetterOps:
    """Calls one service's OpsService with ``authorization: Bearer <operator credential>``."""

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
