"""A client's projects, as ``Client.create_project``, ``get_project`` and the rest return them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from crewline.client.results.answers import AnswerSpec, answer_spec_of
from crewline.client.results.enums import ProjectState
from crewline.client.results.terms import PayTerms, Requirement, terms_of
from crewline.client.results.wire import brief, time_of
from crewline.v1 import project_pb2
from crewline.v1 import task_service_pb2 as task_api


@dataclass(frozen=True, slots=True, kw_only=True)
class Project:
    """A body of work with shared terms, owned by one client.

    ``project_id``, ``client_id``, ``title``, ``instructions`` (shown to contractors
    with every task); ``requirements`` a contractor must all meet; ``pay_terms`` (the
    current version); ``state`` (ACTIVE, PAUSED, CLOSED); defaults for its tasks:
    ``assignments_per_task``, ``claim_timeout_seconds``, ``task_lifetime_seconds``,
    ``auto_accept_delay_seconds``, ``priority`` (0-100, higher first),
    ``max_claims_per_contractor`` (0: no limit); ``answer_spec``: the shape of a result
    (None: any bytes are a result); ``revision`` (+1 on every change), ``created_at``,
    ``updated_at``.
    """

    project_id: str
    client_id: str
    title: str
    instructions: str
    requirements: tuple[Requirement, ...]
    pay_terms: PayTerms | None
    state: ProjectState | None
    assignments_per_task: int
    claim_timeout_seconds: int
    task_lifetime_seconds: int
    auto_accept_delay_seconds: int
    priority: int
    max_claims_per_contractor: int
    revision: int
    created_at: datetime | None
    updated_at: datetime | None
    answer_spec: AnswerSpec | None = None
    raw: project_pb2.Project = field(default_factory=project_pb2.Project, repr=False, compare=False)

    @classmethod
    def from_pb(cls, message: project_pb2.Project) -> Project:
        return cls(
            project_id=message.project_id,
            client_id=message.client_id,
            title=message.title,
            instructions=message.instructions,
            requirements=tuple(map(Requirement.from_pb, message.requirements)),
            pay_terms=terms_of(message),
            state=ProjectState.from_pb(message.state),
            assignments_per_task=message.assignments_per_task,
            claim_timeout_seconds=message.claim_timeout_seconds,
            task_lifetime_seconds=message.task_lifetime_seconds,
            auto_accept_delay_seconds=message.auto_accept_delay_seconds,
            priority=message.priority,
            max_claims_per_contractor=message.max_claims_per_contractor,
            revision=message.revision,
            created_at=time_of(message, "created_at"),
            updated_at=time_of(message, "updated_at"),
            answer_spec=answer_spec_of(message),
            raw=message,
        )

    def __str__(self) -> str:
        terms = self.pay_terms or "no pay terms"
        return (
            f"project {self.project_id} {self.title!r}: {self.state or 'UNKNOWN'}, {terms},"
            f" {self.assignments_per_task} per task, revision {self.revision}"
        )

    def __repr__(self) -> str:
        return brief(self, "project_id", "title", "state", "pay_terms", "revision")


@dataclass(frozen=True, slots=True, kw_only=True)
class ProjectDetails:
    """``project``, and ``pay_terms_history``: every version of its pay terms, oldest
    first (the last is the current one)."""

    project: Project
    pay_terms_history: tuple[PayTerms, ...]
    raw: task_api.GetProjectResponse = field(
        default_factory=task_api.GetProjectResponse, repr=False, compare=False
    )

    @classmethod
    def from_pb(cls, message: task_api.GetProjectResponse) -> ProjectDetails:
        return cls(
            project=Project.from_pb(message.project),
            pay_terms_history=tuple(map(PayTerms.from_pb, message.pay_terms_history)),
            raw=message,
        )

    def __str__(self) -> str:
        return f"{self.project} ({len(self.pay_terms_history)} versions of pay terms)"

    def __repr__(self) -> str:
        return (
            f"ProjectDetails({self.project!r}, pay_terms_history=<{len(self.pay_terms_history)}>)"
        )
