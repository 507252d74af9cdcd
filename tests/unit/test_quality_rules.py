"""Quality rules, pure: what a rule must be (each refusal naming its field), the
defaults filled in, the policy's update mask, when a rule acts, the time-flag share's
rounding, and a sanction's life (imposed, ended, lifted; a notice ends at once)."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from crewline.errors import InvalidArgument
from quality.domain import issuing
from quality.domain.rules import (
    DEFAULT_DURATION,
    Rule,
    RuleAction,
    RuleInput,
    RuleMeasure,
    check_rules,
    flag_share,
    rule_from_json,
    rule_to_json,
)
from quality.domain.sanctions import (
    EvidenceItem,
    Measured,
    SanctionState,
    Window,
    acting,
    close,
    fresh,
    impose,
    retired_gold,
)

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)


def rule(**kw: object) -> RuleInput:
    fields: dict[str, object] = {
        "rule_id": "careless",
        "measure": RuleMeasure.GOLD_ACCURACY,
        "below": 60,
        "above": None,
        "min_sample": None,
        "action": RuleAction.SUSPEND,
        "duration": None,
    }
    fields.update(kw)
    return RuleInput(**fields)  # type: ignore[arg-type]


def refusal(*rules: RuleInput) -> InvalidArgument:
    with pytest.raises(InvalidArgument) as err:
        check_rules(rules)
    return err.value


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        (rule(rule_id=""), "policy.rules[1].rule_id"),
        (rule(rule_id="Careless"), "policy.rules[1].rule_id"),
        (rule(rule_id="x" * 65), "policy.rules[1].rule_id"),
        (rule(rule_id="a b"), "policy.rules[1].rule_id"),
        (rule(measure=None), "policy.rules[1].measure"),
        (rule(action=None), "policy.rules[1].action"),
        (rule(below=None), "policy.rules[1].below"),
        (rule(below=101), "policy.rules[1].below"),
        (rule(below=-1), "policy.rules[1].below"),
        (rule(below=None, above=101), "policy.rules[1].above"),
        (rule(below=10, above=20), "policy.rules[1].above"),
        (rule(min_sample=0), "policy.rules[1].min_sample"),
        (rule(min_sample=1001), "policy.rules[1].min_sample"),
        (rule(duration=timedelta(minutes=59)), "policy.rules[1].duration"),
        (rule(duration=timedelta(days=90, seconds=1)), "policy.rules[1].duration"),
        (rule(duration=timedelta(hours=2, milliseconds=5)), "policy.rules[1].duration"),
        (rule(action=RuleAction.NOTIFY, duration=timedelta(days=1)), "policy.rules[1].duration"),
        (rule(rule_id="first"), "policy.rules[1].rule_id"),  # a repeat
    ],
)
def test_each_bad_rule_is_refused_naming_its_field(bad: RuleInput, field: str) -> None:
    err = refusal(rule(rule_id="first"), bad)
    assert err.field == field
    assert err.reason == "INVALID_FIELD"


def test_at_most_20_rules() -> None:
    assert len(check_rules([rule(rule_id=f"r{i}") for i in range(20)])) == 20
    assert refusal(*(rule(rule_id=f"r{i}") for i in range(21))).field == "policy.rules"


def test_defaults_are_filled_in_and_bounds_are_taken() -> None:
    suspend, notify, edge = check_rules(
        [
            rule(),
            rule(rule_id="n", action=RuleAction.NOTIFY, below=None, above=0),
            rule(rule_id="e", min_sample=1000, duration=timedelta(days=90), below=100),
        ]
    )
    assert (suspend.min_sample, suspend.duration) == (5, DEFAULT_DURATION)
    assert notify.duration is None and notify.above == 0
    assert (edge.min_sample, edge.duration) == (1000, timedelta(days=90))
    assert check_rules([rule(duration=timedelta(hours=1))])[0].duration == timedelta(hours=1)


def test_a_rule_acts_strictly_past_its_threshold_once_the_sample_is_large_enough() -> None:
    below = Rule(rule_id="b", measure=RuleMeasure.GOLD_ACCURACY, below=60, action=RuleAction.NOTIFY)
    above = replace(below, below=None, above=30, min_sample=3)
    assert below.acts(59, 5) and not below.acts(60, 5) and not below.acts(10, 4)
    assert above.acts(31, 3) and not above.acts(30, 3) and not above.acts(90, 2)


def test_the_flag_share_is_rounded_half_up() -> None:
    assert flag_share(1, 8) == 13  # 12.5
    assert flag_share(1, 3) == 33
    assert flag_share(2, 3) == 67
    assert flag_share(0, 0) == 0
    assert flag_share(5, 5) == 100


def test_a_rule_round_trips_through_its_stored_form() -> None:
    for r in check_rules([rule(), rule(rule_id="n", action=RuleAction.NOTIFY)]):
        assert rule_from_json(rule_to_json(r)) == r


@pytest.mark.parametrize(
    ("mask", "share", "rules", "expected"),
    [
        (None, None, [], (False, None)),  # nothing set: nothing replaced
        (None, 9, [], (True, None)),  # no mask: an empty list keeps the rules
        (None, None, [rule()], (False, 1)),
        (["rules"], 9, [], (False, 0)),  # the mask names rules: none left
        (["gold_share_percent"], None, [rule()], (True, None)),  # back to the default
    ],
)
def test_the_update_mask_says_what_is_replaced(
    mask: list[str] | None, share: int | None, rules: list[RuleInput], expected: tuple[bool, int]
) -> None:
    cmd = issuing.set_policy(
        client_id="acme", project_id="p1", gold_share_percent=share, rules=rules, update_mask=mask
    )
    assert (cmd.set_share, None if cmd.rules is None else len(cmd.rules)) == expected


def test_an_unknown_mask_path_is_refused() -> None:
    with pytest.raises(InvalidArgument) as err:
        issuing.set_policy(
            client_id="acme", project_id="p1", gold_share_percent=None, update_mask=["title"]
        )
    assert err.value.field == "update_mask"


def _window(n: int, *, gold: bool = True) -> Window:
    items = tuple(
        EvidenceItem(
            kind="gold" if gold else "flag",
            task_id=f"t{i}",
            submission_id=f"c{i}",
            submitted_at=NOW - timedelta(minutes=i),
            gold_id=uuid.UUID(int=i % 2) if gold else None,
        )
        for i in range(n)
    )
    return Window(items=items, newest=(NOW, "c0") if n else None)


def test_a_sanction_is_imposed_ended_and_lifted_and_a_notice_ends_at_once() -> None:
    [suspend, notify] = check_rules([rule(), rule(rule_id="n", action=RuleAction.NOTIFY)])
    measured = Measured(contractor_id="ann", project_id="p1", client_id="acme", value=20, sample=5)
    assert acting([suspend, notify], measured) == [suspend, notify]
    assert acting([suspend], replace(measured, sample=4)) == []
    s = impose(suspend, measured, _window(5), sanction_id=uuid.uuid4(), now=NOW)
    assert (s.state, s.ends_at, s.ended_at, s.version) == (
        SanctionState.ACTIVE,
        NOW + DEFAULT_DURATION,
        None,
        1,
    )
    assert len(s.evidence) == 5
    told = replace(s, evidence=(replace(s.evidence[0], answer_json='{"x": 4242}'),))
    assert "4242" not in repr(told)  # a sanction's repr never shows an answer
    ended = close(s, SanctionState.ENDED, now=NOW + DEFAULT_DURATION)
    assert (ended.state, ended.ended_at, ended.version) == (
        SanctionState.ENDED,
        NOW + DEFAULT_DURATION,
        2,
    )
    assert close(ended, SanctionState.LIFTED, now=NOW) is ended  # not active: unchanged
    n = impose(notify, measured, _window(5), sanction_id=uuid.uuid4(), now=NOW)
    assert (n.state, n.ends_at, n.ended_at) == (SanctionState.ENDED, None, NOW)
    assert retired_gold(s.evidence) == [uuid.UUID(int=0), uuid.UUID(int=1)]


def test_a_rule_fires_again_only_on_an_item_newer_than_its_last_sanction_rested_on() -> None:
    assert fresh(_window(3), None)
    assert not fresh(_window(3), (NOW, "c0"))
    assert fresh(_window(3), (NOW - timedelta(seconds=1), "c9"))
    assert not fresh(_window(0), None)
