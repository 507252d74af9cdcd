"""What the dispatcher does, one function per command, event and deadline.

The routing tables below answer "what reacts to X?"; gRPC methods map to
handlers in ``entrypoints/grpc_api.py``.
"""

from __future__ import annotations

from functools import partial

from google.protobuf.message import Message

from crewline.clock import DeadlineHandler
from crewline.consumer import Handler
from crewline.v1 import events_pb2
from dispatcher.deps import Deps
from dispatcher.handlers import projects, tasks


def event_routes(deps: Deps) -> dict[type[Message], Handler]:
    return {
        events_pb2.ClaimGranted: partial(tasks.on_claim_granted, deps=deps),
        events_pb2.WorkSubmitted: partial(tasks.on_work_submitted, deps=deps),
        events_pb2.QualificationTypeDefined: partial(
            projects.on_qualification_type_defined, deps=deps
        ),
    }


def deadlines(deps: Deps) -> dict[str, DeadlineHandler]:
    return {tasks.AUTO_ACCEPT: partial(tasks.auto_accept, deps=deps)}
