"""What the quality service does: learn reviews from the dispatcher's events and score
them (``events``), keep the projects it measures in (``projects``), issue gold on
contractors' claims and score their answers (``issuing``), manage gold and quality
policies for clients (``gold``), impose and end the sanctions rules call for
(``sanctions``), file and decide appeals (``appeals``), file and resolve disputes of
gold keys (``disputes``; a corrected key's consequences in ``corrections``), attach,
start and grade exams (``exams``; their answers routed there by ``issuing``), and show
the scores (``scores``).

The routing tables below answer "what reacts to X?" (events, and durable clocks by
kind); gRPC methods map to handlers in ``entrypoints/grpc_api.py``.
"""

from __future__ import annotations

from functools import partial

from google.protobuf.message import Message

from crewline.clock import DeadlineHandler
from crewline.consumer import Handler
from crewline.events import CLAIMS_TOPIC, CONTRACTORS_TOPIC, PROJECTS_TOPIC, TASKS_TOPIC
from crewline.v1 import events_pb2
from quality.deps import Deps
from quality.handlers import appeals, events, exams, issuing, projects, sanctions

# The contractors topic for its qualification types (exams attach to them) alone.
TOPICS = (TASKS_TOPIC, PROJECTS_TOPIC, CLAIMS_TOPIC, CONTRACTORS_TOPIC)


def event_routes(deps: Deps) -> dict[type[Message], Handler]:
    return {
        # crewline.tasks.v1
        events_pb2.SubmissionAccepted: partial(events.on_submission_accepted, deps=deps),
        events_pb2.SubmissionRejected: partial(events.on_submission_rejected, deps=deps),
        events_pb2.SubmissionFlagged: partial(events.on_submission_flagged, deps=deps),
        # crewline.projects.v1
        events_pb2.ProjectChanged: partial(projects.on_project_changed, deps=deps),
        # crewline.claims.v1
        events_pb2.ClaimGranted: partial(issuing.on_claim_granted, deps=deps),
        events_pb2.ClaimEnded: partial(issuing.on_claim_ended, deps=deps),
        events_pb2.WorkSubmitted: partial(issuing.on_work_submitted, deps=deps),
        # crewline.contractors.v1
        events_pb2.QualificationTypeDefined: partial(
            exams.on_qualification_type_defined, deps=deps
        ),
    }


def clock_handlers(deps: Deps) -> dict[str, DeadlineHandler]:
    """The durable clocks' handlers, by kind (``crewline.clock``)."""
    return {
        sanctions.SANCTION_END: partial(sanctions.sanction_end, deps=deps),
        **appeals.deadline_routes(deps),
        **exams.clock_routes(deps),
    }
