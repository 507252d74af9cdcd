"""AnswerChecker at its edges: which of several errors is named (the spec's order, not
jsonschema-rs's nor the alphabet's), numbers past floats, lone surrogates, deep nesting."""

from __future__ import annotations

import json
from typing import Any

import pytest

from crewline.answer_check import REASON, AnswerChecker
from crewline.answers import AnswerField, AnswerSpec, Choice, Criterion, Rubric, Scale, Text
from crewline.errors import InvalidArgument

SPEC = AnswerSpec(
    fields=(
        AnswerField(name="verdict", kind=Choice(labels=("yes", "no"))),
        AnswerField(name="tags", kind=Choice(labels=("a", "b", "c"), multiple=True)),
        AnswerField(name="score", kind=Scale(min=1, max=5, step=0.5)),
        AnswerField(name="notes", optional=True, kind=Text(min_length=1, max_length=10)),
        AnswerField(
            name="rating",
            kind=Rubric(  # criteria out of the alphabet's order
                criteria=(
                    Criterion(name="tone", scale=Scale(min=0, max=4, step=1)),
                    Criterion(name="accuracy", scale=Scale(min=0, max=4, step=1)),
                )
            ),
        ),
    ),
    version=1,
)
CHECKER = AnswerChecker(SPEC)
GOOD: dict[str, Any] = {
    "verdict": "yes",
    "tags": ["a"],
    "score": 2.5,
    "notes": "fine",
    "rating": {"tone": 1, "accuracy": 2},
}
NOT_JSON = "result: must be a JSON object (the project has an answer spec)"


def refusal(result: bytes | str) -> InvalidArgument:
    raw = result.encode() if isinstance(result, str) else result
    with pytest.raises(InvalidArgument) as err:
        CHECKER.check(raw)
    assert err.value.reason == REASON
    return err.value


def good_with(name: str, raw_json: str) -> str:
    """GOOD with one field's value written as the raw JSON text given."""
    text = json.dumps({**GOOD, name: "@@"})
    return text.replace('"@@"', raw_json)


def test_the_good_result_fits() -> None:
    assert CHECKER.check(json.dumps(GOOD).encode()) == GOOD


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        # Two criteria wrong: the spec's first, though the other comes first alphabetically.
        ({"rating": {"tone": 9, "accuracy": 9}}, "result.rating.tone: 9 is above"),
        ({"rating": {"accuracy": 1.5, "tone": 0.5}}, "result.rating.tone: 0.5 is not on"),
        # A criterion missing and another wrong: the rubric's own error first.
        ({"rating": {"accuracy": 9}}, "result.rating.tone: is required"),
        # Two labels wrong: the first in the list.
        ({"tags": ["x", "y"]}, "result.tags[0]: 'x' is not one of a|b|c"),
        # Above the maximum and off the steps: the maximum, as the schema orders them.
        ({"score": 5.3}, "result.score: 5.3 is above the scale's maximum 5"),
        # Off the steps while another field is wrong later in the spec: the steps first.
        ({"score": 2.2, "notes": ""}, "result.score: 2.2 is not on the scale's steps"),
        # Off the steps with an earlier field wrong: that field.
        ({"score": 2.2, "verdict": "maybe"}, "result.verdict: 'maybe' is not one of yes|no"),
    ],
)
def test_of_several_errors_the_first_in_the_specs_order_is_named(
    answer: dict[str, Any], message: str
) -> None:
    assert str(refusal(json.dumps({**GOOD, **answer}))).startswith(message)


def test_unknown_members_are_named_in_the_results_order() -> None:
    extra = {**GOOD, "zzz": 1, "aaa": 2}
    assert refusal(json.dumps(extra)).field == "result.zzz"


@pytest.mark.parametrize(
    ("name", "raw", "message"),
    [
        ("score", "1e400", "result.score: inf is above the scale's maximum 5"),
        ("score", "-1e400", "result.score: -inf is below the scale's minimum 1"),
        ("score", "1" + "0" * 400, "result.score: 100000000000... (401 digits) is above"),
        ("notes", "1e400", "result.notes: must be text (a JSON string), not Infinity"),
        ("verdict", "-1e400", "result.verdict: -Infinity is not one of yes|no"),
        ("rating", '{"tone": 1e400, "accuracy": 1}', "result.rating.tone: inf is above"),
    ],
)
def test_numbers_past_floats_are_named_like_any_other(name: str, raw: str, message: str) -> None:
    assert str(refusal(good_with(name, raw))).startswith(message)


def test_a_lone_surrogate_is_refused_and_a_pair_fits() -> None:
    lone = refusal(good_with("notes", '"ab\\ud800c"'))
    assert lone.field == "result" and "surrogate" in str(lone)
    assert refusal(good_with("notes", '"\\udc00"')).field == "result"
    paired = good_with("notes", '"\\ud83d\\ude00 ok"')  # one character, escaped as a pair
    assert CHECKER.check(paired.encode())["notes"] == "\U0001f600 ok"
    hangul = good_with("notes", '"\\ud55c\\uae00"')  # U+D55C: below the surrogates
    assert CHECKER.check(hangul.encode())["notes"] == "\ud55c\uae00"


@pytest.mark.parametrize("depth", [300, 5000])
def test_a_result_nested_too_deeply_is_refused_whole(depth: int) -> None:
    deep = "[" * depth + "]" * depth
    err = refusal(json.dumps(GOOD)[:-1] + f', "extra": {deep}}}')
    assert err.field == "result"
    assert str(err).startswith(NOT_JSON)


def test_nesting_jsonschema_rs_can_show_is_named_precisely() -> None:
    nested = "[" * 100 + "]" * 100
    assert str(refusal(good_with("verdict", nested))).startswith("result.verdict: [[[[")
