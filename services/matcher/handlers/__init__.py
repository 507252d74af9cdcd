"""What the matcher does, one function per command and event.

The routing table below answers "what reacts to X?"; gRPC methods map to
handlers in ``entrypoints/grpc_api.py``.
"""

from __future__ import annotations

from functools import partial

from google.protobuf.message import Message

from crewline.consumer import Handler
from crewline.v1 import events_pb2
from matcher.deps import Deps
from matcher.handlers import claims, exams, projects, scores, suspensions


def event_routes(deps: Deps) -> dict[type[Message], Handler]:
    return {
        events_pb2.TaskPublished: partial(claims.on_task_published, deps=deps),
        events_pb2.TaskChanged: partial(claims.on_task_changed, deps=deps),
        events_pb2.LeaseElapsed: partial(claims.on_lease_elapsed, deps=deps),
        events_pb2.SubmissionAccepted: partial(claims.on_submission_accepted, deps=deps),
        events_pb2.SubmissionRejected: partial(claims.on_submission_rejected, deps=deps),
        events_pb2.ProjectChanged: partial(projects.on_project_changed, deps=deps),
        # crewline.quality.v1
        events_pb2.ScoreChanged: partial(scores.on_score_changed, deps=deps),
        events_pb2.SanctionChanged: partial(suspensions.on_sanction_changed, deps=deps),
        events_pb2.ExamAttemptChanged: partial(exams.on_exam_attempt_changed, deps=deps),
    }
