"""What the services' outboxes tell the checker: how often each deadline's effect was
published (the dispatcher's), and in which order claims took and gave back their
slots (the matcher's). Pure: envelopes in, figures out."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from crewline.events import PayloadTypes, parse_envelope
from crewline.v1 import events_pb2

_DEADLINE_EVENTS = PayloadTypes.of(
    [events_pb2.LeaseElapsed, events_pb2.TaskChanged, events_pb2.SubmissionAccepted]
)
_SLOT_EVENTS = PayloadTypes.of([events_pb2.ClaimGranted, events_pb2.ClaimEnded])


def deadline_effects(envelopes: Iterable[bytes]) -> dict[str, int]:
    """How often each deadline firing's effect is in the outbox:

    - ``LeaseElapsed:<claim>:<n>``: the lease's n-th firing (a claim's lease fires again
      only when a heartbeat re-armed it, at a later deadline: n numbers the deadlines);
    - ``TaskExpired:<task>``: TaskChanged to EXPIRED, what the lifetime clock publishes;
    - ``SubmissionAccepted:<submission>``: accepted by the auto-accept clock.
    """
    counts: Counter[str] = Counter()
    lapses: dict[str, Counter[float]] = defaultdict(Counter)
    for value in envelopes:
        event = _DEADLINE_EVENTS.unpack(parse_envelope(value))
        if isinstance(event, events_pb2.LeaseElapsed):
            lapses[event.claim_id][event.deadline_at.ToNanoseconds() / 1e9] += 1
        elif isinstance(event, events_pb2.TaskChanged):
            if event.lifecycle == events_pb2.TASK_LIFECYCLE_EXPIRED:
                counts[f"TaskExpired:{event.task_id}"] += 1
        elif isinstance(event, events_pb2.SubmissionAccepted):
            if event.accepted_by == events_pb2.ACCEPTED_BY_AUTO_ACCEPT:
                counts[f"SubmissionAccepted:{event.submission_id}"] += 1
    for claim_id, deadlines in lapses.items():
        for n, deadline in enumerate(sorted(deadlines), start=1):
            counts[f"LeaseElapsed:{claim_id}:{n}"] = deadlines[deadline]
    return dict(counts)


@dataclass
class ClaimOrder:
    """claim id -> the outbox id of its ClaimGranted, and of its ClaimEnded."""

    granted: dict[str, int] = field(default_factory=dict)
    ended: dict[str, int] = field(default_factory=dict)


def claim_order(rows: Iterable[tuple[int, bytes]]) -> ClaimOrder:
    """From the matcher's (outbox id, envelope) rows; the first of each kind counts."""
    order = ClaimOrder()
    for row_id, value in rows:
        event = _SLOT_EVENTS.unpack(parse_envelope(value))
        if isinstance(event, events_pb2.ClaimGranted):
            order.granted.setdefault(event.claim_id, row_id)
        elif isinstance(event, events_pb2.ClaimEnded):
            order.ended.setdefault(event.claim_id, row_id)
    return order
