"""Appeals through the quality service's appeal API functions and handlers, on a real
database and a fake clock: a rejection appealed within its window and after it, the one
NOT_FOUND for a subject that is unknown, someone else's or not rejected, one appeal per
subject, idempotency keys, decisions by the project's client or an operator (and
nobody else), the deadline clock upholding an undecided appeal, AppealChanged through
the outbox, lists, and a sanction appealed: lifted, its gold voided and recounted."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import timedelta

import pytest
from gold_support import (
    ACME,
    GLOBEX,
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
from structlog.testing import capture_logs

from crewline import clock as deadlines
from crewline.auth.principal import OPERATOR, Kind, Principal
from crewline.clock import DeadlineClock
from crewline.errors import (
    AlreadyExists,
    DomainError,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
)
from crewline.metrics import Metrics
from crewline.protobuf import from_timestamp, timestamp
from crewline.timekeeping import FakeClock
from crewline.v1 import events_pb2
from crewline.v1 import quality_service_pb2 as api
from quality.deps import Deps
from quality.domain import issuing
from quality.domain.appeals import APPEAL_DEADLINE
from quality.domain.rules import RuleAction, RuleInput, RuleMeasure
from quality.entrypoints import appeals_api
from quality.handlers.appeals import deadline_routes
from quality.handlers.gold import set_policy

ANN = Principal(Kind.CONTRACTOR, "ann")
BOB = Principal(Kind.CONTRACTOR, "bob")
DAY = timedelta(days=1)
TEXT = "My answer follows section 3 of the guide"


def rejected(sub: str, deps: Deps, *, contractor: str = "ann") -> events_pb2.SubmissionRejected:
    return events_pb2.SubmissionRejected(
        submission_id=sub,
        task_id=f"task-{sub}",
        contractor_id=contractor,
        client_id="acme",
        project_id="p1",
        rejected_at=timestamp(deps.clock.now()),
    )


def accepted(sub: str, deps: Deps) -> events_pb2.SubmissionAccepted:
    return events_pb2.SubmissionAccepted(
        submission_id=sub,
        task_id=f"task-{sub}",
        contractor_id="ann",
        client_id="acme",
        project_id="p1",
        accepted_by=events_pb2.ACCEPTED_BY_CLIENT,
        accepted_at=timestamp(deps.clock.now()),
    )


async def file(
    deps: Deps,
    *,
    key: str = "k1",
    submission: str | None = "s1",
    sanction: str | None = None,
    text: str = TEXT,
    caller: Principal = ANN,
) -> api.Appeal:
    request = api.FileAppealRequest(idempotency_key=key, text=text)
    if sanction is not None:
        request.sanction_id = sanction
    elif submission is not None:
        request.submission_id = submission
    return (await appeals_api.file_appeal(request, caller, deps)).appeal


async def decide(
    deps: Deps, appeal_id: str, *, uphold: bool, caller: Principal = ACME, note: str = ""
) -> api.Appeal:
    request = api.DecideAppealRequest(appeal_id=appeal_id, uphold=uphold, note=note)
    return (await appeals_api.decide_appeal(request, caller, deps)).appeal


async def changes(deps: Deps) -> list[tuple[bytes, api.Appeal]]:
    """Each AppealChanged in the outbox, in order: its key and its appeal."""
    return [(key, e.appeal) for key, e, _ in await outbox(deps, events_pb2.AppealChanged)]  # type: ignore[attr-defined]


async def fire(deps: Deps, clock: FakeClock) -> int:
    """One pass of the kernel's deadline clock at the fake clock's time."""
    ticker = DeadlineClock(
        pool=deps.pool,
        handlers=deadline_routes(deps),
        metrics=Metrics.create("quality_appeals_test"),
        clock=clock,
    )
    return await ticker.fire_due()


async def appeals_stored(deps: Deps) -> int:
    return int(await deps.pool.fetchval("SELECT count(*) FROM appeals"))


async def a_rejection(deps: Deps, *subs: str, contractor: str = "ann") -> None:
    await deliver(deps, project_changed())
    for sub in subs:
        await deliver(deps, rejected(sub, deps, contractor=contractor))


async def test_a_rejection_appealed_within_its_window_is_pending_until_a_deadline(
    quality_deps: Deps, clock: FakeClock
) -> None:
    deps = quality_deps
    await a_rejection(deps, "s1")
    rejected_at = clock.now()
    clock.advance(timedelta(days=7))  # the last moment of the window
    appeal = await file(deps)

    assert (appeal.contractor_id, appeal.project_id, appeal.client_id) == ("ann", "p1", "acme")
    assert (appeal.WhichOneof("subject"), appeal.submission_id, appeal.text) == (
        "submission_id",
        "s1",
        TEXT,
    )
    assert appeal.state == api.APPEAL_STATE_PENDING
    assert from_timestamp(appeal.filed_at) == rejected_at + timedelta(days=7)
    assert from_timestamp(appeal.decide_by) == clock.now() + timedelta(days=9)
    assert not appeal.HasField("decided_at")
    [(key, published)] = await changes(deps)
    assert (key, published) == (b"ann", appeal)
    async with deps.pool.acquire() as conn:
        armed = await deadlines.find(conn, kind=APPEAL_DEADLINE, ref=appeal.appeal_id)
    assert armed is not None and armed.deadline.due_at == from_timestamp(appeal.decide_by)


async def test_after_the_window_an_appeal_is_refused_naming_when_it_closed(
    quality_deps: Deps, clock: FakeClock
) -> None:
    deps = quality_deps
    await a_rejection(deps, "s1")
    closes = clock.now() + timedelta(days=7)
    clock.advance(timedelta(days=7, microseconds=1))
    with pytest.raises(FailedPrecondition) as err:
        await file(deps)
    assert err.value.reason == "APPEAL_WINDOW_CLOSED"
    assert closes.isoformat().replace("+00:00", "Z") in err.value.message
    assert err.value.metadata["field"] == "submission_id"
    assert await appeals_stored(deps) == 0 and await changes(deps) == []


async def test_an_unknown_someone_elses_or_accepted_submission_is_the_same_not_found(
    quality_deps: Deps,
) -> None:
    deps = quality_deps
    await a_rejection(deps, "s-bob", contractor="bob")
    await deliver(deps, rejected("s-over", deps), accepted("s-over", deps))  # overridden
    await deliver(deps, accepted("s-ok", deps))
    refusals = set()
    for sub in ("s-none", "s-bob", "s-over", "s-ok"):
        with pytest.raises(NotFound) as err:
            await file(deps, key=f"k-{sub}", submission=sub)
        refusals.add(
            (err.value.message.replace(sub, "?"), err.value.reason, err.value.metadata["field"])
        )
    assert refusals == {("submission_id: submission ? not found", "NOT_FOUND", "submission_id")}
    sanction = "6a3f1c1e-0000-4000-8000-000000000001"
    with pytest.raises(NotFound) as err:
        await file(deps, sanction=sanction)
    assert err.value.metadata["field"] == "sanction_id"
    assert await appeals_stored(deps) == 0 and await changes(deps) == []


async def test_one_appeal_per_subject_and_the_same_key_returns_the_same_appeal(
    quality_deps: Deps, clock: FakeClock
) -> None:
    deps = quality_deps
    await a_rejection(deps, "s1", "s2")
    first = await file(deps)
    clock.advance(DAY)
    assert await file(deps) == first  # a retry, a day later
    with pytest.raises(AlreadyExists) as err:
        await file(deps, key="k2")
    assert err.value.metadata["field"] == "submission_id"
    assert first.appeal_id in err.value.message
    for changed in ({"text": "other words"}, {"submission": "s2"}):
        with pytest.raises(InvalidArgument) as bad:
            await file(deps, **changed)  # type: ignore[arg-type]
        assert bad.value.field == "idempotency_key"
    assert await appeals_stored(deps) == 1 and len(await changes(deps)) == 1
    other = await file(deps, key="k2", submission="s2")
    assert other.appeal_id != first.appeal_id


async def test_the_projects_client_upholds_and_the_rejection_is_listed_for_acceptance(
    quality_deps: Deps, clock: FakeClock
) -> None:
    deps = quality_deps
    await a_rejection(deps, "s1")
    appeal = await file(deps)
    unknown = "6a3f1c1e-0000-4000-8000-000000000002"
    refusals = set()
    for caller, appeal_id in ((GLOBEX, appeal.appeal_id), (ACME, unknown)):
        with pytest.raises(NotFound) as err:
            await decide(deps, appeal_id, uphold=True, caller=caller)
        refusals.add((err.value.message.replace(appeal_id, "?"), err.value.metadata["field"]))
    assert refusals == {("appeal_id: appeal ? not found", "appeal_id")}
    with pytest.raises(NotFound):  # the access policy refuses contractors first
        await decide(deps, appeal.appeal_id, uphold=True, caller=ANN)
    clock.advance(DAY)
    upheld = await decide(deps, appeal.appeal_id, uphold=True, note="Fair: the guide was unclear")

    assert upheld.state == api.APPEAL_STATE_UPHELD
    assert upheld.decided_by == api.APPEAL_DECIDER_CLIENT
    assert from_timestamp(upheld.decided_at) == clock.now()
    assert (list(upheld.accepted_submission_ids), upheld.decision_note) == (
        ["s1"],
        "Fair: the guide was unclear",
    )
    assert [a for _, a in await changes(deps)] == [appeal, upheld]
    async with deps.pool.acquire() as conn:  # decided: its deadline clock is gone
        assert await deadlines.find(conn, kind=APPEAL_DEADLINE, ref=appeal.appeal_id) is None

    clock.advance(DAY)
    assert await decide(deps, appeal.appeal_id, uphold=True, caller=OPERATOR) == upheld
    with pytest.raises(FailedPrecondition) as other:
        await decide(deps, appeal.appeal_id, uphold=False)
    assert other.value.reason == "APPEAL_ALREADY_DECIDED"
    assert len(await changes(deps)) == 2


async def test_an_operator_denies_and_nothing_is_accepted(
    quality_deps: Deps, clock: FakeClock
) -> None:
    deps = quality_deps
    await a_rejection(deps, "s1")
    appeal = await file(deps)
    denied = await decide(deps, appeal.appeal_id, uphold=False, caller=OPERATOR, note="No")
    assert (denied.state, denied.decided_by) == (
        api.APPEAL_STATE_DENIED,
        api.APPEAL_DECIDER_OPERATOR,
    )
    assert list(denied.accepted_submission_ids) == []
    clock.advance(timedelta(days=10))
    assert await fire(deps, clock) == 0  # no clock left to uphold it
    [_, (_, last)] = await changes(deps)
    assert last == denied


async def test_an_appeal_nobody_decides_is_upheld_at_its_deadline(
    quality_deps: Deps, clock: FakeClock
) -> None:
    deps = quality_deps
    await a_rejection(deps, "s1")
    appeal = await file(deps)
    clock.advance(timedelta(days=9) - timedelta(microseconds=1))
    assert await fire(deps, clock) == 0  # never early
    clock.advance(timedelta(microseconds=1))
    assert await fire(deps, clock) == 1

    [_, (key, upheld)] = await changes(deps)
    assert key == b"ann"
    assert (upheld.state, upheld.decided_by) == (
        api.APPEAL_STATE_UPHELD,
        api.APPEAL_DECIDER_DEADLINE,
    )
    assert from_timestamp(upheld.decided_at) == from_timestamp(appeal.decide_by)
    assert list(upheld.accepted_submission_ids) == ["s1"]
    assert await decide(deps, appeal.appeal_id, uphold=True) == upheld
    with pytest.raises(FailedPrecondition):
        await decide(deps, appeal.appeal_id, uphold=False)
    clock.advance(DAY)
    assert await fire(deps, clock) == 0


async def test_errors_name_their_field_and_change_nothing(quality_deps: Deps) -> None:
    deps = quality_deps
    await a_rejection(deps, "s1")
    cases: list[tuple[dict[str, object], str]] = [
        ({"key": ""}, "idempotency_key"),
        ({"text": ""}, "text"),
        ({"text": "x" * 2001}, "text"),
        ({"submission": None}, "subject"),
        ({"sanction": "nope"}, "sanction_id"),
    ]
    for kwargs, field in cases:
        with pytest.raises(InvalidArgument) as err:
            await file(deps, **kwargs)  # type: ignore[arg-type]
        assert err.value.field == field
    appeal = await file(deps)
    for request, field in (
        (api.DecideAppealRequest(appeal_id="x", uphold=True), "appeal_id"),
        (api.DecideAppealRequest(appeal_id=appeal.appeal_id, note="n" * 2001), "note"),
    ):
        with pytest.raises(InvalidArgument) as err:
            await appeals_api.decide_appeal(request, ACME, deps)
        assert err.value.field == field
    assert len(await changes(deps)) == 1


async def test_lists_show_a_contractor_their_own_and_a_client_its_projects_queue(
    quality_deps: Deps, clock: FakeClock
) -> None:
    deps = quality_deps
    await a_rejection(deps, "s1", "s2", "s3")
    await deliver(deps, rejected("s-bob", deps, contractor="bob"))
    filed = []
    for n in (1, 2, 3):
        filed.append((await file(deps, key=f"k{n}", submission=f"s{n}")).appeal_id)
        clock.advance(timedelta(minutes=1))
    bobs = (await file(deps, key="k1", submission="s-bob", caller=BOB)).appeal_id
    await decide(deps, filed[0], uphold=False)

    mine = await appeals_api.list_my_appeals(api.ListMyAppealsRequest(page_size=2), ANN, deps)
    rest = await appeals_api.list_my_appeals(
        api.ListMyAppealsRequest(page_token=mine.next_page_token), ANN, deps
    )
    assert [a.appeal_id for a in [*mine.appeals, *rest.appeals]] == filed[::-1]
    assert rest.next_page_token == ""

    pages, token = [], ""
    while True:
        request = api.ListAppealsRequest(project_id="p1", page_size=1, page_token=token)
        page = await appeals_api.list_appeals(request, ACME, deps)
        pages += [a.appeal_id for a in page.appeals]
        if not (token := page.next_page_token):
            break
    assert pages == [filed[1], filed[2], bobs, filed[0]]  # pending oldest first, then decided
    request = api.ListAppealsRequest(state=api.APPEAL_STATE_DENIED)
    only = await appeals_api.list_appeals(request, OPERATOR, deps)
    assert [a.appeal_id for a in only.appeals] == [filed[0]]

    refusals: list[DomainError] = []
    for caller, project in ((GLOBEX, "p1"), (ACME, "nope")):
        with pytest.raises(NotFound) as err:
            await appeals_api.list_appeals(api.ListAppealsRequest(project_id=project), caller, deps)
        refusals.append(err.value)
    assert refusals[0].message.replace("p1", "?") == refusals[1].message.replace("nope", "?")
    with pytest.raises(InvalidArgument) as bad:
        await appeals_api.list_appeals(api.ListAppealsRequest(), ACME, deps)
    assert bad.value.field == "project_id"


async def rules(deps: Deps, *rules: RuleInput, share: int = 50) -> None:
    cmd = issuing.set_policy(
        client_id="acme", project_id="p1", gold_share_percent=share, rules=rules
    )
    await set_policy(cmd, deps)


def rule(measure: RuleMeasure, action: RuleAction, hours: int | None = 1) -> RuleInput:
    return RuleInput(
        rule_id=f"{measure.value}-floor".replace("_", "-"),
        measure=measure,
        below=50,
        above=None,
        min_sample=2,
        action=action,
        duration=timedelta(hours=hours) if hours else None,
    )


async def answer_gold_wrongly(deps: Deps, times: int) -> list[str]:
    """The contractor meets gold ``times`` times among ordinary claims and answers it
    wrongly; the claim ids (the submissions) of the answers."""
    told = dataclasses.replace(deps, random=Draws(0.0, 0))
    claims = []
    for n in range(times):
        await deliver(told, granted(new_id(), new_id()))
        gold_task = (await issued(told))[n].task_id
        claim = new_id()
        await deliver(told, granted(claim, gold_task))
        await deliver(
            told, submitted(claim, gold_task, b'{"severity": "benign"}', deps.clock.now())
        )
        claims.append(claim)
    return claims


async def sanctions_published(deps: Deps) -> list[api.Sanction]:
    return [e.sanction for _, e, _ in await outbox(deps, events_pb2.SanctionChanged)]  # type: ignore[attr-defined]


async def gold_scores(deps: Deps) -> list[events_pb2.ScoreChanged]:
    return [
        e  # type: ignore[misc]
        for _, e, _ in await outbox(deps, events_pb2.ScoreChanged)
        if e.measure == api.SCORE_MEASURE_GOLD_ACCURACY  # type: ignore[attr-defined]
    ]


async def test_a_sanction_upheld_on_appeal_is_lifted_its_gold_voided_and_its_rejected_gold_accepted(
    quality_deps: Deps, clock: FakeClock
) -> None:
    deps = quality_deps
    await deliver(deps, project_changed())
    await add(deps, item(0), item(1), item(2))
    await rules(deps, rule(RuleMeasure.GOLD_ACCURACY, RuleAction.SUSPEND))
    answers = await answer_gold_wrongly(deps, 2)
    [imposed] = await sanctions_published(deps)
    assert (imposed.state, imposed.contractor_id) == (api.SANCTION_STATE_ACTIVE, "ann")
    assert (await gold_scores(deps))[-1].value == 17  # 0 of 2 right: (1/2) / 3
    with pytest.raises(NotFound) as err:  # someone else's is as unknown
        await file(deps, sanction=imposed.sanction_id, caller=BOB)
    assert err.value.metadata["field"] == "sanction_id"

    clock.advance(timedelta(minutes=5))
    # The client rejected the first gold answer's work: the appeal covers that rejection.
    for delivered in (rejected(answers[0], deps), rejected("ordinary", deps)):
        await deliver(deps, delivered)
    appeal = await file(deps, sanction=imposed.sanction_id)
    assert (appeal.WhichOneof("subject"), appeal.sanction_id) == (
        "sanction_id",
        imposed.sanction_id,
    )
    upheld = await decide(deps, appeal.appeal_id, uphold=True)

    assert upheld.state == api.APPEAL_STATE_UPHELD
    # The rejected gold work, not the other rejection, which the sanction did not rest on.
    assert list(upheld.accepted_submission_ids) == [answers[0]]
    [_, lifted] = await sanctions_published(deps)
    assert (lifted.sanction_id, lifted.state) == (imposed.sanction_id, api.SANCTION_STATE_LIFTED)
    assert from_timestamp(lifted.ended_at) == clock.now()
    async with deps.pool.acquire() as conn:
        assert await deadlines.find(conn, kind="sanction_end", ref=imposed.sanction_id) is None
    voided = await deps.pool.fetch(
        "SELECT claim_id FROM gold_answers WHERE voided ORDER BY claim_id"
    )
    assert [r["claim_id"] for r in voided] == sorted(answers)
    recounted = (await gold_scores(deps))[-1]
    assert (recounted.value, recounted.reviewed, recounted.accepted) == (50, 0, 0)
    assert len(await sanctions_published(deps)) == 2  # the recount imposes nothing again


async def test_an_ended_sanction_upheld_stays_ended_and_lists_its_rejections(
    quality_deps: Deps, clock: FakeClock
) -> None:
    deps = quality_deps
    await deliver(deps, project_changed())
    await rules(deps, rule(RuleMeasure.ACCEPTANCE_RATE, RuleAction.NOTIFY, hours=None))
    await deliver(deps, rejected("s1", deps), rejected("s2", deps))
    [notice] = await sanctions_published(deps)
    assert notice.state == api.SANCTION_STATE_ENDED  # a notice ends as it is given
    clock.advance(timedelta(days=7, microseconds=1))
    with pytest.raises(FailedPrecondition) as err:
        await file(deps, sanction=notice.sanction_id)
    assert err.value.reason == "APPEAL_WINDOW_CLOSED"
    assert err.value.metadata["field"] == "sanction_id"

    clock.advance(-timedelta(days=1))
    appeal = await file(deps, sanction=notice.sanction_id)
    clock.advance(timedelta(days=9))
    assert await fire(deps, clock) == 1
    [_, (_, upheld)] = await changes(deps)
    assert (upheld.state, upheld.decided_by) == (
        api.APPEAL_STATE_UPHELD,
        api.APPEAL_DECIDER_DEADLINE,
    )
    assert sorted(upheld.accepted_submission_ids) == ["s1", "s2"]
    assert upheld.appeal_id == appeal.appeal_id
    assert len(await sanctions_published(deps)) == 1  # still ENDED: nothing to lift


async def test_logs_carry_ids_and_never_the_appeal_text_or_the_note(
    quality_deps: Deps, clock: FakeClock
) -> None:
    deps = quality_deps
    await a_rejection(deps, "s1")
    with capture_logs() as logs:
        appeal = await file(deps, text="Zanzibar-7 is the answer")
        await decide(deps, appeal.appeal_id, uphold=False, note="Quixotic-9 reasons")
    assert [e["event"] for e in logs] == ["appeal_filed", "appeal_decided"]
    assert all(e.get("appeal_id") == appeal.appeal_id for e in logs)
    assert "Zanzibar" not in repr(logs) and "Quixotic" not in repr(logs)


async def test_concurrent_filings_make_one_appeal(quality_deps: Deps) -> None:
    deps = quality_deps
    await a_rejection(deps, "s1", "s2")
    same = await asyncio.gather(file(deps), file(deps))
    assert same[0] == same[1]
    outcomes = await asyncio.gather(
        file(deps, key="k2", submission="s2"),
        file(deps, key="k3", submission="s2"),
        return_exceptions=True,
    )
    assert sorted(type(o).__name__ for o in outcomes) == ["AlreadyExists", "Appeal"]
    assert await appeals_stored(deps) == 2 and len(await changes(deps)) == 2
