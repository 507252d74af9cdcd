"""The dispatcher's tasks and projects as the matcher keeps them (from its events): what
decides whether a slot is offered, the terms a claim is granted under, and the work it
hands out. Pure: no I/O, no protobuf."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from crewline.answers import AnswerSpec
from crewline.pay_terms import PayTerms
from crewline.qualifications import Requirement
from matcher.domain.statuses import ProjectState, TaskLifecycle


@dataclass(frozen=True, kw_only=True)
class TaskState:
    """What decides whether a freed slot is offered again, and why a lapsed claim ended."""

    task_id: uuid.UUID
    lifecycle: TaskLifecycle
    expires_at: datetime | None
    project_state: ProjectState | None  # None: the project is not known here

    def over(self, now: datetime) -> bool:
        """The task's lifetime is over (it may be extended: not necessarily for good)."""
        return self.lifecycle is TaskLifecycle.EXPIRED or (
            self.expires_at is not None and self.expires_at <= now
        )

    def claimable(self, now: datetime) -> bool:
        return (
            self.lifecycle is TaskLifecycle.LIVE
            and not self.over(now)
            and self.project_state is ProjectState.ACTIVE
        )


@dataclass(frozen=True, kw_only=True)
class Payload:
    """The work, as the client gave it: JSON text or bytes."""

    json: str | None = None
    data: bytes | None = None


@dataclass(frozen=True, kw_only=True)
class ProjectTerms:
    """What the matcher keeps of a project (from ProjectChanged): who, how much, in what order."""

    project_id: str
    client_id: str
    revision: int
    title: str
    instructions: str
    requirements: tuple[Requirement, ...]
    priority: int
    max_claims_per_contractor: int
    terms: PayTerms
    updated_at: datetime
    claim_timeout_seconds: int
    state: ProjectState
    # The project's answer spec as the event carries it (None: it never had one; no
    # fields: removed). Kept by version apart from the project's row (adapters/answer_specs).
    answer_spec: AnswerSpec | None = None
