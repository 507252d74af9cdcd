"""What ``crewctl project ...`` needs from the dispatcher, in plain Python.

These calls are a client's, made with the client's API key (not the operator
credential); ``crewline.ctl.project_rpc.GrpcProjects`` is the real one, tests pass
a fake. Records are JSON-ready dicts, like ``crewline.ctl.api``'s.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, TypedDict

from crewline.ctl.config import Addresses


class RequirementRecord(TypedDict):
    qualification: str
    comparator: str  # a crewline.qualifications.Comparator value, e.g. greater_or_equal
    values: list[int | str]  # scores for a score type, strings for a string type


class PayTermsRecord(TypedDict):
    version: int  # 0 in a request: the dispatcher numbers them
    basis: str  # per_submission or hourly
    currency: str
    amount_minor: int  # the reward per submission, or the pay per hour
    max_paid_seconds: int  # hourly only
    effective_at: str | None


class ProjectRecord(TypedDict):
    project_id: str
    client_id: str
    title: str
    instructions: str
    requirements: list[RequirementRecord]
    pay_terms: PayTermsRecord
    assignments_per_task: int
    claim_timeout_seconds: int
    task_lifetime_seconds: int
    auto_accept_delay_seconds: int
    priority: int
    max_claims_per_contractor: int
    revision: int
    state: str | None  # active, paused or closed
    created_at: str | None
    updated_at: str | None


class ProjectFields(TypedDict, total=False):
    """Settable fields; in an update, only those present change (they are the mask)."""

    title: str
    instructions: str
    requirements: list[RequirementRecord]
    pay_terms: PayTermsRecord
    assignments_per_task: int
    claim_timeout_seconds: int
    task_lifetime_seconds: int
    auto_accept_delay_seconds: int
    priority: int
    max_claims_per_contractor: int


class ProjectDetails(TypedDict):
    project: ProjectRecord
    pay_terms_history: list[PayTermsRecord]  # oldest first


class ProjectPage(TypedDict):
    projects: list[ProjectRecord]
    next_page_token: str  # empty on the last page


class Projects(Protocol):
    """A client's project calls. Each raises ``RpcFailed`` when refused."""

    def create_project(self, request_id: str, fields: ProjectFields) -> ProjectRecord: ...

    def get_project(self, project_id: str) -> ProjectDetails: ...

    def list_projects(self, page_size: int, page_token: str) -> ProjectPage: ...

    def update_project(
        self, project_id: str, changes: ProjectFields, expected_revision: int
    ) -> ProjectRecord: ...

    # Each returns the project; repeating one (pausing a paused project) changes nothing.
    def pause_project(self, project_id: str) -> ProjectRecord: ...

    def resume_project(self, project_id: str) -> ProjectRecord: ...

    def close_project(self, project_id: str) -> ProjectRecord: ...


# Builds a Projects for the resolved addresses and the client's API key.
ProjectsFactory = Callable[[Addresses, str], Projects]
