"""Disputes of gold keys through the quality service's dispute API functions and
handlers, on a real database and a fake clock.

The scene: gold task g0 keyed severity=refer. Bob answers it refer (right); Ann and
Carl answer it benign (wrong) and are suspended on their gold accuracy (a rule below 50
on 2 answers), each sanction showing g0 among its evidence; Bob answers one more gold
wrongly and stands at 50. A dispute of revealed gold is filed; anything else is one
NOT_FOUND; the client dismisses or corrects the key to benign, which overturns both
sanctions, lowers Bob's accuracy until the rule suspends him, and lists the rejected
work the correction makes right."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from gold_support import ACME, GLOBEX, deliver, gold_of, outbox
from sanction_support import (
    BOB,
    OPERATOR,
    RIGHT,
    WRONG,
    answer_gold,
    gold_project,
    handed_in,
    rejected,
    rule_input,
)
from structlog.testing import capture_logs

from crewline import clock as deadlines
from crewline.auth.principal import Kind, Principal
from crewline.errors import (
    AlreadyExists,
    DomainError,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
)
from crewline.protobuf import from_timestamp
from crewline.timekeeping import FakeClock
from crewline.v1 import events_pb2
from crewline.v1 import quality_service_pb2 as api
from quality.deps import Deps
from quality.entrypoints import disputes_api

ANN = Principal(Kind.CONTRACTOR, "ann")
CARL = Principal(Kind.CONTRACTOR, "carl")
NOTE = "The guide says a spreading rash is benign"
BENIGN = '{"severity": "benign"}'


@dataclass
class Scene:
    deps: Deps
    g0: dict[str, tuple[str, str]]  # contractor -> (task, claim) of their answer to g0
    other: dict[str, tuple[str, str]]  # contractor -> their second gold answer
    gold_id: str


async def answer(deps: Deps, clock: FakeClock, result: bytes, who: str) -> tuple[str, str]:
    task = await answer_gold(deps, clock, result, contractor=who)
    assert task, "no gold was issued"
    claim = await deps.pool.fetchval("SELECT claim_id FROM gold_answers WHERE task_id = $1", task)
    return task, claim


async def scene(quality_deps: Deps, clock: FakeClock) -> Scene:
    deps = await gold_project(quality_deps, rule_input(min_sample=2))
    g0 = {"bob": await answer(deps, clock, RIGHT, "bob")}
    g0["ann"] = await answer(deps, clock, WRONG, "ann")
    g0["carl"] = await answer(deps, clock, WRONG, "carl")
    other = {"carl": await answer(deps, clock, WRONG, "carl")}  # carl: suspended, g0-g1 retired
    other["ann"] = await answer(deps, clock, WRONG, "ann")  # g2: ann suspended
    other["bob"] = await answer(deps, clock, WRONG, "bob")  # g3: bob at 50, not below
    gold_id = await gold_of(deps, g0["ann"][0])
    assert {await gold_of(deps, task) for task, _ in g0.values()} == {gold_id}
    assert sorted(s.contractor_id for s in await sanctions(deps)) == ["ann", "carl"]
    return Scene(deps, g0, other, gold_id)


async def dispute(
    deps: Deps, task: str, *, caller: Principal = ANN, key: str = "k1", note: str = NOTE
) -> api.Dispute:
    request = api.DisputeGoldKeyRequest(idempotency_key=key, task_id=task, note=note)
    return (await disputes_api.dispute_gold_key(request, caller, deps)).dispute


async def resolve(
    deps: Deps,
    dispute_id: str,
    *,
    correct: str | None = None,
    rules: list[api.GoldFieldRule] | None = None,
    caller: Principal = ACME,
    note: str = "",
) -> api.Dispute:
    request = api.ResolveDisputeRequest(dispute_id=dispute_id, note=note)
    if correct is not None:
        request.correct.CopyFrom(api.GoldKeyCorrection(answer_json=correct, rules=rules or []))
    else:
        request.dismiss = True
    return (await disputes_api.resolve_dispute(request, caller, deps)).dispute


async def published(deps: Deps) -> list[tuple[bytes, api.Dispute]]:
    return [(k, e.dispute) for k, e, _ in await outbox(deps, events_pb2.DisputeChanged)]  # type: ignore[attr-defined]


async def sanctions(deps: Deps) -> list[api.Sanction]:
    """The latest version of each sanction published, in the order first imposed."""
    latest: dict[str, api.Sanction] = {}
    for _, e, _ in await outbox(deps, events_pb2.SanctionChanged):
        latest[e.sanction.sanction_id] = e.sanction  # type: ignore[attr-defined]
    return list(latest.values())


async def gold_scores(deps: Deps) -> dict[str, int]:
    """Each contractor's latest published gold accuracy."""
    return {
        e.contractor_id: e.value  # type: ignore[attr-defined]
        for _, e, _ in await outbox(deps, events_pb2.ScoreChanged)
        if e.measure == api.SCORE_MEASURE_GOLD_ACCURACY  # type: ignore[attr-defined]
    }


async def listed(deps: Deps, caller: Principal = ACME, **kw: Any) -> list[api.Dispute]:
    request = api.ListDisputesRequest(project_id="p1", **kw)
    return list((await disputes_api.list_disputes(request, caller, deps)).disputes)


async def mine(deps: Deps, caller: Principal = ANN) -> list[api.Dispute]:
    request = api.ListMyDisputesRequest()
    return list((await disputes_api.list_my_disputes(request, caller, deps)).disputes)


async def gold_state(deps: Deps) -> list[Any]:
    """Everything a correction may change, to show that a refused one changed nothing."""
    return [
        await deps.pool.fetch(
            "SELECT gold_id, answer_json, rules::text, key_version FROM gold_tasks"
        ),
        await deps.pool.fetch("SELECT claim_id, correct, voided FROM gold_answers ORDER BY 1"),
        await deps.pool.fetch("SELECT sanction_id, state FROM sanctions ORDER BY 1"),
        await deps.pool.fetch("SELECT * FROM disputes ORDER BY seq"),
        await deps.pool.fetchval("SELECT count(*) FROM gold_key_versions"),
        await deps.pool.fetchval("SELECT count(*) FROM outbox"),
    ]


def metric(deps: Deps, name: str, **labels: str) -> float | None:
    return deps.metrics.registry.get_sample_value(f"crewline_quality_{name}_total", labels)


async def test_a_dispute_of_revealed_gold_is_open_and_published_without_the_gold(
    quality_deps: Deps, clock: FakeClock
) -> None:
    s = await scene(quality_deps, clock)
    task = s.g0["ann"][0]
    filed = await dispute(s.deps, task)

    assert (filed.contractor_id, filed.project_id, filed.client_id) == ("ann", "p1", "acme")
    assert (filed.task_id, filed.note, filed.state) == (task, NOTE, api.DISPUTE_STATE_OPEN)
    assert filed.gold_id == ""  # never to the contractor
    assert from_timestamp(filed.filed_at) == clock.now()
    assert not filed.HasField("resolved_at")
    assert await published(s.deps) == [(b"ann", filed)]
    assert await mine(s.deps) == [filed]
    [queued] = await listed(s.deps)
    assert queued.gold_id == s.gold_id  # the client knows which gold task it is
    assert [d.gold_id for d in await listed(s.deps, OPERATOR)] == [s.gold_id]
    assert metric(s.deps, "disputes_filed") == 1


async def test_any_task_not_revealed_to_the_caller_is_the_same_not_found(
    quality_deps: Deps, clock: FakeClock
) -> None:
    s = await scene(quality_deps, clock)
    await deliver(s.deps, handed_in("ord1", clock))  # an ordinary task the service knows
    unrevealed = (await answer(s.deps, clock, RIGHT, "ann"))[0]  # g3: in no sanction of ann's
    cases = {
        "ordinary task": (ANN, "t-ord1"),
        "unrevealed gold": (ANN, unrevealed),
        "gold not yet in a sanction": (BOB, s.g0["bob"][0]),
        "another contractor's revealed gold": (ANN, s.g0["carl"][0]),
        "unknown": (ANN, str(uuid.uuid4())),
        "empty": (ANN, ""),
        "malformed": (ANN, "not an id!"),
        "too long": (ANN, "x" * 300),
    }
    refusals: dict[str, tuple[Any, ...]] = {}
    for name, (caller, task) in cases.items():
        with pytest.raises(NotFound) as err:
            await dispute(s.deps, task, caller=caller, key=f"k-{len(refusals)}")
        e: DomainError = err.value
        refusals[name] = (e.code, e.reason, e.message, tuple(e.metadata.items()))
    assert set(refusals.values()) == {
        ("NOT_FOUND", "NOT_FOUND", "task_id: task not found", (("field", "task_id"),))
    }, refusals
    assert await published(s.deps) == []
    assert await s.deps.pool.fetchval("SELECT count(*) FROM disputes") == 0


async def test_a_key_names_one_dispute_and_a_gold_task_has_one_open_dispute_per_contractor(
    quality_deps: Deps, clock: FakeClock
) -> None:
    s = await scene(quality_deps, clock)
    task = s.g0["ann"][0]
    first = await dispute(s.deps, task)
    clock.advance(timedelta(days=1))
    assert await dispute(s.deps, task) == first  # a retry, a day later
    for other_task, other_note in ((task, "other words"), (s.other["ann"][0], NOTE)):
        with pytest.raises(InvalidArgument) as bad:
            await dispute(s.deps, other_task, note=other_note)
        assert bad.value.field == "idempotency_key"
    with pytest.raises(AlreadyExists) as err:
        await dispute(s.deps, task, key="k2")
    assert err.value.metadata == {"field": "task_id"}
    assert first.dispute_id in err.value.message
    for key, note, field in (
        ("k1", " ", "note"),
        ("k1", "n" * 2001, "note"),
        ("", NOTE, "idempotency_key"),
    ):
        with pytest.raises(InvalidArgument) as bad:
            await dispute(s.deps, task, key=key, note=note)
        assert bad.value.field == field
    other = await dispute(s.deps, s.other["ann"][0], key="k3")  # another gold task: its own
    assert await s.deps.pool.fetchval("SELECT count(*) FROM disputes") == 2
    assert [d for _, d in await published(s.deps)] == [first, other]


async def test_only_the_projects_client_resolves_and_errors_name_their_field(
    quality_deps: Deps, clock: FakeClock
) -> None:
    s = await scene(quality_deps, clock)
    filed = await dispute(s.deps, s.g0["ann"][0])
    before = await gold_state(s.deps)
    unknown = str(uuid.uuid4())
    refusals = set()
    for caller, dispute_id in (
        (GLOBEX, filed.dispute_id),
        (ACME, unknown),
        (OPERATOR, filed.dispute_id),
    ):
        with pytest.raises(NotFound) as err:
            await resolve(s.deps, dispute_id, caller=caller, correct=BENIGN)
        refusals.add((err.value.message.replace(dispute_id, "?"), err.value.metadata["field"]))
    assert refusals == {("dispute_id: dispute ? not found", "dispute_id")}
    for request, field in (
        (api.ResolveDisputeRequest(dispute_id=filed.dispute_id), "resolution"),
        (api.ResolveDisputeRequest(dispute_id=filed.dispute_id, dismiss=False), "dismiss"),
        (api.ResolveDisputeRequest(dispute_id="nope", dismiss=True), "dispute_id"),
        (
            api.ResolveDisputeRequest(dispute_id=filed.dispute_id, dismiss=True, note="n" * 2001),
            "note",
        ),
    ):
        with pytest.raises(InvalidArgument) as bad:
            await disputes_api.resolve_dispute(request, ACME, s.deps)
        assert bad.value.field == field
    assert await gold_state(s.deps) == before


@pytest.mark.parametrize(
    ("answer_json", "rules", "field"),
    [
        ('{"severity": "urgent"}', [], "correct.answer_json.severity"),
        ('{"colour": "red"}', [], "correct.answer_json.colour"),
        ('{"notes": "' + "x" * 201 + '"}', [], "correct.answer_json.notes"),  # over 200
        ("{}", [], "correct.answer_json"),
        ("[1", [], "correct.answer_json"),
        ("", [], "correct.answer_json"),
        (BENIGN, [api.GoldFieldRule(field="confidence", tolerance=0.1)], "correct.rules[0].field"),
        (BENIGN, [api.GoldFieldRule(field="severity", tolerance=-1)], "correct.rules[0].tolerance"),
        (
            BENIGN,
            [api.GoldFieldRule(field="severity", also_accepted=["urgent"])],
            "correct.rules[0].also_accepted[0]",
        ),
    ],
)
async def test_a_corrected_key_the_spec_refuses_names_its_field_and_changes_nothing(
    quality_deps: Deps,
    clock: FakeClock,
    answer_json: str,
    rules: list[api.GoldFieldRule],
    field: str,
) -> None:
    s = await scene(quality_deps, clock)
    filed = await dispute(s.deps, s.g0["ann"][0])
    before = await gold_state(s.deps)
    with pytest.raises(InvalidArgument) as bad:
        await resolve(s.deps, filed.dispute_id, correct=answer_json, rules=rules)
    assert bad.value.field == field
    assert await gold_state(s.deps) == before
    assert [d.state for d in await mine(s.deps)] == [api.DISPUTE_STATE_OPEN]


async def test_a_dismissed_dispute_keeps_the_key_and_stays_dismissed(
    quality_deps: Deps, clock: FakeClock
) -> None:
    s = await scene(quality_deps, clock)
    filed = await dispute(s.deps, s.g0["ann"][0])
    clock.advance(timedelta(hours=1))
    before = await gold_state(s.deps)
    dismissed = await resolve(s.deps, filed.dispute_id, note="The key follows the guide")

    assert (dismissed.state, dismissed.resolution_note) == (
        api.DISPUTE_STATE_DISMISSED,
        "The key follows the guide",
    )
    assert from_timestamp(dismissed.resolved_at) == clock.now()
    assert dismissed.gold_id == s.gold_id
    assert list(dismissed.accepted_submission_ids) == list(dismissed.overturned_sanction_ids) == []
    [_, (key, event)] = await published(s.deps)
    dismissed.ClearField("gold_id")
    assert (key, event) == (b"ann", dismissed)
    assert metric(s.deps, "disputes_resolved", outcome="dismissed") == 1

    again = await resolve(s.deps, filed.dispute_id, note="other words")
    assert again.resolution_note == "The key follows the guide"  # unchanged
    with pytest.raises(FailedPrecondition) as err:
        await resolve(s.deps, filed.dispute_id, correct=BENIGN)
    assert err.value.reason == "DISPUTE_ALREADY_RESOLVED"
    state = await gold_state(s.deps)
    assert (state[0], state[1], state[2]) == (before[0], before[1], before[2])
    assert len(await published(s.deps)) == 2
    # Dismissed, the gold task may be disputed again.
    assert (await dispute(s.deps, s.g0["ann"][0], key="k2")).state == api.DISPUTE_STATE_OPEN


async def test_a_corrected_key_rescores_every_answer_and_undoes_what_the_old_one_did(
    quality_deps: Deps, clock: FakeClock
) -> None:
    s = await scene(quality_deps, clock)
    deps = s.deps
    [carls, anns] = await sanctions(deps)
    assert (carls.contractor_id, anns.contractor_id) == ("carl", "ann")
    # The client rejected Ann's work on g0, Carl's on g1 and one ordinary task of Ann's.
    for sub, who in ((s.g0["ann"][1], "ann"), (s.other["carl"][1], "carl"), ("ordinary", "ann")):
        await deliver(deps, rejected(sub, clock, contractor=who))
    anns_dispute = await dispute(deps, s.g0["ann"][0])
    carls_dispute = await dispute(deps, s.g0["carl"][0], caller=CARL)
    clock.advance(timedelta(hours=1))
    corrected = await resolve(deps, anns_dispute.dispute_id, correct=BENIGN, note="Key fixed")

    assert (corrected.state, corrected.resolution_note) == (
        api.DISPUTE_STATE_CORRECTED,
        "Key fixed",
    )
    assert corrected.gold_id == s.gold_id
    assert from_timestamp(corrected.resolved_at) == clock.now()
    assert list(corrected.overturned_sanction_ids) == [carls.sanction_id, anns.sanction_id]
    # Ann's g0 work is right now; Carl's g1 work was judged by an overturned sanction.
    assert sorted(corrected.accepted_submission_ids) == sorted([s.g0["ann"][1], s.other["carl"][1]])

    # Every answer to g0 scored again: Ann's and Carl's right, Bob's wrong.
    verdicts = dict(await deps.pool.fetch("SELECT claim_id, correct FROM gold_answers"))
    assert [verdicts[s.g0[c][1]] for c in ("ann", "carl", "bob")] == [True, True, False]
    # Both sanctions lifted (their end clocks gone), their gold answers voided.
    after = {x.sanction_id: x for x in await sanctions(deps)}
    for old in (carls, anns):
        assert after[old.sanction_id].state == api.SANCTION_STATE_LIFTED
        assert from_timestamp(after[old.sanction_id].ended_at) == clock.now()
        async with deps.pool.acquire() as conn:
            assert await deadlines.find(conn, kind="sanction_end", ref=old.sanction_id) is None
    voided = {r[0] for r in await deps.pool.fetch("SELECT claim_id FROM gold_answers WHERE voided")}
    assert voided == {s.g0["ann"][1], s.other["ann"][1], s.g0["carl"][1], s.other["carl"][1]}
    # Gold accuracy recounted: Ann and Carl rest on nothing now; Bob's fell to 0 of 2,
    # and the rule suspended him, with g0 as evidence under the corrected key.
    assert await gold_scores(deps) == {"ann": 50, "carl": 50, "bob": 17}
    [bobs] = [x for x in after.values() if x.contractor_id == "bob"]
    assert bobs.state == api.SANCTION_STATE_ACTIVE
    expected = await deps.pool.fetchval(
        "SELECT expected_json FROM sanction_evidence WHERE sanction_id = $1 AND gold_id = $2",
        uuid.UUID(bobs.sanction_id),
        uuid.UUID(s.gold_id),
    )
    assert expected == BENIGN

    # Every open dispute of g0 resolved alike; DisputeChanged for each, without the gold.
    [carls_now] = await mine(deps, CARL)
    assert carls_now.state == api.DISPUTE_STATE_CORRECTED and carls_now.gold_id == ""
    assert list(carls_now.accepted_submission_ids) == list(corrected.accepted_submission_ids)
    assert list(carls_now.overturned_sanction_ids) == list(corrected.overturned_sanction_ids)
    events = await published(deps)
    assert [(k, d.dispute_id, d.state) for k, d in events[2:]] == [
        (b"ann", anns_dispute.dispute_id, api.DISPUTE_STATE_CORRECTED),
        (b"carl", carls_dispute.dispute_id, api.DISPUTE_STATE_CORRECTED),
    ]
    assert all(d.gold_id == "" for _, d in events)
    assert metric(deps, "disputes_resolved", outcome="corrected") == 2

    # The client's gold shows the corrected key; the old one is kept as a version.
    [key_now] = await deps.pool.fetch(
        "SELECT answer_json, key_version FROM gold_tasks WHERE gold_id = $1", uuid.UUID(s.gold_id)
    )
    assert tuple(key_now) == (BENIGN, 2)
    [old] = await deps.pool.fetch("SELECT version, answer_json, dispute_id FROM gold_key_versions")
    assert tuple(old) == (1, RIGHT.decode(), uuid.UUID(anns_dispute.dispute_id))

    # Resolved: the same correction again (however spaced) changes nothing; another is refused.
    outbox_size = await deps.pool.fetchval("SELECT count(*) FROM outbox")
    same = await resolve(deps, carls_dispute.dispute_id, correct='{ "severity":"benign" }')
    assert same.state == api.DISPUTE_STATE_CORRECTED and same.resolution_note == "Key fixed"
    for other in ('{"severity": "watch"}', None):  # another key; a dismissal
        with pytest.raises(FailedPrecondition) as err:
            await resolve(deps, anns_dispute.dispute_id, correct=other)
        assert err.value.reason == "DISPUTE_ALREADY_RESOLVED"
    assert await deps.pool.fetchval("SELECT count(*) FROM outbox") == outbox_size


async def test_logs_carry_ids_and_never_notes_answers_or_keys(
    quality_deps: Deps, clock: FakeClock
) -> None:
    s = await scene(quality_deps, clock)
    key = '{"severity": "watch", "confidence": 0.35}'
    with capture_logs() as logs:
        filed = await dispute(s.deps, s.g0["ann"][0], note="Zanzibar-7 says so")
        await resolve(s.deps, filed.dispute_id, correct=key, note="Quixotic-9 reasons")
    events = [e["event"] for e in logs]
    assert events[0] == "dispute_filed" and events[-1] == "dispute_resolved"
    assert "gold_key_corrected" in events
    text = repr(logs)
    for secret in ("Zanzibar", "Quixotic", "0.35", "watch", "benign", "refer", "severity"):
        assert secret not in text, secret


async def test_lists_show_a_contractor_their_own_and_a_client_its_projects_queue(
    quality_deps: Deps, clock: FakeClock
) -> None:
    s = await scene(quality_deps, clock)
    first = await dispute(s.deps, s.g0["ann"][0])
    clock.advance(timedelta(minutes=1))
    second = await dispute(s.deps, s.other["ann"][0], key="k2")
    clock.advance(timedelta(minutes=1))
    carls = await dispute(s.deps, s.g0["carl"][0], caller=CARL)
    await resolve(s.deps, second.dispute_id)  # dismissed

    assert [d.dispute_id for d in await mine(s.deps)] == [second.dispute_id, first.dispute_id]
    assert [d.dispute_id for d in await mine(s.deps, CARL)] == [carls.dispute_id]
    assert all(d.gold_id == "" for d in await mine(s.deps))
    pages, token = [], ""
    while True:
        request = api.ListDisputesRequest(project_id="p1", page_size=1, page_token=token)
        page = await disputes_api.list_disputes(request, ACME, s.deps)
        pages += [d.dispute_id for d in page.disputes]
        if not (token := page.next_page_token):
            break
    # Open ones first, oldest first; then resolved.
    assert pages == [first.dispute_id, carls.dispute_id, second.dispute_id]
    only = await listed(s.deps, OPERATOR, state=api.DISPUTE_STATE_DISMISSED)
    assert [d.dispute_id for d in only] == [second.dispute_id]
    refusals = []
    for caller, project in ((GLOBEX, "p1"), (ACME, "nope")):
        with pytest.raises(NotFound) as err:
            request = api.ListDisputesRequest(project_id=project)
            await disputes_api.list_disputes(request, caller, s.deps)
        refusals.append(err.value.message.replace(project, "?"))
    assert refusals[0] == refusals[1]
    with pytest.raises(InvalidArgument) as bad:
        await disputes_api.list_disputes(api.ListDisputesRequest(), ACME, s.deps)
    assert bad.value.field == "project_id"


async def test_concurrent_filings_make_one_dispute(quality_deps: Deps, clock: FakeClock) -> None:
    s = await scene(quality_deps, clock)
    task = s.g0["ann"][0]
    same = await asyncio.gather(dispute(s.deps, task), dispute(s.deps, task))
    assert same[0] == same[1]
    task = s.other["ann"][0]
    outcomes = await asyncio.gather(
        dispute(s.deps, task, key="k2"), dispute(s.deps, task, key="k3"), return_exceptions=True
    )
    assert sorted(type(o).__name__ for o in outcomes) == ["AlreadyExists", "Dispute"]
    assert await s.deps.pool.fetchval("SELECT count(*) FROM disputes") == 2
    assert len(await published(s.deps)) == 2


async def test_concurrent_corrections_of_one_gold_task_correct_it_once(
    quality_deps: Deps, clock: FakeClock
) -> None:
    s = await scene(quality_deps, clock)
    anns = await dispute(s.deps, s.g0["ann"][0])
    carls = await dispute(s.deps, s.g0["carl"][0], caller=CARL)
    both = await asyncio.gather(
        resolve(s.deps, anns.dispute_id, correct=BENIGN),
        resolve(s.deps, carls.dispute_id, correct=BENIGN),
    )
    assert [d.state for d in both] == [api.DISPUTE_STATE_CORRECTED] * 2
    assert both[0].accepted_submission_ids == both[1].accepted_submission_ids
    assert await s.deps.pool.fetchval("SELECT count(*) FROM gold_key_versions") == 1
    assert len(await published(s.deps)) == 4  # two filings, two resolutions
