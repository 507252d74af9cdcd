"""What the dispatcher does, one function per command, event and deadline.

The routing tables below answer "what reacts to X?"; gRPC methods map to
handlers in ``entrypoints/grpc_api.py``.
"""

from __future__ import annotations

from functools import partial

from google.protobuf.message import Message

from crewline.clock import DeadlineHandler
from crewline.consumer import Batched, Handler
from crewline.v1 import events_pb2
from dispatcher.deps import Deps
from dispatcher.domain.leases import LEASE
from dispatcher.domain.projects import PROJECT_CLOSED
from dispatcher.domain.review import AUTO_ACCEPT
from dispatcher.handlers import claims, deadlines, gold, projects, sanctions, tasks


def event_routes(deps: Deps) -> dict[type[Message], Handler]:
    return {
        events_pb2.ClaimGranted: Batched(
            one=partial(claims.on_claim_granted, deps=deps),
            many=partial(claims.on_claims_granted, deps=deps),
        ),
        events_pb2.ClaimExtended: partial(claims.on_claim_extended, deps=deps),
        events_pb2.ClaimEnded: partial(claims.on_claim_ended, deps=deps),
        events_pb2.WorkSubmitted: partial(claims.on_work_submitted, deps=deps),
        events_pb2.ClaimSettled: partial(claims.on_claim_settled, deps=deps),
        events_pb2.QualificationTypeDefined: partial(
            projects.on_qualification_type_defined, deps=deps
        ),
        # crewline.quality.v1
        events_pb2.GoldIssued: partial(gold.on_gold_issued, deps=deps),
        events_pb2.SanctionChanged: partial(sanctions.on_sanction_changed, deps=deps),
        events_pb2.AppealChanged: partial(sanctions.on_appeal_changed, deps=deps),
        events_pb2.DisputeChanged: partial(sanctions.on_dispute_changed, deps=deps),
    }


def deadline_routes(deps: Deps) -> dict[str, DeadlineHandler]:
    return {
        LEASE: partial(deadlines.lease_elapsed, deps=deps),
        tasks.TASK_LIFETIME: partial(deadlines.task_lifetime_ended, deps=deps),
        AUTO_ACCEPT: partial(deadlines.auto_accept, deps=deps),
        PROJECT_CLOSED: partial(deadlines.project_closed, deps=deps),
    }
