"""Exams' pure rules in the quality service: SetExam's checks (each naming its field
under ``exam.``), who may attach an exam to which type, the score's rounding (half up,
in integers), grading and the retake time, the cooldown and too-little-gold refusals
with their reasons and metadata, the random draw, and the protobuf mapping (an attempt
shows counts and the score; a question's GoldIssued carries the payload and the exam's
terms)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from crewline.auth.principal import OPERATOR, Kind, Principal
from crewline.errors import FailedPrecondition, InvalidArgument, NotFound
from crewline.qualifications import Kind as QKind
from crewline.v1 import quality_service_pb2 as api
from quality.adapters import exams_pb
from quality.domain import exam_queries, exams
from quality.domain.exams import AttemptState, QualificationType

ACME = Principal(Kind.CLIENT, "acme")
ANN = Principal(Kind.CONTRACTOR, "ann")
T0 = datetime(2026, 3, 1, 9, tzinfo=UTC)


def cmd(caller: Principal = ACME, **kw: object) -> exams.SetExam:
    args: dict[str, object] = {
        "qualification": "skill.derm",
        "project_id": "p1",
        "question_count": 10,
        "pass_mark": 70,
        "retake_cooldown": timedelta(days=1),
        "paid": False,
        "time_limit": None,
    }
    args.update(kw)
    return exams.set_exam(caller, **args)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"qualification": ""}, "exam.qualification"),
        ({"qualification": "Skill"}, "exam.qualification"),
        ({"project_id": ""}, "exam.project_id"),
        ({"question_count": 0}, "exam.question_count"),
        ({"question_count": 101}, "exam.question_count"),
        ({"pass_mark": -1}, "exam.pass_mark"),
        ({"pass_mark": 101}, "exam.pass_mark"),
        ({"retake_cooldown": timedelta(seconds=-1)}, "exam.retake_cooldown"),
        ({"retake_cooldown": timedelta(days=365, seconds=1)}, "exam.retake_cooldown"),
        ({"time_limit": timedelta(seconds=59)}, "exam.time_limit"),
        ({"time_limit": timedelta(days=7, seconds=1)}, "exam.time_limit"),
    ],
)
def test_set_exam_refusals_name_their_field(kw: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidArgument) as e:
        cmd(**kw)
    assert e.value.field == field


def test_set_exam_defaults_and_bounds() -> None:
    c = cmd(retake_cooldown=None)
    assert (c.time_limit, c.retake_cooldown, c.client_id) == (
        timedelta(days=1),
        timedelta(0),
        "acme",
    )
    edge = cmd(
        question_count=100,
        pass_mark=0,
        retake_cooldown=timedelta(days=365),
        time_limit=timedelta(days=7),
    )
    assert edge.question_count == 100 and cmd(OPERATOR).client_id is None
    assert cmd(time_limit=timedelta(minutes=1)).time_limit == timedelta(minutes=1)
    with pytest.raises(NotFound):
        cmd(ANN)


def test_who_may_attach_to_which_type() -> None:
    mine = QualificationType(name="skill.derm", kind=QKind.SCORE, client_id="acme")
    theirs = QualificationType(name="skill.derm", kind=QKind.SCORE, client_id="globex")
    open_ = QualificationType(name="skill.derm", kind=QKind.SCORE, client_id="")
    presence = QualificationType(name="skill.derm", kind=QKind.PRESENCE, client_id="acme")
    assert exams.may_attach(cmd(), mine) is mine
    refusals = []
    for qtype in (None, theirs, open_):
        with pytest.raises(NotFound) as e:
            exams.may_attach(cmd(), qtype)
        refusals.append((e.value.message, e.value.metadata))
    assert refusals[0] == refusals[1] == refusals[2]
    with pytest.raises(FailedPrecondition) as fp:
        exams.may_attach(cmd(), presence)
    assert fp.value.metadata == {"field": "exam.qualification"}
    op = cmd(OPERATOR)
    assert exams.may_attach(op, theirs) is theirs and exams.may_attach(op, open_) is open_
    assert exams.project_owner(op, theirs) == "globex" and exams.project_owner(op, open_) is None
    assert exams.project_owner(cmd(), mine) == "acme"


@pytest.mark.parametrize(
    ("correct", "questions", "value"),
    [(0, 3, 0), (1, 3, 33), (2, 3, 67), (3, 3, 100), (1, 8, 13), (1, 100, 1), (5, 8, 63)],
)
def test_the_score_rounds_half_up(correct: int, questions: int, value: int) -> None:
    assert exams.score(correct, questions) == value


def test_score_refuses_nonsense() -> None:
    with pytest.raises(ValueError):
        exams.score(4, 3)
    with pytest.raises(ValueError):
        exams.score(0, 0)


def exam(count: int = 3, pass_mark: int = 67) -> exams.Exam:
    return cmd(question_count=count, pass_mark=pass_mark).exam(client_id="acme", now=T0)


def test_start_draws_distinct_questions_and_grades_by_the_pass_mark() -> None:
    attempt, chosen = exams.start(
        exam(), "ann", last=None, available=5, rng=random.Random(1), now=T0
    )
    assert len(set(chosen)) == 3 and all(0 <= i < 5 for i in chosen)
    assert attempt.state is AttemptState.IN_PROGRESS and attempt.question_count == 3
    assert attempt.ends_by == T0 + timedelta(days=1)
    end = T0 + timedelta(hours=1)
    passed = attempt.graded(2, at=end)
    assert (passed.state, passed.score, passed.finished_at) == (AttemptState.PASSED, 67, end)
    assert passed.retake_after == end + timedelta(days=1)
    assert attempt.graded(1, at=end).state is AttemptState.FAILED


def test_a_retake_before_the_cooldown_and_too_little_gold_are_refused() -> None:
    attempt, _ = exams.start(exam(), "ann", last=None, available=3, rng=random.Random(), now=T0)
    done = attempt.graded(0, at=T0)
    with pytest.raises(FailedPrecondition) as e:
        exams.start(exam(), "ann", last=done, available=3, rng=random.Random(), now=T0)
    assert e.value.reason == exams.COOLDOWN
    assert e.value.metadata == {"field": "qualification", "retake_after": "2026-03-02T09:00:00Z"}
    assert "retake after 2026-03-02T09:00:00Z" in e.value.message
    later = T0 + timedelta(days=1)
    again, _ = exams.start(exam(), "ann", last=done, available=3, rng=random.Random(), now=later)
    assert again.attempt_id != attempt.attempt_id
    with pytest.raises(FailedPrecondition) as few:
        exams.start(exam(), "ann", last=None, available=2, rng=random.Random(), now=T0)
    assert few.value.reason == exams.UNAVAILABLE and few.value.metadata == {
        "field": "qualification"
    }


def test_the_draw_covers_every_choice() -> None:
    rng = random.Random(7)
    seen = {tuple(sorted(exams.draw(4, 2, rng))) for _ in range(200)}
    assert len(seen) == 6  # every pair of 4
    assert sorted(exams.draw(4, 4, rng)) == [0, 1, 2, 3]


def test_the_attempt_and_its_questions_in_protobuf() -> None:
    attempt, _ = exams.start(exam(), "ann", last=None, available=3, rng=random.Random(), now=T0)
    pb = exams_pb.attempt_to_pb(attempt)
    assert pb.state == api.EXAM_ATTEMPT_STATE_IN_PROGRESS and not pb.HasField("finished_at")
    assert list(pb.task_ids) == list(attempt.task_ids) and pb.score == 0
    graded = exams_pb.attempt_to_pb(attempt.graded(3, at=T0))
    assert graded.state == api.EXAM_ATTEMPT_STATE_PASSED and graded.score == 100
    q = exams_pb.question_issued(
        attempt, attempt.task_ids[0], payload_json='{"a": 1}', payload_bytes=None
    )
    assert q.exam_attempt_id == str(attempt.attempt_id) and q.unpaid and q.ends_by == pb.ends_by
    raw = exams_pb.question_issued(attempt, "t", payload_json=None, payload_bytes=b"\x01")
    assert raw.payload_bytes == b"\x01"


def test_queries_and_tokens() -> None:
    with pytest.raises(NotFound):
        exam_queries.my_attempts(ACME)
    with pytest.raises(NotFound):
        exam_queries.attempts(ANN, qualification="skill.derm")
    with pytest.raises(InvalidArgument) as e:
        exam_queries.attempts(ACME, qualification="")
    assert e.value.field == "qualification"
    with pytest.raises(InvalidArgument) as e:
        exam_queries.exams(page_token="nonsense")
    assert e.value.field == "page_token"
    q = exam_queries.attempts(ACME, qualification="skill.derm", contractor_id="ann")
    assert (q.client_id, q.contractor_id, q.limit) == ("acme", "ann", 20)
    assert exam_queries.attempts(OPERATOR, qualification="skill.derm").client_id is None
    assert exams.start_exam(ANN, qualification="skill.derm").contractor_id == "ann"
    with pytest.raises(NotFound):
        exams.start_exam(ACME, qualification="skill.derm")
