"""The dispatcher's project calls for crewctl, made with a client's API key.

Protobuf stops here: replies become the records of ``crewline.ctl.project_api``.
"""

from __future__ import annotations

from typing import Any

from google.protobuf import field_mask_pb2

from crewline.ctl.config import Addresses
from crewline.ctl.pb import enum_word, timestamp_text
from crewline.ctl.project_api import (
    PayTermsRecord,
    ProjectDetails,
    ProjectFields,
    ProjectPage,
    ProjectRecord,
    RequirementRecord,
)
from crewline.ctl.rpc import RPC_TIMEOUT, ServiceCalls
from crewline.protobuf import COMPARATORS
from crewline.qualifications import Comparator
from crewline.v1 import money_pb2, project_pb2
from crewline.v1 import task_service_pb2 as api
from crewline.v1 import task_service_pb2_grpc as api_grpc

_COMPARATOR_PB = {v: k for k, v in COMPARATORS.items()}


def requirement_record(pb: project_pb2.Requirement) -> RequirementRecord:
    comparator = COMPARATORS.get(pb.comparator)
    return {
        "qualification": pb.qualification,
        "comparator": comparator.value if comparator else "unspecified",
        "values": [*pb.scores, *pb.strings],
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
    """A Project message as a record."""
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
        "revision": pb.revision,
        "state": enum_word(project_pb2.ProjectState.DESCRIPTOR, pb.state),
        "created_at": timestamp_text(pb, "created_at"),
        "updated_at": timestamp_text(pb, "updated_at"),
    }


def requirement_pb(record: RequirementRecord) -> project_pb2.Requirement:
    pb = project_pb2.Requirement(
        qualification=record["qualification"],
        comparator=_COMPARATOR_PB.get(
            Comparator(record["comparator"]), project_pb2.COMPARATOR_UNSPECIFIED
        ),
    )
    pb.scores.extend(v for v in record["values"] if isinstance(v, int))
    pb.strings.extend(v for v in record["values"] if isinstance(v, str))
    return pb


def pay_terms_pb(record: PayTermsRecord) -> project_pb2.PayTerms:
    money = money_pb2.Money(currency_code=record["currency"], amount_minor=record["amount_minor"])
    if record["basis"] == "hourly":
        hourly = project_pb2.HourlyPay(rate=money, max_paid_seconds=record["max_paid_seconds"])
        return project_pb2.PayTerms(hourly=hourly)
    return project_pb2.PayTerms(per_submission=project_pb2.PerSubmissionPay(reward=money))


def fill_project(target: Any, fields: ProjectFields) -> list[str]:
    """Copy ``fields`` into a CreateProjectRequest or a Project; the paths it set."""
    for name, value in fields.items():
        if name == "requirements":
            target.requirements.extend(requirement_pb(r) for r in fields["requirements"])
        elif name == "pay_terms":
            target.pay_terms.CopyFrom(pay_terms_pb(fields["pay_terms"]))
        else:
            setattr(target, name, value)
    return list(fields)


def task_service(
    addresses: Addresses, credential: str, *, timeout: float = RPC_TIMEOUT
) -> ServiceCalls:
    """The dispatcher's TaskService, called with a client's API key."""
    return ServiceCalls(
        service="dispatcher",
        address=addresses.dispatcher,
        stub=api_grpc.TaskServiceStub,
        credential=credential,
        timeout=timeout,
        tls=addresses.tls,
    )


class GrpcProjects:
    """Calls the dispatcher's TaskService with ``authorization: Bearer <API key>``."""

    def __init__(self, addresses: Addresses, credential: str, *, timeout: float = RPC_TIMEOUT):
        self._calls = task_service(addresses, credential, timeout=timeout)

    def _call(self, method: str, request: Any) -> Any:
        return self._calls.call(method, request)

    def create_project(self, request_id: str, fields: ProjectFields) -> ProjectRecord:
        request = api.CreateProjectRequest(request_id=request_id)
        fill_project(request, fields)
        return project_record(self._call("CreateProject", request).project)

    def get_project(self, project_id: str) -> ProjectDetails:
        reply = self._call("GetProject", api.GetProjectRequest(project_id=project_id))
        return {
            "project": project_record(reply.project),
            "pay_terms_history": [pay_terms_record(t) for t in reply.pay_terms_history],
        }

    def list_projects(self, page_size: int, page_token: str) -> ProjectPage:
        request = api.ListProjectsRequest(page_size=page_size, page_token=page_token)
        reply = self._call("ListProjects", request)
        return {
            "projects": [project_record(p) for p in reply.projects],
            "next_page_token": reply.next_page_token,
        }

    def update_project(
        self, project_id: str, changes: ProjectFields, expected_revision: int
    ) -> ProjectRecord:
        request = api.UpdateProjectRequest(expected_revision=expected_revision)
        request.project.project_id = project_id
        paths = fill_project(request.project, changes)
        request.update_mask.CopyFrom(field_mask_pb2.FieldMask(paths=paths))
        return project_record(self._call("UpdateProject", request).project)

    def pause_project(self, project_id: str) -> ProjectRecord:
        request = api.PauseProjectRequest(project_id=project_id)
        return project_record(self._call("PauseProject", request).project)

    def resume_project(self, project_id: str) -> ProjectRecord:
        request = api.ResumeProjectRequest(project_id=project_id)
        return project_record(self._call("ResumeProject", request).project)

    def close_project(self, project_id: str) -> ProjectRecord:
        request = api.CloseProjectRequest(project_id=project_id)
        return project_record(self._call("CloseProject", request).project)
