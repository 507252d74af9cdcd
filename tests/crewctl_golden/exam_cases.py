"""Golden cases of exams: exams read by anyone, an exam set (the client a qualification
type names, or an operator) with its durations, an exam taken by a contractor (its
questions shown, a retake too soon saying when it may start), the attempts as each
audience reads them, what is refused before any call, and a qualification type defined
for a client."""

from __future__ import annotations

from functools import partial
from typing import Any

from grpc_standin import Echo, Refusal

from crewctl_golden.harness import Case, case, invalid, missing
from crewctl_golden.records import AT, LATER, PROJECT_ID, TASK_ID

as_client = partial(case, caller="client")
as_contractor = partial(case, caller="contractor")
QUALIFICATION = "domain.dermatology"
ATTEMPT_ID = "3e2d1c0b-9a8f-4e7d-8c6b-5a4f3e2d1c0b"
OTHER_TASK_ID = "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"

EXAM: dict[str, Any] = {
    "qualification": QUALIFICATION,
    "project_id": PROJECT_ID,
    "client_id": "acme-labs",
    "question_count": 10,
    "pass_mark": 80,
    "retake_cooldown": "604800s",
    "paid": True,
    "time_limit": "7200s",
    "updated_at": AT,
}
RADIOLOGY: dict[str, Any] = {
    **{k: v for k, v in EXAM.items() if k != "time_limit"},
    "qualification": "domain.radiology",
    "retake_cooldown": "0s",
    "paid": False,
}
IN_PROGRESS: dict[str, Any] = {
    "attempt_id": ATTEMPT_ID,
    "contractor_id": "dr-lee",
    "qualification": QUALIFICATION,
    "project_id": PROJECT_ID,
    "state": "EXAM_ATTEMPT_STATE_IN_PROGRESS",
    "task_ids": [TASK_ID, OTHER_TASK_ID],
    "answered": 1,
    "pass_mark": 80,
    "started_at": AT,
    "ends_by": "2026-01-02T05:04:05Z",
}
PASSED: dict[str, Any] = {
    **IN_PROGRESS,
    "attempt_id": "3e2d1c0b-9a8f-4e7d-8c6b-5a4f3e2d1c0a",
    "state": "EXAM_ATTEMPT_STATE_PASSED",
    "answered": 2,
    "score": 100,
    "finished_at": "2026-01-02T04:04:05Z",
    "retake_after": LATER,
}
FAILED: dict[str, Any] = {
    **PASSED,
    "attempt_id": "3e2d1c0b-9a8f-4e7d-8c6b-5a4f3e2d1c09",
    "qualification": "domain.radiology",
    "state": "EXAM_ATTEMPT_STATE_FAILED",
    "score": 0,
}


def _set(request: dict[str, Any]) -> dict[str, Any]:
    return {"exam": {**request["exam"], "client_id": "acme-labs", "updated_at": AT}}


_COOLDOWN = Refusal(
    "FAILED_PRECONDITION",
    f"qualification: {QUALIFICATION}: retake after {LATER}",
    "EXAM_COOLDOWN",
    {"field": "qualification", "retake_after": LATER},
)
_UNAVAILABLE = Refusal(
    "FAILED_PRECONDITION",
    f"qualification: {QUALIFICATION}: the exam's project has too few gold tasks",
    "EXAM_UNAVAILABLE",
    {"field": "qualification"},
)
_SET = f"{QUALIFICATION} --project {PROJECT_ID} --questions 10 --pass-mark 80"

READ_CASES = [
    as_contractor("exams_contractor", "exams", "", ListExams={"exams": [EXAM, RADIOLOGY]}),
    case(
        "exams_operator_table",
        "exams",
        "",
        options=(),
        ListExams={"exams": [EXAM, RADIOLOGY], "next_page_token": "e2"},
    ),
    as_client(
        "exams_unreachable",
        "exams",
        "",
        fails=True,
        ListExams=Refusal("UNAVAILABLE", "connection refused"),
    ),
    as_client("exam_get", "exam get", QUALIFICATION, GetExam={"exam": EXAM}),
    as_contractor(
        "exam_get_table", "exam get", "domain.radiology", options=(), GetExam={"exam": RADIOLOGY}
    ),
    case(
        "exam_get_none",
        "exam get",
        "domain.cardiology",
        fails=True,
        GetExam=missing("exam of domain.cardiology"),
    ),
]

SET_CASES = [
    as_client("exam_set_client", "exam set", f"{_SET} --cooldown 7d", SetExam=Echo(_set)),
    case(
        "exam_set_operator_table",
        "exam set",
        f"{_SET} --cooldown 0 --time-limit 2h --unpaid",
        options=(),
        SetExam=Echo(_set),
    ),
    as_client(
        "exam_set_not_the_clients",
        "exam set",
        f"{_SET} --cooldown 7d",
        fails=True,
        SetExam=Refusal(
            "NOT_FOUND",
            f"exam.qualification: {QUALIFICATION} not found",
            "NOT_FOUND",
            {"field": "exam.qualification"},
        ),
    ),
    case(
        "exam_set_refused_field",
        "exam set",
        f"{QUALIFICATION} --project {PROJECT_ID} --questions 0 --pass-mark 80 --cooldown 7d",
        fails=True,
        SetExam=invalid("exam.question_count", "exam.question_count: must be 1-100"),
    ),
    as_client("exam_set_bad_cooldown", "exam set", f"{_SET} --cooldown soon", fails=True),
    as_contractor("exam_set_contractor", "exam set", f"{_SET} --cooldown 7d", fails=True),
]

START_CASES = [
    as_contractor("exam_start", "exam start", QUALIFICATION, StartExam={"attempt": IN_PROGRESS}),
    as_contractor(
        "exam_start_table",
        "exam start",
        QUALIFICATION,
        options=(),
        StartExam={"attempt": IN_PROGRESS},
    ),
    as_contractor(
        "exam_start_cooldown", "exam start", QUALIFICATION, fails=True, StartExam=_COOLDOWN
    ),
    as_contractor(
        "exam_start_unavailable", "exam start", QUALIFICATION, fails=True, StartExam=_UNAVAILABLE
    ),
    as_client("exam_start_client_key", "exam start", QUALIFICATION, fails=True),
]

ATTEMPT_CASES = [
    as_contractor(
        "exam_attempts_own",
        "exam attempts",
        "",
        ListMyExamAttempts={"attempts": [IN_PROGRESS, PASSED, FAILED]},
    ),
    as_contractor(
        "exam_attempts_own_at_one_table",
        "exam attempts",
        "domain.radiology",
        options=(),
        ListMyExamAttempts={"attempts": [IN_PROGRESS, FAILED], "next_page_token": "a2"},
    ),
    as_contractor(
        "exam_attempts_own_by_contractor", "exam attempts", "--contractor dr-kim", fails=True
    ),
    as_client(
        "exam_attempts_client",
        "exam attempts",
        f"{QUALIFICATION} --contractor dr-lee",
        ListExamAttempts={"attempts": [PASSED]},
    ),
    as_client("exam_attempts_client_no_qualification", "exam attempts", "", fails=True),
    case(
        "exam_attempts_operator_all_table",
        "exam attempts",
        f"{QUALIFICATION} --all",
        options=(),
        ListExamAttempts=[
            {"attempts": [IN_PROGRESS], "next_page_token": "a2"},
            {"attempts": [PASSED]},
        ],
    ),
]

_FOR_CLIENT = {
    "name": "acme.triage",
    "kind": "QUALIFICATION_KIND_SCORE",
    "description": "Acme's triage, 0-100",
    "client_id": "acme-labs",
    "created_at": AT,
}
QUALIFICATION_CASES = [
    case(
        "qualification_type_define_for_client",
        "qualification type define",
        'acme.triage --kind score --description "Acme\'s triage, 0-100" --client acme-labs',
        DefineQualificationType={"qualification_type": _FOR_CLIENT},
    ),
    case(
        "qualification_type_define_bad_client",
        "qualification type define",
        "acme.triage --kind score --client 'Acme Labs'",
        fails=True,
        DefineQualificationType=invalid("client_id", "client_id: 'Acme Labs' is not a client id"),
    ),
]

CASES: list[Case] = [
    *READ_CASES,
    *SET_CASES,
    *START_CASES,
    *ATTEMPT_CASES,
    *QUALIFICATION_CASES,
]
