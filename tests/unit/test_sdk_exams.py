"""The SDK's exams: a client or an operator sets the exam that grants a SCORE
qualification type (durations as timedeltas, the time limit left to the service when
not given) and reads the attempts at it; anyone reads exams; a contractor starts one
(an attempt in progress comes back as it is; a retake too soon is refused with the time
it may start) and reads their own attempts (typed results, a page and every page, async
and blocking), against a stand-in quality service; the operator names the client a
qualification type is for."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from grpc_standin import Echo, Refusal, StandIns

from crewline.client import (
    AcceptedBy,
    Client,
    Contractor,
    Endpoints,
    Exam,
    ExamAttempt,
    ExamAttemptState,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    Operator,
    Submission,
    sync,
)
from crewline.client.exams import ExamReads, Exams, MyExams
from crewline.v1 import events_pb2, project_pb2
from crewline.v1 import task_service_pb2 as task_api

KEY = "crwk_k_s"
TOKEN = "a.contractor.token"
OPERATOR = "crwo_operator"
AT = "2026-03-01T14:05:09Z"
EXAM = {
    "qualification": "domain.dermatology",
    "project_id": "p-1",
    "client_id": "acme",
    "question_count": 10,
    "pass_mark": 80,
    "retake_cooldown": "604800s",
    "paid": True,
    "time_limit": "7200s",
    "updated_at": AT,
}
IN_PROGRESS = {
    "attempt_id": "a-1",
    "contractor_id": "dr-lee",
    "qualification": "domain.dermatology",
    "project_id": "p-1",
    "state": "EXAM_ATTEMPT_STATE_IN_PROGRESS",
    "task_ids": ["t-1", "t-2", "t-3"],
    "answered": 1,
    "pass_mark": 80,
    "started_at": AT,
    "ends_by": "2026-03-01T16:05:09Z",
}
PASSED = {
    **IN_PROGRESS,
    "attempt_id": "a-0",
    "state": "EXAM_ATTEMPT_STATE_PASSED",
    "answered": 3,
    "score": 100,
    "finished_at": "2026-03-01T15:00:00Z",
    "retake_after": "2026-03-08T15:00:00Z",
}
FAILED_AT_ZERO = {**PASSED, "attempt_id": "a-2", "state": "EXAM_ATTEMPT_STATE_FAILED", "score": 0}


def quality(servers: StandIns) -> Endpoints:
    return Endpoints(quality=servers.address("quality"))


def requests(servers: StandIns, method: str) -> list[dict[str, Any]]:
    return [r.request for r in servers.received if r.method.endswith(f"/{method}")]


async def test_a_client_sets_an_exam_with_durations_as_timedeltas(servers: StandIns) -> None:
    def stored(request: dict[str, Any]) -> dict[str, Any]:
        return {"exam": {**request["exam"], "client_id": "acme", "updated_at": AT}}

    servers.play({"SetExam": [Echo(stored)] * 2})
    async with Client(credential=KEY, endpoints=quality(servers), env={}) as client:
        timed = await client.set_exam(
            "domain.dermatology",
            "p-1",
            10,
            80,
            timedelta(days=7),
            True,
            time_limit=timedelta(hours=2),
        )
        untimed = await client.set_exam(
            "domain.dermatology",
            project_id="p-1",
            question_count=5,
            pass_mark=0,
            retake_cooldown=timedelta(0),
            paid=False,
        )

    assert requests(servers, "SetExam") == [
        {
            "exam": {
                "qualification": "domain.dermatology",
                "project_id": "p-1",
                "question_count": 10,
                "pass_mark": 80,
                "retake_cooldown": "604800s",
                "paid": True,
                "time_limit": "7200s",
            }
        },
        # no time limit: the service's default; a cooldown of 0 is sent as one
        {
            "exam": {
                "qualification": "domain.dermatology",
                "project_id": "p-1",
                "question_count": 5,
                "retake_cooldown": "0s",
            }
        },
    ]
    assert isinstance(timed, Exam)
    assert (timed.retake_cooldown, timed.time_limit) == (timedelta(days=7), timedelta(hours=2))
    assert (timed.client_id, timed.paid, timed.updated_at) == (
        "acme",
        True,
        datetime(2026, 3, 1, 14, 5, 9, tzinfo=UTC),
    )
    assert str(timed) == (
        "exam for domain.dermatology in p-1: 10 questions, pass mark 80, retake after 7d,"
        " 2h to answer, paid"
    )
    assert (untimed.question_count, untimed.pass_mark, untimed.paid) == (5, 0, False)
    assert untimed.retake_cooldown == timedelta(0)
    assert {r.authorization for r in servers.received} == {f"Bearer {KEY}"}


def test_an_exam_refused_names_its_field_blocking(servers: StandIns) -> None:
    refusals = [
        Refusal("NOT_FOUND", "exam.qualification: no such type", "NOT_FOUND"),
        Refusal(
            "INVALID_ARGUMENT",
            "exam.pass_mark: must be 0-100",
            "INVALID_FIELD",
            {"field": "exam.pass_mark"},
        ),
    ]
    servers.play({"SetExam": refusals})
    with sync.Operator(credential=OPERATOR, endpoints=quality(servers), env={}) as operator:
        with pytest.raises(NotFound):
            operator.set_exam("other.type", "p-1", 10, 80, timedelta(days=1), True)
        with pytest.raises(InvalidArgument) as err:
            operator.set_exam("domain.dermatology", "p-1", 10, 101, timedelta(days=1), True)
    assert err.value.field == "exam.pass_mark"
    assert {r.authorization for r in servers.received} == {f"Bearer {OPERATOR}"}


async def test_anyone_reads_an_exam_and_every_exam(servers: StandIns) -> None:
    other = {**EXAM, "qualification": "domain.radiology", "paid": False}
    del other["time_limit"]
    servers.play(
        {
            "GetExam": [{"exam": EXAM}, Refusal("NOT_FOUND", "no exam grants x", "NOT_FOUND")],
            "ListExams": [{"exams": [EXAM], "next_page_token": "e2"}, {"exams": [other]}],
        }
    )
    async with Contractor(credential=TOKEN, endpoints=quality(servers), env={}) as me:
        found = await me.exam("domain.dermatology")
        with pytest.raises(NotFound):
            await me.exam("x")
        every = [exam async for exam in me.exams(page_size=1)]

    assert found.question_count == 10 and found.pass_mark == 80
    assert [e.qualification for e in every] == ["domain.dermatology", "domain.radiology"]
    assert every[1].time_limit is None  # left to the service: 1 day
    assert str(every[1]).endswith("retake after 7d, unpaid")
    assert requests(servers, "GetExam") == [
        {"qualification": "domain.dermatology"},
        {"qualification": "x"},
    ]
    assert requests(servers, "ListExams") == [
        {"page_size": 1},
        {"page_size": 1, "page_token": "e2"},
    ]


async def test_a_contractor_starts_an_exam_and_reads_the_attempt(servers: StandIns) -> None:
    servers.play({"StartExam": [{"attempt": IN_PROGRESS}, {"attempt": IN_PROGRESS}]})
    async with Contractor(credential=TOKEN, endpoints=quality(servers), env={}) as me:
        started = await me.start_exam("domain.dermatology")
        again = await me.start_exam("domain.dermatology")  # in progress: the same attempt

    assert isinstance(started, ExamAttempt) and again == started
    assert started.state is ExamAttemptState.IN_PROGRESS
    assert started.task_ids == ("t-1", "t-2", "t-3") and started.answered == 1
    assert started.score is None and started.finished_at is None  # not scored yet
    assert started.ends_by == datetime(2026, 3, 1, 16, 5, 9, tzinfo=UTC)
    assert str(started) == (
        "exam attempt a-1 at domain.dermatology by dr-lee: IN_PROGRESS, 1 of 3 answered,"
        " ends by 2026-03-01 16:05 UTC"
    )
    assert requests(servers, "StartExam") == [{"qualification": "domain.dermatology"}] * 2
    assert {r.authorization for r in servers.received} == {f"Bearer {TOKEN}"}


def test_a_retake_too_soon_says_when_it_may_start_blocking(servers: StandIns) -> None:
    cooldown = Refusal(
        "FAILED_PRECONDITION",
        "domain.dermatology: retake after 2026-03-08T15:00:00Z",
        "EXAM_COOLDOWN",
        {"field": "qualification", "retake_after": "2026-03-08T15:00:00Z"},
    )
    unavailable = Refusal(
        "FAILED_PRECONDITION",
        "domain.dermatology: too few gold tasks",
        "EXAM_UNAVAILABLE",
        {"field": "qualification"},
    )
    servers.play({"StartExam": [cooldown, unavailable]})
    with sync.Contractor(credential=TOKEN, endpoints=quality(servers), env={}) as me:
        with pytest.raises(FailedPrecondition) as soon:
            me.start_exam("domain.dermatology")
        with pytest.raises(FailedPrecondition) as short:
            me.start_exam("domain.dermatology")
    assert soon.value.reason == "EXAM_COOLDOWN"
    assert soon.value.retake_after == datetime(2026, 3, 8, 15, tzinfo=UTC)
    assert soon.value.metadata["retake_after"] == "2026-03-08T15:00:00Z"
    assert (short.value.reason, short.value.field) == ("EXAM_UNAVAILABLE", "qualification")
    assert short.value.retake_after is None  # no time to name


def test_a_contractors_attempts_come_a_page_and_every_page_blocking(servers: StandIns) -> None:
    pages = {
        "ListMyExamAttempts": [
            {"attempts": [IN_PROGRESS], "next_page_token": "a2"},
            {"attempts": [PASSED, FAILED_AT_ZERO]},
        ]
    }
    servers.play(pages)
    with sync.Contractor(credential=TOKEN, endpoints=quality(servers), env={}) as me:
        page = me.my_exam_attempts_page(page_size=1)
        servers.play(pages)
        every = list(me.my_exam_attempts(page_size=1))
    assert [a.attempt_id for a in page.items] == ["a-1"] and page.next_page_token == "a2"
    passed, zero = every[1], every[2]
    assert (passed.state, passed.score) == (ExamAttemptState.PASSED, 100)
    assert passed.retake_after == datetime(2026, 3, 8, 15, tzinfo=UTC)
    assert (zero.state, zero.score) == (ExamAttemptState.FAILED, 0)  # scored, not unset
    assert str(passed) == (
        "exam attempt a-0 at domain.dermatology by dr-lee: PASSED, score 100 (pass mark 80),"
        " retake after 2026-03-08 15:00 UTC"
    )
    assert requests(servers, "ListMyExamAttempts") == [
        {"page_size": 1},
        {"page_size": 1, "page_token": "a2"},
    ]


async def test_a_client_and_an_operator_read_the_attempts_at_an_exam(servers: StandIns) -> None:
    servers.play(
        {
            "ListExamAttempts": [
                {"attempts": [PASSED], "next_page_token": "a2"},
                {"attempts": []},
                {"attempts": [IN_PROGRESS]},
            ]
        }
    )
    async with Client(credential=KEY, endpoints=quality(servers), env={}) as client:
        everyone = [a async for a in client.exam_attempts("domain.dermatology")]
    async with Operator(credential=OPERATOR, endpoints=quality(servers), env={}) as operator:
        page = await operator.list_exam_attempts_page(
            "domain.dermatology", contractor_id="dr-lee", page_size=5
        )
    assert [a.attempt_id for a in everyone] == ["a-0"]
    assert [a.attempt_id for a in page.items] == ["a-1"]
    assert [(r.authorization, r.request) for r in servers.received] == [
        (f"Bearer {KEY}", {"qualification": "domain.dermatology"}),
        (f"Bearer {KEY}", {"qualification": "domain.dermatology", "page_token": "a2"}),
        (
            f"Bearer {OPERATOR}",
            {"qualification": "domain.dermatology", "contractor_id": "dr-lee", "page_size": 5},
        ),
    ]


def test_an_operator_defines_a_qualification_type_for_a_client(servers: StandIns) -> None:
    defined = Echo(lambda request: {"qualification_type": {**request, "created_at": AT}})
    servers.play({"DefineQualificationType": [defined, defined]})
    endpoints = Endpoints(matcher=servers.address("matcher"))
    with sync.Operator(credential=OPERATOR, endpoints=endpoints, env={}) as operator:
        theirs = operator.define_qualification_type(
            "acme.triage", kind=project_pb2.QUALIFICATION_KIND_SCORE, client_id="acme"
        )
        platform = operator.define_qualification_type(
            "domain.dermatology", kind=project_pb2.QUALIFICATION_KIND_SCORE
        )
    assert (theirs.client_id, platform.client_id) == ("acme", "")
    assert requests(servers, "DefineQualificationType") == [
        {"name": "acme.triage", "kind": "QUALIFICATION_KIND_SCORE", "client_id": "acme"},
        {"name": "domain.dermatology", "kind": "QUALIFICATION_KIND_SCORE"},
    ]


@pytest.mark.parametrize(
    ("mixin", "blocking"),
    [
        (MyExams, sync.Contractor),
        (ExamReads, sync.Contractor),
        (Exams, sync.Client),
        (ExamReads, sync.Client),
        (Exams, sync.Operator),
        (ExamReads, sync.Operator),
    ],
)
def test_every_exam_call_is_blocking_too(mixin: type, blocking: type) -> None:
    calls = {name for name in vars(mixin) if not name.startswith("_")}
    assert calls and calls <= set(vars(blocking))


def test_each_audience_has_its_own_exam_calls() -> None:
    assert issubclass(Client, Exams) and issubclass(Operator, Exams)
    assert issubclass(Contractor, MyExams) and not issubclass(Contractor, Exams)
    assert not issubclass(Client, MyExams) and not issubclass(Operator, MyExams)
    assert not hasattr(sync.Contractor, "set_exam") and not hasattr(sync.Client, "start_exam")


def test_work_an_exam_accepts_reads_as_accepted_by_exam() -> None:
    message = task_api.Submission(submission_id="c-9", accepted_by=events_pb2.ACCEPTED_BY_EXAM)
    assert Submission.from_pb(message).accepted_by is AcceptedBy.EXAM
    assert AcceptedBy.EXAM.pb_name() == "ACCEPTED_BY_EXAM"
