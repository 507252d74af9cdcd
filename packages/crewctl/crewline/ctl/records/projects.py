"""Projects and their pay terms, as records; and the project fields crewctl sends."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypedDict

from crewline.ctl.pb import field_word, timestamp_text
from crewline.ctl.records.answers import AnswerSpecRecord, answer_spec_of, answer_spec_pb

if TYPE_CHECKING:
    from crewline.client import results, sync
    from crewline.v1 import project_pb2
    from crewline.v1 import task_service_pb2 as task_api


class RequirementRecord(TypedDict):
    qualification: str
    comparator: str  # a comparator's name, e.g. greater_or_equal
    values: list[int | str]  # scores for a score type, strings for a string type
    # A quality measure's project (quality.acceptance_rate in a training project): the
    # project it is measured in; "" for other qualifications. A project reads its own id
    # here for a measure of itself; "" in a request means the project it is sent for.
    project_id: str


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
    answer_spec: AnswerSpecRecord | None  # the shape of a result; None: any bytes
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
    answer_spec: AnswerSpecRecord  # no fields: remove the spec


class ProjectDetails(TypedDict):
    project: ProjectRecord
    pay_terms_history: list[PayTermsRecord]  # oldest first


class ProjectPage(TypedDict):
    projects: list[ProjectRecord]
    next_page_token: str  # empty on the last page


def requirement_record(pb: project_pb2.Requirement) -> RequirementRecord:
    return {
        "qualification": pb.qualification,
        "comparator": field_word(pb, "comparator") or "unspecified",
        "values": [*pb.scores, *pb.strings],
        "project_id": pb.project_id,
    }


def pay_terms_record(pb: project_pb2.PayTerms) -> PayTermsRecord:
    hourly = pb.WhichOneof("basis") == "hourly"
    money = pb.hourly.rate if hourly else pb.per_submission.reward
    return {
        "version": pb.version,
        "basis": "hourly" if hourly else "per_submission",
        "currency": money.currency_code,
        "amount_minor": money.amount_minor,
        "max_paid_seconds": pb.hourly.max_paid_seconds if hourly else 0,
        "effective_at": timestamp_text(pb, "effective_at"),
    }


def project_record(pb: project_pb2.Project) -> ProjectRecord:
    return {
        "project_id": pb.project_id,
        "client_id": pb.client_id,
        "title": pb.title,
        "instructions": pb.instructions,
        "requirements": [requirement_record(r) for r in pb.requirements],
        "pay_terms": pay_terms_record(pb.pay_terms),
        "assignments_per_task": pb.assignments_per_task,
        "claim_timeout_seconds": pb.claim_timeout_seconds,
        "task_lifetime_seconds": pb.task_lifetime_seconds,
        "auto_accept_delay_seconds": pb.auto_accept_delay_seconds,
        "priority": pb.priority,
        "max_claims_per_contractor": pb.max_claims_per_contractor,
        "answer_spec": answer_spec_of(pb),
        "revision": pb.revision,
        "state": field_word(pb, "state"),
        "created_at": timestamp_text(pb, "created_at"),
        "updated_at": timestamp_text(pb, "updated_at"),
    }


def details_record(reply: task_api.GetProjectResponse) -> ProjectDetails:
    return {
        "project": project_record(reply.project),
        "pay_terms_history": [pay_terms_record(t) for t in reply.pay_terms_history],
    }


def page_record(reply: results.Page[results.Project]) -> ProjectPage:
    return {
        "projects": [project_record(p.raw) for p in reply.items],
        "next_page_token": reply.next_page_token,
    }


def requirement_pb(record: RequirementRecord) -> project_pb2.Requirement:
    from crewline.v1 import project_pb2

    name = f"COMPARATOR_{record['comparator'].upper()}"
    known = name in project_pb2.Comparator.keys()
    comparator = project_pb2.Comparator.Value(name) if known else project_pb2.COMPARATOR_UNSPECIFIED
    return project_pb2.Requirement(
        qualification=record["qualification"],
        comparator=comparator,
        scores=[v for v in record["values"] if isinstance(v, int)],
        strings=[v for v in record["values"] if isinstance(v, str)],
        project_id=record["project_id"],
    )


def pay_terms_pb(record: PayTermsRecord) -> project_pb2.PayTerms:
    from crewline.client import build

    money = build.money(record["amount_minor"], record["currency"])
    if record["basis"] == "hourly":
        return build.hourly(money, max_paid_seconds=record["max_paid_seconds"])
    return build.per_submission(money)


def project_values(fields: ProjectFields) -> dict[str, Any]:
    """``fields`` as the SDK's keyword arguments: messages where the SDK takes messages."""
    values: dict[str, Any] = dict(fields)
    if "requirements" in fields:
        values["requirements"] = [requirement_pb(r) for r in fields["requirements"]]
    if "pay_terms" in fields:
        values["pay_terms"] = pay_terms_pb(fields["pay_terms"])
    if "answer_spec" in fields:
        values["answer_spec"] = answer_spec_pb(fields["answer_spec"])
    return values


def project_pb(project_id: str, fields: ProjectFields) -> project_pb2.Project:
    """The Project an update sends: its id and the changed fields (their names the mask)."""
    from crewline.v1 import project_pb2

    return project_pb2.Project(project_id=project_id, **project_values(fields))


def create_project(client: sync.Client, request_id: str, fields: ProjectFields) -> ProjectRecord:
    """CreateProject with ``fields`` (title and pay terms among them), as a record."""
    values = project_values(fields)
    return project_record(client.create_project(request_id=request_id, **values).raw)


def update_project(
    client: sync.Client, project_id: str, changes: ProjectFields, expected_revision: int
) -> ProjectRecord:
    """UpdateProject setting exactly ``changes`` (their names are the mask), as a record."""
    project = project_pb(project_id, changes)
    updated = client.update_project(
        project, paths=list(changes), expected_revision=expected_revision
    )
    return project_record(updated.raw)
