"""Gold tasks and quality policies as a client manages them, through the quality
service's handlers on a real database: projects learnt from ProjectChanged, keys
checked against the project's current answer spec (each refusal naming its field,
nothing stored), idempotency keys, another client's project answered as an unknown
one, and the gold share's bounds and default."""

from __future__ import annotations

import pytest
from gold_support import (
    ACME,
    GLOBEX,
    SPEC,
    add,
    deliver,
    ids,
    item,
    project_changed,
)

from crewline.answers import AnswerSpec
from crewline.auth.principal import OPERATOR, Kind, Principal
from crewline.errors import FailedPrecondition, InvalidArgument, NotFound
from crewline.timekeeping import FakeClock
from quality.deps import Deps
from quality.domain import gold, issuing
from quality.domain.gold_keys import FieldRule
from quality.handlers.gold import get_policy, list_gold_tasks, set_policy

ANN = Principal(Kind.CONTRACTOR, "ann")


async def stored(deps: Deps) -> int:
    return int(await deps.pool.fetchval("SELECT count(*) FROM gold_tasks"))


async def listed(deps: Deps, caller: Principal = ACME) -> list[str]:
    found, token = await list_gold_tasks(gold.list_gold(caller, project_id="p1"), deps)
    assert token == ""
    return ids(found)


async def test_gold_is_added_in_order_and_a_key_used_again_returns_the_same_gold_task(
    quality_deps: Deps, clock: FakeClock
) -> None:
    deps = quality_deps
    await deliver(deps, project_changed())
    rule = FieldRule(field="severity", also_accepted=("watch",))
    first = await add(deps, item(0, '{"severity": "refer"}', rule), item(1, '{"confidence": 0.5}'))
    assert [g.idempotency_key for g in first] == ["g0", "g1"]
    assert first[0].rules == (rule,)
    assert (first[0].answered, first[0].correct, first[0].created_at) == (0, 0, clock.now())

    again = await add(deps, item(2, '{"signs": ["rash"]}'), item(1, '{"confidence": 0.5}'))
    assert ids(again)[1] == ids(first)[1]
    assert await listed(deps) == [*ids(first), ids(again)[0]]

    with pytest.raises(InvalidArgument) as err:
        await add(deps, item(3), item(1, '{"confidence": 0.55}'))
    assert err.value.field == "gold_tasks[1].idempotency_key"
    assert await stored(deps) == 3  # g3 was not kept either


async def test_a_key_used_before_returns_its_gold_task_after_the_spec_changed(
    quality_deps: Deps,
) -> None:
    deps = quality_deps
    await deliver(deps, project_changed())
    [before] = await add(deps, item(0, '{"confidence": 0.5}'))
    await deliver(deps, project_changed(revision=2, spec=AnswerSpec(version=2, fields=())))
    assert ids(await add(deps, item(0, '{"confidence": 0.5}'))) == ids([before])
    with pytest.raises(FailedPrecondition):  # a new key needs a spec to fit
        await add(deps, item(0, '{"confidence": 0.5}'), item(1))


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        (item(1, "{"), "gold_tasks[1].answer_json"),
        (item(1, '{"severity": "urgent"}'), "gold_tasks[1].answer_json.severity"),
        (item(1, '{"confidence": 2}'), "gold_tasks[1].answer_json.confidence"),
        (item(1, '{"colour": "red"}'), "gold_tasks[1].answer_json.colour"),
        (item(1, '{"notes": "' + "x" * 201 + '"}'), "gold_tasks[1].answer_json.notes"),
        (item(1, "{}"), "gold_tasks[1].answer_json"),
        (
            item(1, '{"severity": "refer"}', FieldRule(field="signs")),
            "gold_tasks[1].rules[0].field",
        ),
        (
            item(1, '{"signs": ["rash"]}', FieldRule(field="signs", also_accepted=("itch",))),
            "gold_tasks[1].rules[0].also_accepted",
        ),
        (
            item(1, '{"severity": "refer"}', FieldRule(field="severity", also_accepted=("x",))),
            "gold_tasks[1].rules[0].also_accepted[0]",
        ),
        (
            item(1, '{"severity": "refer"}', FieldRule(field="severity", tolerance=1)),
            "gold_tasks[1].rules[0].tolerance",
        ),
        (
            item(1, '{"confidence": 0.5}', FieldRule(field="confidence", tolerance=-0.1)),
            "gold_tasks[1].rules[0].tolerance",
        ),
    ],
)
async def test_a_gold_task_that_does_not_fit_is_refused_naming_its_field_and_nothing_is_stored(
    quality_deps: Deps, bad: gold.GoldInput, field: str
) -> None:
    deps = quality_deps
    await deliver(deps, project_changed())
    with pytest.raises(InvalidArgument) as err:
        await add(deps, item(0), bad)
    assert err.value.field == field
    assert await stored(deps) == 0


async def test_another_clients_project_is_not_found_as_an_unknown_one(quality_deps: Deps) -> None:
    deps = quality_deps
    await deliver(deps, project_changed())
    await add(deps, item(0))
    refusals = []
    for caller, project in ((GLOBEX, "p1"), (ACME, "nope")):
        with pytest.raises(NotFound) as err:
            await add(deps, item(1), project_id=project, caller=caller)
        refusals.append(err.value.message.replace(project, "?"))
        with pytest.raises(NotFound):
            await list_gold_tasks(gold.list_gold(caller, project_id=project), deps)
        with pytest.raises(NotFound):
            await get_policy(gold.project_ref(caller, project), deps)
        with pytest.raises(NotFound):
            cmd = issuing.set_policy(client_id=caller.id, project_id=project, gold_share_percent=9)
            await set_policy(cmd, deps)
    assert refusals[0] == refusals[1]  # the same words: nothing tells them apart
    with pytest.raises(NotFound):
        gold.list_gold(ANN, project_id="p1")
    assert await stored(deps) == 1
    assert len(await listed(deps, OPERATOR)) == 1  # an operator reads any project's


async def test_a_project_without_an_answer_spec_takes_no_gold(quality_deps: Deps) -> None:
    deps = quality_deps
    await deliver(deps, project_changed(spec=None), project_changed("p2"))
    with pytest.raises(FailedPrecondition) as err:
        await add(deps, item(0))
    assert err.value.reason == "NO_ANSWER_SPEC"
    assert "answer_spec" in err.value.message
    # A spec removed (a version with no fields) is none either; an older revision that
    # still had one arrives late and changes nothing.
    await deliver(deps, project_changed("p2", revision=3, spec=AnswerSpec(version=2, fields=())))
    await deliver(deps, project_changed("p2", revision=2, spec=SPEC))
    with pytest.raises(FailedPrecondition):
        await add(deps, item(0), project_id="p2")
    assert await stored(deps) == 0


async def test_the_gold_share_defaults_to_5_and_takes_0_to_50(
    quality_deps: Deps, clock: FakeClock
) -> None:
    deps = quality_deps
    await deliver(deps, project_changed())
    assert (await get_policy(gold.project_ref(ACME, "p1"), deps)).gold_share_percent == 5
    cmd = issuing.set_policy(client_id="acme", project_id="p1", gold_share_percent=0)
    assert (await set_policy(cmd, deps)).gold_share_percent == 0
    cmd = issuing.set_policy(client_id="acme", project_id="p1", gold_share_percent=None)
    assert (await set_policy(cmd, deps)).gold_share_percent == 0  # unset: kept
    cmd = issuing.set_policy(client_id="acme", project_id="p1", gold_share_percent=50)
    await set_policy(cmd, deps)
    assert (await get_policy(gold.project_ref(OPERATOR, "p1"), deps)).gold_share_percent == 50
    with pytest.raises(InvalidArgument) as err:
        issuing.set_policy(client_id="acme", project_id="p1", gold_share_percent=51)
    assert err.value.field == "policy.gold_share_percent"


async def test_gold_pages_run_oldest_first(quality_deps: Deps) -> None:
    deps = quality_deps
    await deliver(deps, project_changed())
    added = await add(deps, *(item(n) for n in range(5)))
    seen: list[str] = []
    token = ""
    while True:
        query = gold.list_gold(ACME, project_id="p1", page_size=2, page_token=token)
        page, token = await list_gold_tasks(query, deps)
        seen += ids(page)
        if not token:
            break
    assert seen == ids(added)
    with pytest.raises(InvalidArgument) as err:
        gold.list_gold(ACME, project_id="p1", page_token="forged")
    assert err.value.field == "page_token"
