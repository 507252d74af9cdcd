"""Gold and exam questions whose key holds text or rubric fields, through the quality
service's handlers on a real database and a fake clock: such a key is accepted (a text
field's model answer, a rubric's criterion scores) and its gold is issued with
needs_review; an answer's choice and number fields are scored at once, but it counts
nowhere (gold accuracy, ListGoldTasks, a rule's sample) until its submission is
reviewed: accepted and the automatic fields right is right, a rejection wrong, an
override right again (recounted). A review before the answer is heard of counts when it
comes. An exam with such a question is graded once every answer is judged, also after
its time limit, and its reviews count in no measure."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
from gold_support import (
    ACME,
    Draws,
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
from sanction_support import ANN, fire_clocks, mine, rule_input, set_rules

from crewline.answers import AnswerField, AnswerSpec, Choice, Criterion, Rubric, Scale, Text
from crewline.errors import InvalidArgument
from crewline.protobuf import timestamp
from crewline.timekeeping import FakeClock
from crewline.v1 import contractor_admin_service_pb2 as admin
from crewline.v1 import events_pb2, project_pb2
from crewline.v1 import quality_service_pb2 as api
from quality.deps import Deps
from quality.domain import gold, issuing
from quality.domain.gold_keys import FieldRule
from quality.entrypoints import exams_api
from quality.handlers.gold import list_gold_tasks, set_policy

SPEC = AnswerSpec(
    version=1,
    fields=(
        AnswerField(name="severity", kind=Choice(labels=("benign", "watch", "refer"))),
        AnswerField(name="notes", optional=True, kind=Text(max_length=200)),
        AnswerField(
            name="quality",
            optional=True,
            kind=Rubric(
                criteria=(
                    Criterion(name="focus", scale=Scale(min=1, max=5, step=1)),
                    Criterion(name="lighting", scale=Scale(min=1, max=5, step=1)),
                )
            ),
        ),
    ),
)
TEXT_KEY = '{"severity": "refer", "notes": "Irregular border, two colours."}'
RUBRIC_KEY = '{"quality": {"focus": 4, "lighting": 3}}'
RIGHT = b'{"severity": "refer", "notes": "Border irregular; two colours."}'
WRONG = b'{"severity": "benign", "notes": "Border irregular; two colours."}'


async def text_project(deps: Deps, *keys: str) -> Deps:
    """acme's p1 with the spec above, gold share 50 %, and one gold task per key, issued
    in that order (each draw issues the first gold not met)."""
    await deliver(deps, project_changed(spec=SPEC))
    await add(deps, *(item(n, key) for n, key in enumerate(keys)))
    await set_policy(
        issuing.set_policy(client_id="acme", project_id="p1", gold_share_percent=50), deps
    )
    return dataclasses.replace(deps, random=Draws())


async def answer_gold(deps: Deps, clock: FakeClock, result: bytes) -> tuple[str, str]:
    """An ordinary claim brings gold, which ann claims and answers: (claim, task)."""
    await deliver(deps, granted(new_id(), new_id()))
    task = (await issued(deps))[-1].task_id
    claim = new_id()
    await deliver(deps, granted(claim, task), submitted(claim, task, result, clock.now()))
    clock.advance(timedelta(minutes=1))
    return claim, task


def accepted(
    claim: str, task: str, clock: FakeClock, by: int = events_pb2.ACCEPTED_BY_CLIENT
) -> events_pb2.SubmissionAccepted:
    return events_pb2.SubmissionAccepted(
        submission_id=claim,
        task_id=task,
        contractor_id="ann",
        client_id="acme",
        project_id="p1",
        accepted_by=by,  # type: ignore[arg-type]
        accepted_at=timestamp(clock.now()),
    )


def rejected(claim: str, task: str, clock: FakeClock) -> events_pb2.SubmissionRejected:
    return events_pb2.SubmissionRejected(
        submission_id=claim,
        task_id=task,
        contractor_id="ann",
        client_id="acme",
        project_id="p1",
        feedback="the notes miss the point",
        rejected_at=timestamp(clock.now()),
    )


async def gold_scores(deps: Deps) -> list[tuple[int, int, int]]:
    """Each ScoreChanged of gold accuracy: (value, correct, answered)."""
    return [
        (e.value, e.accepted, e.reviewed)  # type: ignore[attr-defined]
        for _, e, _ in await outbox(deps, events_pb2.ScoreChanged)
        if e.measure == api.SCORE_MEASURE_GOLD_ACCURACY  # type: ignore[attr-defined]
    ]


async def counts(deps: Deps) -> list[tuple[int, int]]:
    page, _ = await list_gold_tasks(gold.list_gold(ACME, project_id="p1"), deps)
    return [(g.answered, g.correct) for g in page]


async def test_text_and_rubric_keys_are_kept_and_their_gold_issued_for_review(
    quality_deps: Deps, clock: FakeClock
) -> None:
    deps = await text_project(quality_deps, TEXT_KEY, '{"severity": "refer"}', RUBRIC_KEY)
    page, _ = await list_gold_tasks(gold.list_gold(ACME, project_id="p1"), deps)
    assert [g.answer_json for g in page] == [TEXT_KEY, '{"severity": "refer"}', RUBRIC_KEY]
    for _ in range(3):
        await answer_gold(deps, clock, RIGHT)
    assert [e.needs_review for e in await issued(deps)] == [True, False, True]
    for _, _, envelope in await outbox(deps, events_pb2.GoldIssued):
        assert b"Irregular" not in envelope and b"lighting" not in envelope

    refusals = [
        (item(9, '{"notes": "' + "x" * 201 + '"}'), "gold_tasks[0].answer_json.notes"),
        (item(9, '{"quality": {"focus": 4}}'), "gold_tasks[0].answer_json.quality.lighting"),
        (item(9, '{"quality": {"focus": 4.5, "lighting": 3}}'), "answer_json.quality.focus"),
        (
            item(9, TEXT_KEY, FieldRule(field="notes", tolerance=0.5)),
            "gold_tasks[0].rules[0].tolerance",
        ),
        (
            item(9, TEXT_KEY, FieldRule(field="notes", also_accepted=("refer",))),
            "gold_tasks[0].rules[0].also_accepted",
        ),
    ]
    for bad, field in refusals:
        with pytest.raises(InvalidArgument) as e:
            await add(deps, bad)
        assert e.value.field.endswith(field), (e.value.field, field)


async def test_an_answer_waits_for_its_review_which_judges_it(
    quality_deps: Deps, clock: FakeClock
) -> None:
    keys = (TEXT_KEY, '{"severity": "refer"}', TEXT_KEY, RUBRIC_KEY, TEXT_KEY)
    deps = await text_project(quality_deps, *keys)
    first = await answer_gold(deps, clock, RIGHT)
    assert await gold_scores(deps) == []  # pending: no score moves
    assert await counts(deps) == [(0, 0)] * 5
    await answer_gold(deps, clock, RIGHT)  # choice only: scored at once, the pending not
    assert await gold_scores(deps) == [(75, 1, 1)]
    await deliver(deps, accepted(*first, clock))  # the client accepts: right
    assert await gold_scores(deps) == [(75, 1, 1), (83, 2, 2)]
    assert await counts(deps) == [(1, 1), (1, 1), (0, 0), (0, 0), (0, 0)]

    third = await answer_gold(deps, clock, RIGHT)
    await deliver(deps, rejected(*third, clock))  # rejected: wrong, automatic fields right
    assert (await gold_scores(deps))[-1] == (63, 2, 3)
    await deliver(deps, accepted(*third, clock, events_pb2.ACCEPTED_BY_OVERRIDE))
    assert (await gold_scores(deps))[-1] == (88, 3, 3)  # the override: right, recounted
    await deliver(deps, rejected(*third, clock))  # a late copy of the rejection: nothing
    assert (await gold_scores(deps))[-1] == (88, 3, 3)

    # The rubric gold, its criteria scored otherwise than the key, accepted: the
    # reviewer judged them (the key has no automatic field to be wrong).
    fourth = await answer_gold(deps, clock, b'{"quality": {"focus": 1, "lighting": 1}}')
    await deliver(deps, accepted(*fourth, clock))
    assert (await gold_scores(deps))[-1] == (90, 4, 4)

    # Accepted, but its choice field wrong: wrong.
    fifth = await answer_gold(deps, clock, WRONG)
    await deliver(deps, accepted(*fifth, clock))
    assert (await gold_scores(deps))[-1] == (75, 4, 5)  # 4.5 / 6
    assert await counts(deps) == [(1, 1), (1, 1), (1, 1), (1, 1), (1, 0)]
    again = len(await gold_scores(deps))
    await deliver(deps, accepted(*fifth, clock))  # a redelivery changes nothing
    assert len(await gold_scores(deps)) == again


async def test_a_review_heard_before_the_answer_counts_when_the_answer_comes(
    quality_deps: Deps, clock: FakeClock
) -> None:
    deps = await text_project(quality_deps, TEXT_KEY)
    await deliver(deps, granted(new_id(), new_id()))
    task = (await issued(deps))[-1].task_id
    claim = new_id()
    await deliver(deps, granted(claim, task), rejected(claim, task, clock))
    assert await gold_scores(deps) == []
    await deliver(deps, submitted(claim, task, RIGHT, clock.now()))
    assert await gold_scores(deps) == [(25, 0, 1)]  # rejected: wrong


# Exams


DERM = "skill.derm"


async def exam_world(deps: Deps, *keys: str, count: int = 2) -> api.ExamAttempt:
    """acme's SCORE type with an exam of ``count`` questions (pass mark 60, an hour)
    over gold with ``keys``, and ann's attempt."""
    defined = admin.QualificationType(
        name=DERM,
        kind=project_pb2.QUALIFICATION_KIND_SCORE,
        client_id="acme",
    )
    await deliver(
        deps,
        events_pb2.QualificationTypeDefined(qualification_type=defined),
        project_changed(spec=SPEC),
    )
    await add(deps, *(item(n, key) for n, key in enumerate(keys)))
    exam = api.Exam(
        qualification=DERM,
        project_id="p1",
        question_count=count,
        pass_mark=60,
        paid=False,
        time_limit=Duration(seconds=3600),
    )
    await exams_api.set_exam(api.SetExamRequest(exam=exam), ACME, deps)
    request = api.StartExamRequest(qualification=DERM)
    return (await exams_api.start_exam(request, ANN, deps)).attempt


async def graded(deps: Deps) -> list[tuple[int, int]]:
    """Each ExamAttemptChanged that ended an attempt: (state, score)."""
    return [
        (e.attempt.state, e.attempt.score)  # type: ignore[attr-defined]
        for _, e, _ in await outbox(deps, events_pb2.ExamAttemptChanged)
        if e.attempt.state != api.EXAM_ATTEMPT_STATE_IN_PROGRESS  # type: ignore[attr-defined]
    ]


async def hand_in(deps: Deps, clock: FakeClock, task: str, result: bytes) -> str:
    claim = new_id()
    await deliver(deps, granted(claim, task), submitted(claim, task, result, clock.now()))
    return claim


async def test_an_exam_with_text_questions_is_graded_once_each_is_reviewed(
    quality_deps: Deps, clock: FakeClock
) -> None:
    deps = quality_deps
    attempt = await exam_world(deps, TEXT_KEY, TEXT_KEY)
    questions = await issued(deps)
    assert [q.needs_review for q in questions] == [True, True]
    claims = [await hand_in(deps, clock, t, RIGHT) for t in attempt.task_ids]
    assert await graded(deps) == []  # every answer in, none judged yet
    await deliver(deps, accepted(claims[0], attempt.task_ids[0], clock))
    assert await graded(deps) == []
    clock.advance(timedelta(minutes=5))
    await deliver(deps, rejected(claims[1], attempt.task_ids[1], clock))
    assert await graded(deps) == [(api.EXAM_ATTEMPT_STATE_FAILED, 50)]
    # Too late to count: the attempt is graded once.
    await deliver(
        deps,
        accepted(claims[1], attempt.task_ids[1], clock, events_pb2.ACCEPTED_BY_OVERRIDE),
    )
    assert await graded(deps) == [(api.EXAM_ATTEMPT_STATE_FAILED, 50)]
    # Exam reviews count in no measure: no acceptance rate, no gold accuracy.
    assert await deps.pool.fetchval("SELECT count(*) FROM reviewed_submissions") == 0
    assert await outbox(deps, events_pb2.ScoreChanged) == []


async def test_grading_waits_past_the_time_limit_for_answers_handed_in_before_it(
    quality_deps: Deps, clock: FakeClock
) -> None:
    deps = quality_deps
    attempt = await exam_world(deps, TEXT_KEY, TEXT_KEY, '{"severity": "refer"}', count=3)
    by_task = {q.task_id: q.needs_review for q in await issued(deps)}
    reviewed = [t for t in attempt.task_ids if by_task[t]]
    claim = await hand_in(deps, clock, reviewed[0], RIGHT)  # one answered; two never
    clock.advance(timedelta(hours=2))
    await fire_clocks(deps, clock)  # the time limit: one answer still to review
    assert await graded(deps) == []
    await deliver(deps, accepted(claim, reviewed[0], clock))
    assert await graded(deps) == [(api.EXAM_ATTEMPT_STATE_FAILED, 33)]  # 1 of 3


async def test_a_pending_answer_is_no_sanctions_evidence_until_reviewed(
    quality_deps: Deps, clock: FakeClock
) -> None:
    deps = await text_project(quality_deps, TEXT_KEY, '{"severity": "refer"}')
    await set_rules(deps, rule_input(below=50, min_sample=1))
    pending = await answer_gold(deps, clock, WRONG)  # its choice wrong: wrong, once reviewed
    await answer_gold(deps, clock, WRONG)  # choice only: 25, the rule acts
    [sanction] = await mine(deps)
    assert [e.task_id for e in sanction.evidence] != [pending[1]]
    assert len(sanction.evidence) == 1 and sanction.sample == 1
    retired = await deps.pool.fetchval(
        "SELECT count(*) FROM gold_tasks WHERE retired_at IS NOT NULL"
    )
    assert retired == 1  # the gold shown as evidence; the pending one's not
