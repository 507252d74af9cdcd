"""What the quality service does: learn reviews from the dispatcher's events and score
them (``events``), and show the scores (``scores``).

The routing table below answers "what reacts to X?"; gRPC methods map to handlers in
``entrypoints/grpc_api.py``.
"""

from __future__ import annotations

from functools import partial

from google.protobuf.message import Message

from crewline.consumer import Handler
from crewline.events import TASKS_TOPIC
from crewline.v1 import events_pb2
from quality.deps import Deps
from quality.handlers import events

TOPICS = (TASKS_TOPIC,)


def event_routes(deps: Deps) -> dict[type[Message], Handler]:
    return {
        # crewline.tasks.v1
        events_pb2.SubmissionAccepted: partial(events.on_submission_accepted, deps=deps),
        events_pb2.SubmissionRejected: partial(events.on_submission_rejected, deps=deps),
    }
