"""Exams in the matcher, on a real database: a qualification type names the client that
may attach an exam to it (stored, listed, announced); the quality service's
ExamAttemptChanged, delivered through the matcher's routes, grants a passed attempt's
qualification with its score as an operator's grant does (history entry "exam <id>",
QualificationChanged, eligibility and live offers following), once per attempt; a failed
or running attempt changes nothing; what the matcher does not know is refused naming
its field, so the consumer dead-letters it."""

from __future__ import annotations

import uuid

import pytest
from test_matcher_claims import contractor, hub, next_item, project, task
from test_matcher_qualifications import published, snapshot

from crewline.consumer import EventContext
from crewline.errors import AlreadyExists, DomainError, InvalidArgument, NotFound
from crewline.events import CONTRACTORS_TOPIC, QUALITY_TOPIC
from crewline.protobuf import kind_to_pb
from crewline.qualifications import Comparator, Kind, Requirement
from crewline.timekeeping import FakeClock
from crewline.v1 import contractor_admin_service_pb2 as admin_api
from crewline.v1 import events_pb2
from crewline.v1 import quality_service_pb2 as quality_api
from matcher.adapters import eligibility
from matcher.adapters.offer_hub import OfferHub
from matcher.deps import Deps
from matcher.domain import qualifications
from matcher.domain.offers import WithdrawalReason
from matcher.domain.qualifications import Change
from matcher.entrypoints.contractor_admin import ContractorAdminServicer
from matcher.handlers import event_routes
from matcher.handlers import qualifications as qualification_handlers

__all__ = ["hub"]  # the offer hub fixture, running on this test's database

CTX = EventContext("e", "c", "quality", QUALITY_TOPIC, 0, 0)
DERM = "domain.dermatology"  # the SCORE type test_matcher_claims.contractor defines
PASSED = quality_api.EXAM_ATTEMPT_STATE_PASSED
FAILED = quality_api.EXAM_ATTEMPT_STATE_FAILED
IN_PROGRESS = quality_api.EXAM_ATTEMPT_STATE_IN_PROGRESS


def attempt(
    state: quality_api.ExamAttemptState.ValueType,
    score: int = 0,
    *,
    attempt_id: str | None = None,
    who: str = "ana",
    qualification: str = DERM,
) -> events_pb2.ExamAttemptChanged:
    """As the quality service publishes it."""
    return events_pb2.ExamAttemptChanged(
        attempt=quality_api.ExamAttempt(
            attempt_id=str(uuid.uuid4()) if attempt_id is None else attempt_id,
            contractor_id=who,
            qualification=qualification,
            project_id=str(uuid.uuid4()),
            state=state,
            task_ids=[str(uuid.uuid4()) for _ in range(4)],
            answered=4,
            score=score,
            pass_mark=75,
        )
    )


async def deliver(deps: Deps, event: events_pb2.ExamAttemptChanged) -> None:
    """As the consumer applies it, through the matcher's routes, in its own transaction."""
    async with deps.pool.acquire() as conn, conn.transaction():
        await event_routes(deps)[events_pb2.ExamAttemptChanged](conn, event, CTX)


async def history(deps: Deps, who: str = "ana") -> list[tuple[Change, object, str]]:
    _, entries = await qualification_handlers.list_qualifications(who, deps)
    return [(e.change, e.value, e.reason) for e in entries]


async def changes(deps: Deps) -> list[tuple[str, str, int, str]]:
    """(topic, key, score, reason) of each QualificationChanged published, in order."""
    found = []
    for topic, key, event in await published(deps, events_pb2.QualificationChanged):
        assert isinstance(event, events_pb2.QualificationChanged)
        found.append((topic, key, event.entry.score, event.entry.reason))
    return found


async def projects_of(deps: Deps, who: str = "ana") -> set[str]:
    async with deps.pool.acquire() as conn:
        return set(await eligibility.projects_of(conn, who))


async def test_a_passed_exam_grants_its_score_once_as_an_operator_grant_would(
    matcher_deps: Deps, hub: OfferHub, clock: FakeClock
) -> None:
    deps = matcher_deps
    await contractor(deps, "ana")
    p = await project(deps, requirements=[Requirement(DERM, Comparator.GREATER_OR_EQUAL, (80,))])
    t = await task(deps, p)
    stream = hub.open("ana", None)
    assert await hub.snapshot(stream, 10) == []

    await deliver(deps, attempt(IN_PROGRESS))  # started: nothing to grant yet
    assert await history(deps) == [] and await changes(deps) == []

    first = str(uuid.uuid4())
    await deliver(deps, attempt(PASSED, 85, attempt_id=first))
    assert await history(deps) == [(Change.GRANTED, 85, f"exam {first}")]
    assert await changes(deps) == [(CONTRACTORS_TOPIC, "ana", 85, f"exam {first}")]
    assert await projects_of(deps) == {p}
    offer, _ = await next_item(stream)  # the live stream gains the work it opens
    assert offer.task_id == t

    # An operator lowers it; the first attempt delivered again grants nothing back.
    lowered = qualifications.grant_qualification(
        contractor_id="ana", qualification=DERM, score=60, text=None
    )
    await qualification_handlers.grant_qualification(lowered, deps)
    assert await next_item(stream) == (t, WithdrawalReason.NOT_ELIGIBLE)
    before = await snapshot(deps.pool)
    await deliver(deps, attempt(PASSED, 85, attempt_id=first))
    assert await snapshot(deps.pool) == before

    second = str(uuid.uuid4())  # a retake passed: the new score, by the same path
    await deliver(deps, attempt(PASSED, 90, attempt_id=second))
    assert await history(deps) == [
        (Change.GRANTED, 85, f"exam {first}"),
        (Change.UPDATED, 60, ""),
        (Change.UPDATED, 90, f"exam {second}"),
    ]
    assert [c[2:] for c in await changes(deps)] == [
        (85, f"exam {first}"),
        (60, ""),
        (90, f"exam {second}"),
    ]
    assert (await next_item(stream))[0].task_id == t
    assert await deps.pool.fetchval("SELECT count(*) FROM exam_grants") == 2
    hub.close(stream)


async def test_a_failed_exam_changes_nothing(matcher_deps: Deps) -> None:
    deps = matcher_deps
    await contractor(deps, "ana", derm=50)
    before = await snapshot(deps.pool)
    await deliver(deps, attempt(FAILED, 40))
    await deliver(deps, attempt(IN_PROGRESS))
    assert await snapshot(deps.pool) == before
    assert await deps.pool.fetchval("SELECT count(*) FROM exam_grants") == 0


@pytest.mark.parametrize(
    ("event", "error", "field"),
    [
        (attempt(PASSED, 80, who="ghost"), NotFound, "attempt.contractor_id"),
        (
            attempt(PASSED, 80, qualification="domain.unknown"),
            InvalidArgument,
            "attempt.qualification",
        ),
        (
            attempt(PASSED, 80, qualification="credential.bar"),
            InvalidArgument,
            "attempt.qualification",
        ),
        (attempt(PASSED, 101), InvalidArgument, "attempt.score"),
        (attempt(PASSED, 80, attempt_id=""), InvalidArgument, "attempt.attempt_id"),
    ],
    ids=["unknown-contractor", "unknown-type", "presence-type", "score", "no-attempt-id"],
)
async def test_what_the_matcher_does_not_know_is_refused_naming_its_field(
    matcher_deps: Deps,
    event: events_pb2.ExamAttemptChanged,
    error: type[DomainError],
    field: str,
) -> None:
    """Raised, the consumer dead-letters the event, to replay once the cause is fixed."""
    deps = matcher_deps
    await contractor(deps, "ana")
    await deps.pool.execute(
        "INSERT INTO qualification_types (name, kind, description, created_at)"
        " VALUES ('credential.bar', 'presence', '', now())"
    )
    before = await snapshot(deps.pool)
    with pytest.raises(error) as caught:
        await deliver(deps, event)
    assert caught.value.metadata["field"] == field
    assert await snapshot(deps.pool) == before
    assert await deps.pool.fetchval("SELECT count(*) FROM exam_grants") == 0


async def test_a_type_names_the_client_that_may_attach_an_exam(matcher_deps: Deps) -> None:
    deps = matcher_deps
    api = ContractorAdminServicer(deps)

    async def define(name: str, kind: Kind, client_id: str = "") -> admin_api.QualificationType:
        request = admin_api.DefineQualificationTypeRequest(
            name=name, kind=kind_to_pb(kind), client_id=client_id
        )
        response = await api.DefineQualificationType(request, None)  # type: ignore[arg-type]
        return response.qualification_type

    exam_type = await define("exam.triage", Kind.SCORE, "acme")
    assert (exam_type.name, exam_type.client_id) == ("exam.triage", "acme")
    assert await define("exam.triage", Kind.SCORE, "acme") == exam_type  # idempotent
    open_type = await define("exam.open", Kind.SCORE)
    assert open_type.client_id == ""
    for name, client in (("exam.triage", "globex"), ("exam.triage", ""), ("exam.open", "acme")):
        with pytest.raises(AlreadyExists) as exists:
            await define(name, Kind.SCORE, client)
        assert exists.value.reason == "QUALIFICATION_TYPE_EXISTS"
    for kind, client in ((Kind.SCORE, "-acme"), (Kind.SCORE, "a" * 129), (Kind.PRESENCE, "acme")):
        with pytest.raises(InvalidArgument) as bad:
            await define("exam.other", kind, client)
        assert bad.value.field == "client_id"

    listed = await api.ListQualificationTypes(admin_api.ListQualificationTypesRequest(), None)  # type: ignore[arg-type]
    assert [(t.name, t.client_id) for t in listed.qualification_types] == [
        ("exam.open", ""),
        ("exam.triage", "acme"),
    ]
    announced = await published(deps, events_pb2.QualificationTypeDefined)
    assert [(topic, key) for topic, key, _ in announced] == [
        (CONTRACTORS_TOPIC, "exam.triage"),
        (CONTRACTORS_TOPIC, "exam.open"),
    ]
    assert [e.qualification_type for _, _, e in announced] == [exam_type, open_type]  # type: ignore[attr-defined]
