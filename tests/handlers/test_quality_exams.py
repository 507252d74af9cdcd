"""Exams through the quality service's handlers on a real database and a fake clock:
who may attach an exam to which qualification type (a client only to a SCORE type
naming it; others one NOT_FOUND; operators any), StartExam issuing its questions as
GoldIssued without keys and returning the attempt in progress again, answers scored
and the attempt graded at the last one, the exam_end clock grading the unanswered as
wrong, the retake cooldown and too little gold refused with their reasons. Exam answers
never count in gold accuracy, sanctions, ListGoldTasks's counts or the acceptance rate,
a project with an exam is issued no hidden gold, and logs carry neither answers nor
keys."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Any

import pytest
from gold_support import (
    ACME,
    GLOBEX,
    add,
    deliver,
    granted,
    issued,
    item,
    new_id,
    outbox,
    project_changed,
    submitted,
)
from google.protobuf.duration_pb2 import Duration
from sanction_support import ANN, BOB, OPERATOR, RIGHT, WRONG, fire_clocks, rule_input, set_rules
from structlog.testing import capture_logs

from crewline.errors import FailedPrecondition, InvalidArgument, NotFound, PermanentEventError
from crewline.protobuf import from_timestamp
from crewline.timekeeping import FakeClock
from crewline.v1 import contractor_admin_service_pb2 as admin
from crewline.v1 import events_pb2, project_pb2
from crewline.v1 import quality_service_pb2 as api
from quality.deps import Deps
from quality.domain import gold
from quality.entrypoints import exams_api
from quality.handlers.gold import list_gold_tasks

SCORE = project_pb2.QUALIFICATION_KIND_SCORE
PRESENCE = project_pb2.QUALIFICATION_KIND_PRESENCE
DERM = "skill.derm"


def defined(name: str, kind: int = SCORE, client: str = "") -> events_pb2.QualificationTypeDefined:
    return events_pb2.QualificationTypeDefined(
        qualification_type=admin.QualificationType(name=name, kind=kind, client_id=client)  # type: ignore[arg-type]
    )


def exam_request(
    qualification: str = DERM,
    project: str = "p1",
    *,
    count: int = 3,
    pass_mark: int = 60,
    cooldown: timedelta | None = timedelta(days=1),
    paid: bool = False,
    limit: timedelta | None = timedelta(hours=2),
) -> api.SetExamRequest:
    exam = api.Exam(
        qualification=qualification,
        project_id=project,
        question_count=count,
        pass_mark=pass_mark,
        paid=paid,
    )
    if cooldown is not None:
        exam.retake_cooldown.CopyFrom(Duration(seconds=int(cooldown.total_seconds())))
    if limit is not None:
        exam.time_limit.CopyFrom(Duration(seconds=int(limit.total_seconds())))
    return api.SetExamRequest(exam=exam)


async def world(deps: Deps, *, golds: int = 6) -> Deps:
    """Types (acme's SCORE, globex's SCORE, an open SCORE, acme's PRESENCE), acme's p1
    with ``golds`` gold tasks keyed severity=refer and globex's p2 with none."""
    await deliver(
        deps,
        defined(DERM, client="acme"),
        defined("skill.other", client="globex"),
        defined("skill.open"),
        defined("cred.bar", PRESENCE, client="acme"),
        project_changed(),
        project_changed("p2", client="globex"),
    )
    await add(deps, *(item(n) for n in range(golds)))
    return deps


async def set_exam(deps: Deps, caller: Any = ACME, **kw: Any) -> api.Exam:
    return (await exams_api.set_exam(exam_request(**kw), caller, deps)).exam


async def start(deps: Deps, who: Any = ANN, qualification: str = DERM) -> api.ExamAttempt:
    request = api.StartExamRequest(qualification=qualification)
    return (await exams_api.start_exam(request, who, deps)).attempt


async def changes(deps: Deps) -> list[tuple[bytes, api.ExamAttempt]]:
    return [(k, e.attempt) for k, e, _ in await outbox(deps, events_pb2.ExamAttemptChanged)]  # type: ignore[attr-defined]


async def answer(deps: Deps, clock: FakeClock, task: str, result: bytes, who: str = "ann") -> None:
    claim = new_id()
    await deliver(
        deps,
        granted(claim, task, contractor=who),
        submitted(claim, task, result, clock.now(), contractor=who),
    )


async def test_set_exam_checks_fields_and_names_them(quality_deps: Deps) -> None:
    deps = await world(quality_deps, golds=3)
    cases = [
        ({"count": 0}, "exam.question_count"),
        ({"count": 101}, "exam.question_count"),
        ({"pass_mark": 101}, "exam.pass_mark"),
        ({"cooldown": timedelta(days=366)}, "exam.retake_cooldown"),
        ({"limit": timedelta(seconds=59)}, "exam.time_limit"),
        ({"limit": timedelta(days=8)}, "exam.time_limit"),
        ({"qualification": "Not A Name"}, "exam.qualification"),
        ({"project": ""}, "exam.project_id"),
    ]
    for kw, field in cases:
        with pytest.raises(InvalidArgument) as e:
            await set_exam(deps, **kw)
        assert e.value.field == field, kw
    with pytest.raises(FailedPrecondition) as fp:
        await set_exam(deps, count=4)  # 3 gold tasks
    assert fp.value.metadata["field"] == "exam.question_count"
    exam = await set_exam(deps, cooldown=None, limit=None, count=3)
    assert exam.time_limit.ToTimedelta() == timedelta(days=1)
    assert exam.retake_cooldown.ToTimedelta() == timedelta(0)
    assert (exam.client_id, exam.question_count, exam.pass_mark) == ("acme", 3, 60)
    again = await set_exam(deps, cooldown=None, limit=None, count=3)
    assert again.updated_at == exam.updated_at  # the same exam changes nothing
    got = await exams_api.get_exam(api.GetExamRequest(qualification=DERM), ANN, deps)
    assert got.exam == exam


async def test_a_client_attaches_only_to_a_score_type_naming_it(quality_deps: Deps) -> None:
    deps = await world(quality_deps)
    refusals = []
    for name in ("skill.other", "skill.open", "skill.unknown"):
        with pytest.raises(NotFound) as e:
            await set_exam(deps, qualification=name)
        refusals.append((e.value.message.replace(name, "X"), e.value.metadata, e.value.reason))
    assert refusals[0] == refusals[1] == refusals[2]
    assert refusals[0][1] == {"field": "exam.qualification"}
    with pytest.raises(FailedPrecondition) as fp:
        await set_exam(deps, qualification="cred.bar")
    assert fp.value.metadata == {"field": "exam.qualification"}
    with pytest.raises(NotFound) as nf:  # globex's project
        await set_exam(deps, project="p2")
    assert nf.value.metadata == {"field": "exam.project_id"}
    assert (await set_exam(deps)).qualification == DERM

    # Operators: any SCORE type; the project must be the type's client's, if it names one.
    with pytest.raises(FailedPrecondition):
        await set_exam(deps, OPERATOR, qualification="cred.bar")
    with pytest.raises(NotFound) as nf:
        await set_exam(deps, OPERATOR, qualification="skill.other", project="p1")
    assert nf.value.metadata == {"field": "exam.project_id"}
    assert (await set_exam(deps, OPERATOR, qualification="skill.open")).client_id == "acme"
    with pytest.raises(NotFound):  # a contractor
        await set_exam(deps, ANN)


async def test_start_exam_issues_its_questions_without_keys_and_is_idempotent(
    quality_deps: Deps, clock: FakeClock
) -> None:
    deps = await world(quality_deps)
    await set_exam(deps, count=3, paid=False)
    attempt = await start(deps)
    assert attempt.state == api.EXAM_ATTEMPT_STATE_IN_PROGRESS
    assert (attempt.contractor_id, attempt.qualification, attempt.project_id) == (
        "ann",
        DERM,
        "p1",
    )
    assert len(set(attempt.task_ids)) == 3 and attempt.answered == 0
    assert from_timestamp(attempt.ends_by) == clock.now() + timedelta(hours=2)
    questions = await issued(deps)
    assert [q.task_id for q in questions] == list(attempt.task_ids)
    payloads = set()
    for q in questions:
        assert q.exam_attempt_id == attempt.attempt_id and q.unpaid
        assert q.ends_by == attempt.ends_by and q.contractor_id == "ann"
        assert q.payload_json.startswith('{"case": ')
        payloads.add(q.payload_json)
    assert len(payloads) == 3  # three distinct gold tasks
    [(key, changed)] = await changes(deps)
    assert key == b"ann" and changed == attempt
    for _, _, envelope in await outbox(deps, events_pb2.GoldIssued):
        assert b"refer" not in envelope and b"severity" not in envelope

    assert await start(deps) == attempt  # in progress: the same attempt
    assert len(await issued(deps)) == 3 and len(await changes(deps)) == 1
    bob = await start(deps, BOB)
    assert bob.attempt_id != attempt.attempt_id

    paid = await set_exam(deps, OPERATOR, qualification="skill.open", paid=True)
    assert paid.paid
    opened = await start(deps, ANN, "skill.open")
    mine = [q for q in await issued(deps) if q.exam_attempt_id == opened.attempt_id]
    assert len(mine) == 3 and not any(q.unpaid for q in mine)


async def test_answers_are_scored_apart_from_gold_and_the_last_one_grades(
    quality_deps: Deps, clock: FakeClock
) -> None:
    deps = await world(quality_deps)
    await set_rules(deps, rule_input(min_sample=1))  # any wrong gold answer would suspend
    await set_exam(deps, count=5, pass_mark=60)
    attempt = await start(deps)
    results = [RIGHT, WRONG, RIGHT, b"not json", RIGHT]
    for n, (task, result) in enumerate(zip(attempt.task_ids, results, strict=True)):
        assert len(await changes(deps)) == 1, n  # not graded before the last answer
        await answer(deps, clock, task, result)
    mine_page = await exams_api.list_my_attempts(api.ListMyExamAttemptsRequest(), ANN, deps)
    [mine] = mine_page.attempts
    assert (mine.state, mine.score, mine.answered) == (api.EXAM_ATTEMPT_STATE_PASSED, 60, 5)
    assert from_timestamp(mine.retake_after) == from_timestamp(mine.finished_at) + timedelta(days=1)
    [_, (key, graded)] = await changes(deps)
    assert key == b"ann" and graded == mine

    # None of it is gold: no gold answer, score, sanction, count or time-flag submission.
    assert await deps.pool.fetchval("SELECT count(*) FROM gold_answers") == 0
    assert await deps.pool.fetchval("SELECT count(*) FROM submissions") == 0
    assert await outbox(deps, events_pb2.ScoreChanged) == []
    assert await outbox(deps, events_pb2.SanctionChanged) == []
    found, _ = await list_gold_tasks(gold.list_gold(ACME, project_id="p1"), deps)
    assert [(g.answered, g.correct) for g in found] == [(0, 0)] * 6

    # An exam's acceptance says nothing of the work: no acceptance rate.
    accepted = events_pb2.SubmissionAccepted(
        submission_id=new_id(),
        task_id=attempt.task_ids[0],
        contractor_id="ann",
        client_id="acme",
        project_id="p1",
        accepted_by=events_pb2.ACCEPTED_BY_EXAM,
    )
    await deliver(deps, accepted)
    assert await outbox(deps, events_pb2.ScoreChanged) == []

    # Another who fails: 2 of 3 right is 67, below 70.
    await set_exam(deps, count=3, pass_mark=70)
    bob = await start(deps, BOB)
    for task, result in zip(bob.task_ids, [RIGHT, WRONG, RIGHT], strict=True):
        await answer(deps, clock, task, result, who="bob")
    failed = (await changes(deps))[-1][1]
    assert (failed.contractor_id, failed.state, failed.score) == (
        "bob",
        api.EXAM_ATTEMPT_STATE_FAILED,
        67,
    )
    labels = {"outcome": "failed"}
    assert (
        deps.metrics.registry.get_sample_value("crewline_quality_exam_attempts_ended_total", labels)
        == 1
    )


async def test_the_clock_grades_the_unanswered_as_wrong_and_late_answers_count_nothing(
    quality_deps: Deps, clock: FakeClock
) -> None:
    deps = await world(quality_deps)
    await set_exam(deps, count=3, pass_mark=30)
    attempt = await start(deps)
    await answer(deps, clock, attempt.task_ids[0], RIGHT)
    clock.advance(timedelta(hours=1))
    assert await fire_clocks(deps, clock) == 0
    clock.advance(timedelta(hours=1, seconds=1))
    assert await fire_clocks(deps, clock) == 1
    graded = (await changes(deps))[-1][1]
    assert (graded.state, graded.score, graded.answered) == (
        api.EXAM_ATTEMPT_STATE_PASSED,
        33,
        1,
    )
    assert graded.finished_at == attempt.ends_by
    await answer(deps, clock, attempt.task_ids[1], RIGHT)
    assert len(await changes(deps)) == 2  # nothing more


async def test_a_retake_waits_for_the_cooldown(quality_deps: Deps, clock: FakeClock) -> None:
    deps = await world(quality_deps)
    await set_exam(deps, count=2, pass_mark=100, cooldown=timedelta(days=3))
    first = await start(deps)
    for task in first.task_ids:
        await answer(deps, clock, task, WRONG)
    clock.advance(timedelta(days=2))
    with pytest.raises(FailedPrecondition) as e:
        await start(deps)
    after = (await changes(deps))[-1][1].retake_after
    when = from_timestamp(after).isoformat().replace("+00:00", "Z")
    assert e.value.reason == "EXAM_COOLDOWN"
    assert f"retake after {when}" in e.value.message
    assert e.value.metadata == {"field": "qualification", "retake_after": when}
    clock.advance(timedelta(days=1))
    second = await start(deps)
    assert second.attempt_id != first.attempt_id
    assert second.state == api.EXAM_ATTEMPT_STATE_IN_PROGRESS
    assert len(await issued(deps)) == 4


async def test_too_little_gold_a_paused_project_and_unknown_exams_are_refused(
    quality_deps: Deps, clock: FakeClock
) -> None:
    deps = await world(quality_deps, golds=3)
    with pytest.raises(NotFound) as nf:
        await start(deps)
    assert nf.value.metadata == {"field": "qualification"}
    await set_exam(deps, count=3)
    await deps.pool.execute(
        "UPDATE gold_tasks SET retired_at = now() WHERE idempotency_key = 'g0'"
    )  # its key was shown as evidence
    with pytest.raises(FailedPrecondition) as e:
        await start(deps)
    assert e.value.reason == "EXAM_UNAVAILABLE" and e.value.metadata == {"field": "qualification"}
    await deps.pool.execute("UPDATE gold_tasks SET retired_at = NULL")
    await deliver(deps, project_changed(revision=2, state="paused"))
    with pytest.raises(FailedPrecondition) as e:
        await start(deps)
    assert e.value.reason == "EXAM_UNAVAILABLE" and "takes no work" in e.value.message
    await deliver(deps, project_changed(revision=3))
    assert (await start(deps)).state == api.EXAM_ATTEMPT_STATE_IN_PROGRESS
    assert len(await issued(deps)) == 3 and len(await changes(deps)) == 1


async def test_a_project_with_an_exam_is_issued_no_hidden_gold(
    quality_deps: Deps, clock: FakeClock
) -> None:
    from gold_support import Draws

    deps = dataclasses.replace(await world(quality_deps), random=Draws())
    await set_rules(deps)  # gold share 50 %: every draw issues
    await deliver(deps, granted(new_id(), new_id()))
    assert len(await issued(deps)) == 1  # hidden gold, before the exam
    await set_exam(deps, count=3)
    await deliver(deps, granted(new_id(), new_id(), contractor="bob"))
    assert len(await issued(deps)) == 1
    attempt = await start(deps, BOB)
    await deliver(deps, granted(new_id(), attempt.task_ids[0], contractor="bob"))
    assert len(await issued(deps)) == 4  # the three questions only


async def test_lists_and_who_sees_the_attempts(quality_deps: Deps, clock: FakeClock) -> None:
    deps = await world(quality_deps)
    await set_exam(deps, count=1)
    await set_exam(deps, OPERATOR, qualification="skill.open", count=1)
    a = await start(deps)
    b = await start(deps, BOB)
    request = api.ListExamAttemptsRequest(qualification=DERM, page_size=1)
    page = await exams_api.list_attempts(request, ACME, deps)
    assert [x.attempt_id for x in page.attempts] == [b.attempt_id]  # newest first
    request.page_token = page.next_page_token
    page = await exams_api.list_attempts(request, ACME, deps)
    assert [x.attempt_id for x in page.attempts] == [a.attempt_id] and not page.next_page_token
    only = api.ListExamAttemptsRequest(qualification=DERM, contractor_id="ann")
    assert len((await exams_api.list_attempts(only, OPERATOR, deps)).attempts) == 1
    with pytest.raises(NotFound) as nf:
        await exams_api.list_attempts(api.ListExamAttemptsRequest(qualification=DERM), GLOBEX, deps)
    assert nf.value.metadata == {"field": "qualification"}
    listed = await exams_api.list_exams(api.ListExamsRequest(page_size=1), ANN, deps)
    assert [e.qualification for e in listed.exams] == [DERM]
    nxt = api.ListExamsRequest(page_size=1, page_token=listed.next_page_token)
    listed = await exams_api.list_exams(nxt, ANN, deps)
    assert [e.qualification for e in listed.exams] == ["skill.open"] and not listed.next_page_token


async def test_a_type_without_a_kind_is_a_permanent_error(quality_deps: Deps) -> None:
    with pytest.raises(PermanentEventError):
        await deliver(quality_deps, defined("skill.x", kind=0))


async def test_logs_carry_ids_and_never_answers_keys_or_payloads(
    quality_deps: Deps, clock: FakeClock
) -> None:
    deps = await world(quality_deps)
    with capture_logs() as logs:
        await set_exam(deps, count=2)
        attempt = await start(deps)
        for task in attempt.task_ids:
            await answer(deps, clock, task, b'{"severity": "watch", "notes": "Zanzibar-7"}')
    events = [e["event"] for e in logs]
    assert events[0] == "exam_set" and "exam_started" in events and events[-1] == "exam_graded"
    text = repr(logs)
    for secret in ("Zanzibar", "watch", "refer", "severity", "case"):
        assert secret not in text, secret
