"""Rules in the quality policy and the sanctions of reviews and time flags, through the
quality service's handlers on a real database: a bad rule is refused naming its field
and nothing is stored; the update mask replaces exactly what it names; rejections put a
contractor under review-everything with the reviews and feedback as evidence; a
time-flag share rule counts submissions and flags learnt in either order; contractors
list only their own sanctions, clients only their projects'."""

from __future__ import annotations

from datetime import timedelta

import pytest
from gold_support import ACME, GLOBEX, deliver, new_id, project_changed
from sanction_support import (
    ANN,
    BOB,
    OPERATOR,
    accepted,
    changes,
    flagged,
    gold_project,
    handed_in,
    listed,
    mine,
    rejected,
    rule_input,
    set_rules,
)

from crewline.errors import InvalidArgument, NotFound
from crewline.protobuf import from_timestamp
from crewline.timekeeping import FakeClock
from crewline.v1 import quality_service_pb2 as api
from quality.deps import Deps
from quality.domain import gold, issuing
from quality.domain.rules import DEFAULT_DURATION, RuleAction, RuleMeasure
from quality.domain.sanctions import SanctionState
from quality.handlers.gold import get_policy, set_policy

RATE = RuleMeasure.ACCEPTANCE_RATE
FLAGS = RuleMeasure.TIME_FLAG_SHARE


async def test_a_bad_rule_is_refused_naming_its_field_and_nothing_is_stored(
    quality_deps: Deps,
) -> None:
    deps = quality_deps
    await deliver(deps, project_changed())
    await set_rules(deps, rule_input("keep"))
    bad = [rule_input("a"), rule_input("b"), rule_input("c", below=101)]
    with pytest.raises(InvalidArgument) as err:
        issuing.set_policy(
            client_id="acme", project_id="p1", gold_share_percent=7, rules=bad, update_mask=None
        )
    assert err.value.field == "policy.rules[2].below"
    policy = await get_policy(gold.project_ref(ACME, "p1"), deps)
    assert [r.rule_id for r in policy.rules] == ["keep"] and policy.gold_share_percent == 50


async def test_the_update_mask_replaces_exactly_the_paths_it_names(quality_deps: Deps) -> None:
    deps = quality_deps
    await deliver(deps, project_changed())
    await set_rules(deps, rule_input("a"), rule_input("b", action=RuleAction.NOTIFY))
    policy = await get_policy(gold.project_ref(ACME, "p1"), deps)
    a, b = policy.rules
    assert (a.min_sample, a.duration, b.duration) == (5, DEFAULT_DURATION, None)

    async def put(share: int | None, mask: list[str] | None, *rules: object) -> object:
        cmd = issuing.set_policy(
            client_id="acme",
            project_id="p1",
            gold_share_percent=share,
            rules=rules,  # type: ignore[arg-type]
            update_mask=mask,
        )
        return await set_policy(cmd, deps)

    kept = await put(9, None)  # no mask: the share set, the rules kept
    assert kept == policy.__class__(project_id="p1", gold_share_percent=9, rules=(a, b))
    only = await put(None, ["gold_share_percent"], rule_input("z"))
    assert only == policy.__class__(project_id="p1", gold_share_percent=5, rules=(a, b))
    none = await put(30, ["rules"])
    assert none == policy.__class__(project_id="p1", gold_share_percent=5, rules=())


async def test_rejections_put_a_contractor_under_review_of_everything(
    quality_deps: Deps, clock: FakeClock
) -> None:
    deps = await gold_project(
        quality_deps,
        rule_input(
            "sloppy", RATE, min_sample=3, action=RuleAction.REVIEW_ALL, duration=timedelta(hours=2)
        ),
    )
    handed = clock.now()
    await deliver(deps, handed_in("s1", clock))
    clock.advance(timedelta(minutes=5))
    for n, note in enumerate(["wrong label", "", "missed the rash"], start=1):
        await deliver(deps, rejected(f"s{n}", clock, feedback=note))
        clock.advance(timedelta(minutes=1))
    [(key, event, envelope)] = await changes(deps)
    assert key == b"ann" and b"rash" not in envelope
    s = event.sanction
    assert (s.action, s.state, s.measured_value, s.sample) == (
        api.RULE_ACTION_REVIEW_ALL,
        api.SANCTION_STATE_ACTIVE,
        13,  # 0.5 / 4
        3,
    )
    assert from_timestamp(s.ends_at) - from_timestamp(s.imposed_at) == timedelta(hours=2)
    [sanction] = await mine(deps)
    assert [(e.kind, e.submission_id, e.accepted, e.feedback) for e in sanction.evidence] == [
        ("review", "s3", False, "missed the rash"),
        ("review", "s2", False, None),
        ("review", "s1", False, "wrong label"),
    ]
    assert sanction.evidence[2].submitted_at == handed  # its WorkSubmitted's time


async def test_acceptances_bring_a_notice_that_ends_as_it_is_given(
    quality_deps: Deps, clock: FakeClock
) -> None:
    rule = rule_input("thanks", RATE, below=None, above=80, min_sample=2, action=RuleAction.NOTIFY)
    deps = await gold_project(quality_deps, rule)
    await deliver(deps, accepted("s1", clock, feedback="great"))
    assert await mine(deps) == []
    await deliver(deps, accepted("s2", clock))
    [notice] = await mine(deps)
    assert (notice.state, notice.ended_at, notice.measured_value) == (
        SanctionState.ENDED,
        clock.now(),
        83,
    )
    assert [e.feedback for e in notice.evidence] == [None, "great"]
    [(_, event, _)] = await changes(deps)
    assert (event.version, event.sanction.state) == (1, api.SANCTION_STATE_ENDED)


async def test_a_time_flag_share_rule_counts_flags_learnt_in_either_order(
    quality_deps: Deps, clock: FakeClock
) -> None:
    deps = await gold_project(quality_deps, rule_input("rushed", FLAGS, below=None, above=40))
    for n in (1, 2):
        await deliver(deps, handed_in(f"s{n}", clock))
        clock.advance(timedelta(minutes=1))
    await deliver(deps, flagged("s3", clock), handed_in("s3", clock))  # the flag first
    clock.advance(timedelta(minutes=1))
    await deliver(deps, handed_in("s4", clock))
    clock.advance(timedelta(minutes=1))
    await deliver(deps, handed_in("s5", clock), flagged("s5", clock))
    assert await mine(deps) == []  # 2 of 5 flagged = 40: not above 40
    await deliver(deps, flagged("s1", clock), flagged("s1", clock))  # the second: a copy
    [sanction] = await mine(deps)
    assert (sanction.measured_value, sanction.sample, sanction.action) == (
        60,
        5,
        RuleAction.SUSPEND,
    )
    assert [(e.kind, e.submission_id, e.flagged) for e in sanction.evidence] == [
        ("flag", "s5", True),
        ("flag", "s4", False),
        ("flag", "s3", True),
        ("flag", "s2", False),
        ("flag", "s1", True),
    ]
    assert len(await changes(deps)) == 1


async def test_contractors_list_their_own_and_clients_their_projects_sanctions(
    quality_deps: Deps, clock: FakeClock
) -> None:
    rule = rule_input("thanks", RATE, below=None, above=50, min_sample=1, action=RuleAction.NOTIFY)
    deps = await gold_project(quality_deps, rule)
    await deliver(deps, accepted("s1", clock))
    clock.advance(timedelta(minutes=1))
    await deliver(deps, project_changed("p2", client="globex"))
    await set_rules(deps, rule, project="p2", client="globex")
    bob = accepted("s2", clock)
    bob.contractor_id, bob.project_id, bob.client_id = "bob", "p2", "globex"
    await deliver(deps, bob)
    clock.advance(timedelta(minutes=1))
    await deliver(deps, accepted(new_id(), clock))  # ann's second notice in p1

    assert [s.contractor_id for s in await mine(deps)] == ["ann", "ann"]
    assert [s.project_id for s in await mine(deps, BOB)] == ["p2"]
    assert await mine(deps, ANN, project_id="p2") == []
    page, token = await listed(deps, ACME, project_id="p1", page_size=1)
    assert len(page) == 1 and token
    rest, last = await listed(deps, ACME, project_id="p1", page_token=token)
    assert [s.imposed_at for s in page + rest] == sorted(
        (s.imposed_at for s in page + rest), reverse=True
    )
    assert len(rest) == 1 and last == ""
    assert [s.project_id for s in (await listed(deps, GLOBEX, project_id="p2"))[0]] == ["p2"]

    with pytest.raises(NotFound) as other:
        await listed(deps, GLOBEX, project_id="p1")
    with pytest.raises(NotFound) as unknown:
        await listed(deps, GLOBEX, project_id="p9")
    assert str(other.value).replace("p1", "p9") == str(unknown.value)
    with pytest.raises(InvalidArgument) as missing:
        await listed(deps, ACME)
    assert missing.value.field == "project_id"

    everyone, _ = await listed(deps, OPERATOR)
    assert len(everyone) == 3
    assert len((await listed(deps, OPERATOR, contractor_id="bob"))[0]) == 1
    assert (await listed(deps, OPERATOR, state=SanctionState.ACTIVE))[0] == []
