"""Answer specs in the kernel: check_spec's rules, the stored and protobuf forms, and
AnswerChecker's verdict on results (the field it names, and in which order)."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from typing import Any

import pytest

from crewline import answers
from crewline.answer_check import REASON, AnswerChecker
from crewline.answers import (
    AnswerField,
    AnswerSpec,
    Choice,
    Criterion,
    FieldKind,
    Rubric,
    Scale,
    Text,
)
from crewline.errors import InvalidArgument
from crewline.protobuf import answer_spec_from_pb, answer_spec_to_pb
from crewline.v1 import project_pb2

SEVERITY = AnswerField(
    name="severity", prompt="How severe?", kind=Choice(labels=("mild", "severe"))
)
TAGS = AnswerField(name="tags", kind=Choice(labels=("rash", "itch", "pain"), multiple=True))
SCORE = AnswerField(name="score", kind=Scale(min=1, max=5, step=0.5))
NOTES = AnswerField(name="notes", optional=True, kind=Text(min_length=3, max_length=20))
QUALITY = AnswerField(
    name="quality",
    kind=Rubric(
        criteria=(
            Criterion(name="accuracy", description="Is it right?", scale=Scale(min=0, max=4)),
            Criterion(name="clarity", scale=Scale(min=0, max=4, step=1)),
        )
    ),
)
SPEC = AnswerSpec(fields=(SEVERITY, TAGS, SCORE, NOTES, QUALITY), version=3)


def field(kind: FieldKind | None, name: str = "f", **kw: Any) -> AnswerField:
    return AnswerField(name=name, kind=kind, **kw)


def spec_of(*fields: AnswerField) -> AnswerSpec:
    return AnswerSpec(fields=fields)


def refused(spec: AnswerSpec) -> InvalidArgument:
    with pytest.raises(InvalidArgument) as err:
        answers.check_spec(spec, field="answer_spec")
    return err.value


# --- check_spec ------------------------------------------------------------------------


def test_a_good_spec_is_taken_and_a_texts_zero_limit_becomes_the_most() -> None:
    checked = answers.check_spec(SPEC, field="answer_spec")
    assert checked == SPEC
    unlimited = answers.check_spec(spec_of(field(Text())), field="x")
    assert unlimited.fields[0].kind == Text(min_length=0, max_length=answers.MAX_TEXT)
    zero = answers.check_spec(spec_of(field(Text(max_length=0))), field="x")
    assert zero.fields[0].kind == Text(max_length=answers.MAX_TEXT)
    assert answers.check_spec(AnswerSpec(fields=()), field="x").fields == ()  # no spec


def test_the_limits_themselves_are_taken() -> None:
    labels = tuple(f"{i:03d}" + "x" * 97 for i in range(answers.MAX_LABELS))
    criteria = tuple(
        Criterion(name=f"c{i}", description="d" * 1000, scale=Scale(min=0, max=1, step=1))
        for i in range(answers.MAX_CRITERIA)
    )
    widest = (
        field(Choice(labels=labels), name="a" * 64, prompt="p" * 1000),
        field(Scale(min=-1e300, max=1e300, step=2e300), name="b"),
        field(Text(min_length=answers.MAX_TEXT, max_length=answers.MAX_TEXT), name="c"),
        field(Rubric(criteria=criteria), name="d"),
    )
    fifty = widest + tuple(field(Text(), name=f"f{i}") for i in range(46))
    assert len(answers.check_spec(spec_of(*fifty), field="x").fields) == answers.MAX_FIELDS


BAD = Scale(min=0, max=1)


@pytest.mark.parametrize(
    ("fields", "where", "words"),
    [
        # the fields
        ([field(Text(), name=f"f{i}") for i in range(51)], "fields", "0-50 entries"),
        ([SEVERITY, SCORE, replace(SEVERITY, prompt="")], "fields", "'severity' appears twice"),
        ([field(Text(), name="")], "fields[0].name", "lower-case letter"),
        ([field(Text(), name="Severity")], "fields[0].name", "lower-case letter"),
        ([field(Text(), name="1st")], "fields[0].name", "lower-case letter"),
        ([field(Text(), name="_x")], "fields[0].name", "lower-case letter"),
        ([field(Text(), name="a-b")], "fields[0].name", "lower-case letter"),
        ([field(Text(), name="a" * 65)], "fields[0].name", "1-64 characters"),
        ([SEVERITY, field(Text(), prompt="p" * 1001)], "fields[1].prompt", "at most 1000"),
        ([field(Text(), prompt="a\x00b")], "fields[0].prompt", "without NUL"),
        ([SEVERITY, field(None)], "fields[1].kind", "one of choice, number, text, rubric"),
        # choice
        ([field(Choice(labels=()))], "fields[0].choice.labels", "1-100 entries, not 0"),
        (
            [field(Choice(labels=tuple(str(i) for i in range(101))))],
            "fields[0].choice.labels",
            "1-100 entries, not 101",
        ),
        ([field(Choice(labels=("a", "")))], "fields[0].choice.labels[1]", "not blank"),
        ([field(Choice(labels=(" \t",)))], "fields[0].choice.labels[0]", "not blank"),
        ([field(Choice(labels=("x" * 101,)))], "fields[0].choice.labels[0]", "1-100"),
        ([field(Choice(labels=("a\x00",)))], "fields[0].choice.labels[0]", "1-100"),
        ([field(Choice(labels=("a", "b", "a")))], "fields[0].choice.labels", "'a' appears twice"),
        # number
        ([field(Scale(min=5, max=1))], "fields[0].number", "min 5 must be below max 1"),
        ([field(Scale(min=3, max=3))], "fields[0].number", "must be below"),
        ([field(Scale(min=math.nan, max=1))], "fields[0].number.min", "finite"),
        ([field(Scale(min=0, max=math.inf))], "fields[0].number.max", "finite"),
        ([field(Scale(min=0, max=1, step=math.nan))], "fields[0].number.step", "finite"),
        ([field(Scale(min=0, max=1, step=-0.5))], "fields[0].number.step", "up to max - min (1)"),
        ([field(Scale(min=0, max=1, step=1.5))], "fields[0].number.step", "up to max - min"),
        # text
        ([field(Text(max_length=100_001))], "fields[0].text.max_length", "between 0 and 100000"),
        ([field(Text(max_length=-1))], "fields[0].text.max_length", "between 0 and"),
        ([field(Text(min_length=-1))], "fields[0].text.min_length", "between 0 and max_length"),
        ([field(Text(min_length=11, max_length=10))], "fields[0].text.min_length", "(10)"),
        # rubric
        ([field(Rubric(criteria=()))], "fields[0].rubric.criteria", "1-30 entries, not 0"),
        (
            [field(Rubric(criteria=tuple(Criterion(name=f"c{i}", scale=BAD) for i in range(31))))],
            "fields[0].rubric.criteria",
            "1-30 entries, not 31",
        ),
        (
            [field(Rubric(criteria=(Criterion(name="c", scale=BAD),) * 2))],
            "fields[0].rubric.criteria",
            "'c' appears twice",
        ),
        (
            [
                field(
                    Rubric(
                        criteria=(Criterion(name="ok", scale=BAD), Criterion(name="No", scale=BAD))
                    )
                )
            ],
            "fields[0].rubric.criteria[1].name",
            "lower-case letter",
        ),
        (
            [field(Rubric(criteria=(Criterion(name="c", description="\x00", scale=BAD),)))],
            "fields[0].rubric.criteria[0].description",
            "without NUL",
        ),
        (
            [field(Rubric(criteria=(Criterion(name="c", scale=Scale(min=4, max=0)),)))],
            "fields[0].rubric.criteria[0].scale",
            "must be below",
        ),
        (
            [field(Rubric(criteria=(Criterion(name="c", scale=Scale(min=-math.inf, max=0)),)))],
            "fields[0].rubric.criteria[0].scale.min",
            "finite",
        ),
        (
            [field(Rubric(criteria=(Criterion(name="c", scale=Scale(min=0, max=1, step=2)),)))],
            "fields[0].rubric.criteria[0].scale.step",
            "up to max - min",
        ),
    ],
)
def test_a_bad_spec_is_refused_naming_the_field(
    fields: list[AnswerField], where: str, words: str
) -> None:
    error = refused(spec_of(*fields))
    assert error.field == f"answer_spec.{where}"
    assert words in error.problem


def test_same_fields_ignores_the_version_only() -> None:
    assert SPEC.same_fields(replace(SPEC, version=9))
    assert not SPEC.same_fields(replace(SPEC, fields=SPEC.fields[:-1]))
    assert not SPEC.same_fields(None)
    assert AnswerSpec(fields=()).same_fields(AnswerSpec(fields=(), version=4))
    assert SPEC.field("score") is SCORE and SPEC.field("nothing") is None


# --- stored and protobuf forms ---------------------------------------------------------


def test_the_stored_form_round_trips_through_json_text() -> None:
    for spec in (SPEC, AnswerSpec(fields=(), version=2)):
        stored = json.dumps(answers.to_json(spec))
        assert answers.from_json(json.loads(stored)) == spec
    assert answers.to_json(SPEC)["version"] == 3
    assert answers.to_json(spec_of(SCORE))["fields"] == [
        {
            "name": "score",
            "prompt": "",
            "optional": False,
            "number": {"min": 1, "max": 5, "step": 0.5},
        }
    ]
    with pytest.raises(ValueError, match="check_spec"):
        answers.to_json(spec_of(field(None)))


def test_the_protobuf_form_round_trips_and_an_unset_kind_is_refused() -> None:
    pb = answer_spec_to_pb(SPEC)
    assert pb.version == 3 and [f.WhichOneof("kind") for f in pb.fields] == [
        "choice",
        "choice",
        "number",
        "text",
        "rubric",
    ]
    assert answer_spec_from_pb(pb) == SPEC
    assert answer_spec_from_pb(project_pb2.AnswerSpec()) == AnswerSpec(fields=())
    # A kind this code does not know (here: none set) arrives as None; check_spec refuses it.
    unknown = project_pb2.AnswerSpec(fields=[project_pb2.AnswerField(name="x")])
    assert answer_spec_from_pb(unknown).fields[0].kind is None
    assert refused(answer_spec_from_pb(unknown)).field == "answer_spec.fields[0].kind"


# --- AnswerChecker ---------------------------------------------------------------------

CHECKER = AnswerChecker(SPEC)
NOT_JSON = "result: must be a JSON object (the project has an answer spec)"
GOOD: dict[str, Any] = {
    "severity": "mild",
    "tags": ["rash", "pain"],
    "score": 3.5,
    "notes": "looks fine",
    "quality": {"accuracy": 3.25, "clarity": 4},
}


def check(answer: Any) -> dict[str, Any]:
    return CHECKER.check(json.dumps(answer).encode())


def refusal(result: bytes) -> InvalidArgument:
    with pytest.raises(InvalidArgument) as err:
        CHECKER.check(result)
    assert err.value.reason == REASON
    return err.value


def with_(**changes: Any) -> bytes:
    return json.dumps({**GOOD, **changes}).encode()


def without(name: str) -> bytes:
    return json.dumps({k: v for k, v in GOOD.items() if k != name}).encode()


def test_a_result_that_fits_is_its_json() -> None:
    assert check(GOOD) == GOOD
    assert check({k: v for k, v in GOOD.items() if k != "notes"})["severity"] == "mild"
    assert check({**GOOD, "score": 1, "tags": ["itch"]})["score"] == 1  # the ends count
    assert check({**GOOD, "score": 5})["score"] == 5
    steps = AnswerChecker(spec_of(field(Scale(min=0.1, max=1, step=0.1))))
    assert steps.check(b'{"f": 0.7}') == {"f": 0.7}  # float steps within tolerance


@pytest.mark.parametrize(
    ("result", "message"),
    [
        (with_(severity="moderate"), "result.severity: 'moderate' is not one of mild|severe"),
        (with_(severity=1), "result.severity: 1 is not one of mild|severe"),
        (without("severity"), "result.severity: is required"),
        (with_(quality={"accuracy": 1}), "result.quality.clarity: is required"),
        (with_(extra=1), "result.extra: is not in the answer spec (expected: severity, tags,"),
        (
            with_(quality={"accuracy": 1, "clarity": 1, "tone": 2}),
            "result.quality.tone: is not in the answer spec (expected: accuracy, clarity)",
        ),
        (with_(score=3.3), "result.score: 3.3 is not on the scale's steps (1 + k x 0.5)"),
        (with_(score=5.5), "result.score: 5.5 is above the scale's maximum 5"),
        (with_(score=0.5), "result.score: 0.5 is below the scale's minimum 1"),
        (with_(quality={"accuracy": 1, "clarity": 2.5}), "result.quality.clarity: 2.5 is not on"),
        (with_(score=True), "result.score: must be a number, not true"),
        (with_(score="3"), "result.score: must be a number, not '3'"),
        (with_(notes="ok"), "result.notes: must be at least 3 characters, not 2"),
        (with_(notes="x" * 21), "result.notes: must be at most 20 characters, not 21"),
        (with_(notes=5), "result.notes: must be text (a JSON string), not 5"),
        (with_(tags=["rash", "rash"]), "result.tags: must not choose a label twice"),
        (with_(tags=["rash", "fever"]), "result.tags[1]: 'fever' is not one of rash|itch|pain"),
        (with_(tags=[]), "result.tags: must choose at least one label"),
        (with_(tags="rash"), "result.tags: must be a list of labels, not 'rash'"),
        (with_(quality=[1, 2]), "result.quality: must be a JSON object, not [1, 2]"),
        (b"[1, 2]", "result: must be a JSON object, not [1, 2]"),
        (b'"mild"', "result: must be a JSON object, not 'mild'"),
        (b"null", "result: must be a JSON object, not null"),
        (b"{severity: mild}", NOT_JSON),
        (b"", NOT_JSON),
        (b"\xff\xfe", NOT_JSON),
        (with_(score=math.nan), f"{NOT_JSON}: NaN is not a JSON number"),
        (
            b'{"score": Infinity}',
            f"{NOT_JSON}: Infinity is not a JSON number",
        ),
        (
            b'{"score": NaN}',
            f"{NOT_JSON}: NaN is not a JSON number",
        ),
    ],
)
def test_a_result_that_does_not_fit_is_refused_naming_the_field(
    result: bytes, message: str
) -> None:
    assert str(refusal(result)).startswith(message)


def test_errors_are_reported_in_the_spec_field_order() -> None:
    # Several fields wrong, written in the reverse of the spec's order: the first field
    # of the spec is named, whichever way the result orders them.
    wrong = {"quality": {}, "notes": "", "score": 99, "tags": [], "severity": "?"}
    for name in ["severity", "tags", "score", "notes", "quality"]:
        assert refusal(json.dumps(wrong).encode()).field.startswith(f"result.{name}"), name
        wrong[name] = GOOD[name]
    assert check(wrong) == GOOD
    # A missing field before a wrong one is named first; one after it is not.
    early = {k: v for k, v in GOOD.items() if k != "tags"} | {"score": 0}
    assert refusal(json.dumps(early).encode()).field == "result.tags"
    late = {k: v for k, v in GOOD.items() if k != "quality"} | {"score": 0}
    assert refusal(json.dumps(late).encode()).field == "result.score"
    # A field the spec does not hold comes after all it does.
    assert refusal(json.dumps({**GOOD, "aaa": 1, "score": 0}).encode()).field == "result.score"
    # Within a field, the field itself before what it holds.
    assert str(refusal(with_(tags=["fever", "fever"]))) == (
        "result.tags: must not choose a label twice"
    )


def test_the_field_a_caller_names_prefixes_every_error() -> None:
    with pytest.raises(InvalidArgument) as err:
        CHECKER.check(with_(severity="x"), field="work.result")
    assert err.value.field == "work.result.severity"
    with pytest.raises(InvalidArgument) as err:
        CHECKER.check(b"nope", field="work.result")
    assert err.value.field == "work.result"
