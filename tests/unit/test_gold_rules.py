"""Gold tasks' pure rules in the quality service: how a key is checked against the
project's answer spec (each refusal naming its field), how an answer is scored against
it, what AddGoldTasks checks before the project is read, the policy's bounds, and the
issue probability and the pick among gold not yet met."""

from __future__ import annotations

import math
import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from fractions import Fraction

import pytest

from crewline.answers import AnswerField, AnswerSpec, Choice, Criterion, Rubric, Scale, Text
from crewline.auth.principal import Kind, Principal
from crewline.errors import InvalidArgument
from crewline.payloads import MAX_PAYLOAD_BYTES
from quality.domain.gold import GoldInput, add_gold
from quality.domain.gold_keys import (
    MAX_KEY_BYTES,
    FieldRule,
    KeyChecker,
    KeyedField,
    KeyKind,
    correct,
    key_from_json,
    key_to_json,
    needs_review,
)
from quality.domain.issuing import (
    LAPSE_GRACE,
    issue_probability,
    lapses_at,
    pick,
    set_policy,
    wants_gold,
)

SPEC = AnswerSpec(
    version=1,
    fields=(
        AnswerField(name="severity", kind=Choice(labels=("benign", "watch", "refer"))),
        AnswerField(name="signs", kind=Choice(labels=("rash", "itch", "scale"), multiple=True)),
        AnswerField(name="confidence", kind=Scale(min=0, max=1, step=0.05)),
        AnswerField(name="size", optional=True, kind=Scale(min=0, max=1e23)),
        AnswerField(name="notes", kind=Text(max_length=200)),
        AnswerField(
            name="quality",
            kind=Rubric(criteria=(Criterion(name="focus", scale=Scale(min=1, max=5, step=1)),)),
        ),
    ),
)
ACME = Principal(Kind.CLIENT, "acme")


def key(answer: str, *rules: FieldRule) -> dict[str, KeyedField]:
    return KeyChecker(SPEC).key(answer, rules, field="gold_tasks[0]")


def refusal(answer: str, *rules: FieldRule) -> InvalidArgument:
    with pytest.raises(InvalidArgument) as err:
        KeyChecker(SPEC).key(answer, rules, field="gold_tasks[0]")
    return err.value


# Scoring


@pytest.mark.parametrize(
    ("answer", "right"),
    [
        (b'{"severity": "refer"}', True),
        (b'{"severity": "watch"}', True),  # also accepted
        (b'{"severity": "benign"}', False),
        (b'{"severity": ["refer"]}', False),  # not a label
        (b'{"confidence": 0.85}', False),  # the keyed field is missing
        (b'{"severity": "refer", "notes": "anything", "confidence": 0.1}', True),  # unkeyed
        (b"not json", False),
        (b'["refer"]', False),
        (b'{"severity": NaN}', False),
        (b"\xff", False),
    ],
)
def test_a_single_choice_is_right_as_the_key_or_a_label_also_accepted(
    answer: bytes, right: bool
) -> None:
    k = key('{"severity": "refer"}', FieldRule(field="severity", also_accepted=("watch",)))
    assert correct(k, answer) is right


@pytest.mark.parametrize(
    ("answer", "right"),
    [
        (b'{"signs": ["itch", "rash"]}', True),  # any order
        (b'{"signs": ["rash"]}', False),  # a subset
        (b'{"signs": ["rash", "itch", "scale"]}', False),  # a superset
        (b'{"signs": "rash"}', False),
    ],
)
def test_a_multiple_choice_is_right_as_the_same_set(answer: bytes, right: bool) -> None:
    assert correct(key('{"signs": ["rash", "itch"]}'), answer) is right


@pytest.mark.parametrize(
    ("answer", "tolerance", "right"),
    [
        (b'{"confidence": 0.85}', 0.0, True),
        (b'{"confidence": 0.9}', 0.0, False),
        (b'{"confidence": 0.95}', 0.1, True),
        (b'{"confidence": 0.75}', 0.1, True),
        (b'{"confidence": 0.7}', 0.1, False),
        (b'{"confidence": 1}', 0.15, True),  # an integer is a number too
        (b'{"confidence": true}', 1.0, False),  # a boolean is not
        (b'{"confidence": 1e400}', 1.0, False),  # infinity
    ],
)
def test_a_number_is_right_within_its_tolerance(
    answer: bytes, tolerance: float, right: bool
) -> None:
    k = key('{"confidence": 0.85}', FieldRule(field="confidence", tolerance=tolerance))
    assert correct(k, answer) is right


def test_numbers_are_compared_as_written_not_as_binary_floats() -> None:
    assert 0.8 - 0.7 > 0.1  # 0.10000000000000009
    k = key('{"confidence": 0.7}', FieldRule(field="confidence", tolerance=0.1))
    assert correct(k, b'{"confidence": 0.8}')
    assert correct(k, b'{"confidence": 0.6}')
    assert not correct(k, b'{"confidence": 0.85}')


def test_an_answer_is_right_only_when_every_keyed_field_is() -> None:
    k = key('{"severity": "refer", "confidence": 0.5}')
    assert correct(k, b'{"severity": "refer", "confidence": 0.5}')
    assert not correct(k, b'{"severity": "refer", "confidence": 0.55}')
    assert not correct(k, b'{"severity": "watch", "confidence": 0.5}')


def test_a_key_round_trips_through_its_stored_form() -> None:
    k = KeyChecker(SPEC).key(
        '{"severity": "refer", "size": 1e23, "signs": ["rash"]}',
        (FieldRule(field="severity", also_accepted=("watch", "watch")),),
        field="gold_tasks[0]",
    )
    back = key_from_json(key_to_json(k))
    assert back == k
    assert back["size"].value == 1e23
    assert back["severity"].also_accepted == ("watch",)  # each label once


# Text and rubric fields: the reviewer's to judge


def test_text_and_rubric_keys_are_kept_for_the_reviewer_and_need_review() -> None:
    k = key('{"severity": "refer", "notes": "a rash", "quality": {"focus": 4}}')
    assert (k["notes"].kind, k["notes"].value) == (KeyKind.TEXT, "a rash")
    assert (k["quality"].kind, k["quality"].value) == (KeyKind.RUBRIC, {"focus": 4})
    assert needs_review(k) and not needs_review(key('{"severity": "refer"}'))
    assert key_from_json(key_to_json(k)) == k
    # Only the automatic fields are scored here; the review judges the others.
    assert correct(k, b'{"severity": "refer", "notes": "other words", "quality": {"focus": 1}}')
    assert correct(k, b'{"severity": "refer"}')
    assert not correct(k, b'{"severity": "watch", "notes": "a rash", "quality": {"focus": 4}}')
    only_text = key('{"notes": "a rash"}')
    assert needs_review(only_text) and correct(only_text, b'{"notes": "anything"}')
    assert not correct(only_text, b"not json")


@pytest.mark.parametrize(
    ("rule", "field", "words"),
    [
        (FieldRule(field="notes", tolerance=0.5), "rules[0].tolerance", "'notes' is a text field"),
        (
            FieldRule(field="quality", also_accepted=("refer",)),
            "rules[0].also_accepted",
            "'quality' is a rubric field",
        ),
    ],
)
def test_a_text_or_rubric_field_takes_no_rule(rule: FieldRule, field: str, words: str) -> None:
    err = refusal('{"notes": "a rash", "quality": {"focus": 4}}', rule)
    assert err.field == f"gold_tasks[0].{field}"
    assert words in err.problem


# Checking a key against the spec


def test_a_key_may_leave_required_fields_out() -> None:
    assert set(key('{"confidence": 0.5}')) == {"confidence"}


@pytest.mark.parametrize(
    ("answer", "field", "words"),
    [
        ("not json", "gold_tasks[0].answer_json", "must be a JSON object"),
        ("[1]", "gold_tasks[0].answer_json", "must be a JSON object"),
        ("{}", "gold_tasks[0].answer_json", "at least one field"),
        ('{"severity": "urgent"}', "gold_tasks[0].answer_json.severity", "not one of"),
        ('{"colour": "red"}', "gold_tasks[0].answer_json.colour", "not in the answer spec"),
        ('{"confidence": 0.33}', "gold_tasks[0].answer_json.confidence", "steps"),
        ('{"notes": 3}', "gold_tasks[0].answer_json.notes", "string"),
        ('{"notes": "' + "x" * 201 + '"}', "gold_tasks[0].answer_json.notes", "200"),
        ('{"quality": {"focus": 3.5}}', "gold_tasks[0].answer_json.quality.focus", "steps"),
        ('{"quality": {}}', "gold_tasks[0].answer_json.quality.focus", "required"),
    ],
)
def test_a_key_that_does_not_fit_is_refused_naming_its_field(
    answer: str, field: str, words: str
) -> None:
    err = refusal(answer)
    assert err.field == field
    assert words in err.problem


def test_a_key_over_its_size_is_refused() -> None:
    big = '{"severity": "refer"' + " " * MAX_KEY_BYTES + "}"
    assert refusal(big).field == "gold_tasks[0].answer_json"


@pytest.mark.parametrize(
    ("rules", "field", "words"),
    [
        ((FieldRule(field="confidence", tolerance=0.1),), "rules[0].field", "not in the key"),
        (
            (FieldRule(field="severity"), FieldRule(field="severity")),
            "rules[1].field",
            "has a rule already (rules[0])",
        ),
        (
            (FieldRule(field="signs", also_accepted=("itch",)),),
            "rules[0].also_accepted",
            "only a single-choice field",
        ),
        (
            (FieldRule(field="severity", also_accepted=("watch", "urgent")),),
            "rules[0].also_accepted[1]",
            "'urgent' is not one of benign|watch|refer",
        ),
        (
            (FieldRule(field="severity", tolerance=0.5),),
            "rules[0].tolerance",
            "only a number field takes a tolerance",
        ),
        (
            (FieldRule(field="size", also_accepted=("watch",)),),
            "rules[0].also_accepted",
            "is a number field",
        ),
    ],
)
def test_a_rule_that_does_not_fit_is_refused_naming_its_field(
    rules: tuple[FieldRule, ...], field: str, words: str
) -> None:
    err = refusal('{"severity": "refer", "signs": ["rash"], "size": 3}', *rules)
    assert err.field == f"gold_tasks[0].{field}"
    assert words in err.problem


# AddGoldTasks before the project is read


def gold(n: int = 0, **fields: object) -> GoldInput:
    base = GoldInput(
        idempotency_key=f"g{n}", payload_json='{"image": 1}', answer_json='{"severity": "refer"}'
    )
    return replace(base, **fields)  # type: ignore[arg-type]


def add_refusal(*items: GoldInput, project_id: str = "p1") -> InvalidArgument:
    with pytest.raises(InvalidArgument) as err:
        add_gold(ACME, project_id=project_id, gold=items)
    return err.value


@pytest.mark.parametrize(
    ("item", "field"),
    [
        (gold(idempotency_key=""), "gold_tasks[1].idempotency_key"),
        (gold(idempotency_key="a b"), "gold_tasks[1].idempotency_key"),
        (gold(payload_json=None), "gold_tasks[1].payload"),
        (gold(payload_json="{"), "gold_tasks[1].payload_json"),
        (gold(payload_json='"' + "x" * MAX_PAYLOAD_BYTES + '"'), "gold_tasks[1].payload_json"),
        (gold(payload_json=None, payload_bytes=b""), "gold_tasks[1].payload_bytes"),
        (gold(answer_json=""), "gold_tasks[1].answer_json"),
        (gold(project_id="p2"), "gold_tasks[1].project_id"),
        (gold(rules=(FieldRule(field="size", tolerance=-1),)), "gold_tasks[1].rules[0].tolerance"),
        (
            gold(rules=(FieldRule(field="a"), FieldRule(field="size", tolerance=math.nan))),
            "gold_tasks[1].rules[1].tolerance",
        ),
        (
            gold(rules=(FieldRule(field="s", tolerance=math.inf),)),
            "gold_tasks[1].rules[0].tolerance",
        ),
        (gold(0, answer_json='{"severity": "watch"}'), "gold_tasks[1].idempotency_key"),
    ],
)
def test_add_gold_refuses_a_bad_gold_task_naming_its_field(item: GoldInput, field: str) -> None:
    assert add_refusal(gold(0), item).field == field


def test_add_gold_takes_1_to_1000_gold_tasks_and_a_project() -> None:
    assert add_refusal().field == "gold_tasks"
    assert add_refusal(*(gold(n) for n in range(1001))).field == "gold_tasks"
    assert add_refusal(gold(), project_id="").field == "project_id"
    cmd = add_gold(
        ACME,
        project_id="p1",
        gold=[gold(0), gold(0), gold(1, payload_json=None, payload_bytes=b"\x00")],
    )
    assert (cmd.client_id, cmd.project_id, len(cmd.gold)) == ("acme", "p1", 3)


def test_the_fingerprint_covers_the_payload_the_key_and_the_rules() -> None:
    one = gold()
    assert one.fingerprint() == gold().fingerprint()
    for other in (
        gold(payload_json='{"image": 2}'),
        gold(payload_json=None, payload_bytes=b'{"image": 1}'),
        gold(answer_json='{"severity": "watch"}'),
        gold(rules=(FieldRule(field="severity", also_accepted=("watch",)),)),
    ):
        assert other.fingerprint() != one.fingerprint()


# The policy and issuing


@pytest.mark.parametrize("share", [-1, 51, 100])
def test_a_gold_share_outside_0_to_50_is_refused(share: int) -> None:
    with pytest.raises(InvalidArgument) as err:
        set_policy(client_id="acme", project_id="p1", gold_share_percent=share)
    assert err.value.field == "policy.gold_share_percent"


def test_a_policy_names_its_project() -> None:
    with pytest.raises(InvalidArgument) as err:
        set_policy(client_id="acme", project_id="", gold_share_percent=5)
    assert err.value.field == "policy.project_id"
    assert (
        set_policy(client_id="acme", project_id="p1", gold_share_percent=None).gold_share_percent
        is None
    )


@pytest.mark.parametrize(
    ("share", "q"),
    [(0, Fraction(0)), (5, Fraction(1, 19)), (20, Fraction(1, 4)), (50, Fraction(1))],
)
def test_the_issue_probability_makes_gold_the_share_of_what_is_taken(
    share: int, q: Fraction
) -> None:
    assert issue_probability(share) == q
    assert q / (1 + q) == Fraction(share, 100)  # gold per task taken


class Draws:
    """A random source that returns what it is told."""

    def __init__(self, draw: float, index: int = 0) -> None:
        self.draw, self.index, self.asked = draw, index, 0

    def random(self) -> float:
        self.asked += 1
        return self.draw

    def randrange(self, stop: int, /) -> int:
        assert 0 <= self.index < stop
        return self.index


def test_a_draw_brings_gold_below_the_probability_only() -> None:
    assert wants_gold(5, Draws(0.0526))  # 1/19 = 0.05263...
    assert not wants_gold(5, Draws(0.0527))
    assert wants_gold(50, Draws(0.999999))
    zero = Draws(0.0)
    assert not wants_gold(0, zero) and zero.asked == 0  # share 0: no draw at all


def test_the_pick_is_uniform_among_gold_not_met_and_none_when_gold_ran_out() -> None:
    assert pick(0, Draws(0.0)) is None
    assert pick(3, Draws(0.0, index=2)) == 2
    rng = random.Random(7)
    counts = [0] * 4
    for _ in range(4000):
        index = pick(4, rng)
        assert index is not None
        counts[index] += 1
    assert all(900 < c < 1100 for c in counts)


def test_over_many_claims_gold_is_about_its_share() -> None:
    """The process as the service runs it: after an ordinary task, a draw; gold, when
    drawn, is the next task taken (one open at a time, gold draws nothing)."""
    rng = random.Random(11)
    for share in (5, 20, 50):
        taken = gold_taken = 0
        due = False
        while taken < 40_000:
            taken += 1
            if due:
                gold_taken += 1
                due = False
            else:
                due = wants_gold(share, rng)
        assert abs(gold_taken / taken - share / 100) < 0.01


def test_an_unclaimed_gold_task_lapses_after_the_projects_task_lifetime() -> None:
    at = datetime(2026, 1, 1, tzinfo=UTC)
    assert lapses_at(at, 3600) == at + timedelta(hours=1) + LAPSE_GRACE
    assert lapses_at(at, 0) == at + timedelta(days=7) + LAPSE_GRACE
