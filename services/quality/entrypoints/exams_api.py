"""Exams over gRPC: parse, call a handler, map back.

``QualityServicer`` delegates its six exam methods here with the caller, as a
``Principal`` taken from the call's context, and its deps (tests call them so too).
"""

from __future__ import annotations

from crewline.auth.principal import Principal
from crewline.qualifications import type_name
from crewline.v1 import quality_service_pb2 as api
from quality.adapters import exams_pb
from quality.deps import Deps
from quality.domain import exam_queries, exams
from quality.handlers import exams as handlers


async def set_exam(
    request: api.SetExamRequest, caller: Principal, deps: Deps
) -> api.SetExamResponse:
    exam = await handlers.set_exam(exams_pb.set_exam(request, caller), deps)
    return api.SetExamResponse(exam=exams_pb.exam_to_pb(exam))


async def get_exam(
    request: api.GetExamRequest, caller: Principal, deps: Deps
) -> api.GetExamResponse:
    name = type_name(request.qualification, field="qualification")
    return api.GetExamResponse(exam=exams_pb.exam_to_pb(await handlers.get_exam(name, deps)))


async def list_exams(
    request: api.ListExamsRequest, caller: Principal, deps: Deps
) -> api.ListExamsResponse:
    query = exam_queries.exams(page_size=request.page_size, page_token=request.page_token)
    found, token = await handlers.list_exams(query, deps)
    return api.ListExamsResponse(
        exams=[exams_pb.exam_to_pb(e) for e in found], next_page_token=token
    )


async def start_exam(
    request: api.StartExamRequest, caller: Principal, deps: Deps
) -> api.StartExamResponse:
    cmd = exams.start_exam(caller, qualification=request.qualification)
    attempt = await handlers.start_exam(cmd, deps)
    return api.StartExamResponse(attempt=exams_pb.attempt_to_pb(attempt))


async def list_my_attempts(
    request: api.ListMyExamAttemptsRequest, caller: Principal, deps: Deps
) -> api.ListMyExamAttemptsResponse:
    query = exam_queries.my_attempts(
        caller, page_size=request.page_size, page_token=request.page_token
    )
    found, token = await handlers.list_attempts(query, deps)
    return api.ListMyExamAttemptsResponse(
        attempts=[exams_pb.attempt_to_pb(a) for a in found], next_page_token=token
    )


async def list_attempts(
    request: api.ListExamAttemptsRequest, caller: Principal, deps: Deps
) -> api.ListExamAttemptsResponse:
    query = exam_queries.attempts(
        caller,
        qualification=request.qualification,
        contractor_id=request.contractor_id,
        page_size=request.page_size,
        page_token=request.page_token,
    )
    found, token = await handlers.list_attempts(query, deps)
    return api.ListExamAttemptsResponse(
        attempts=[exams_pb.attempt_to_pb(a) for a in found], next_page_token=token
    )
