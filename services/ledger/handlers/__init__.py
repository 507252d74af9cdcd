"""What the ledger does: postings from events (``events``), payout batches
(``payouts``), and reading and correcting the books (``books``).

The routing table below answers "what reacts to X?"; gRPC methods map to handlers
in ``entrypoints/grpc_api.py``.
"""

from __future__ import annotations

from functools import partial

from google.protobuf.message import Message

from crewline.consumer import Handler
from crewline.events import CLAIMS_TOPIC, CONTRACTORS_TOPIC, TASKS_TOPIC
from crewline.v1 import events_pb2
from ledger.deps import Deps
from ledger.handlers import events

TOPICS = (TASKS_TOPIC, CLAIMS_TOPIC, CONTRACTORS_TOPIC)


def event_routes(deps: Deps) -> dict[type[Message], Handler]:
    return {
        # crewline.tasks.v1
        events_pb2.SubmissionAccepted: partial(events.on_submission_accepted, deps=deps),
        events_pb2.SubmissionRejected: partial(events.on_submission_rejected, deps=deps),
        events_pb2.BonusGranted: partial(events.on_bonus_granted, deps=deps),
        # crewline.claims.v1
        events_pb2.ClaimSettled: partial(events.on_claim_settled, deps=deps),
        # crewline.contractors.v1
        events_pb2.ContractorChanged: partial(events.on_contractor_changed, deps=deps),
    }
