"""A gold task's key: the expected answer and how each of its fields is scored. Pure.

A key is a JSON object that fits the project's answer spec, except that it may leave
any field out: a field left out is not scored. Choice and number fields are scored
here; text and rubric fields (a model answer, the expected criterion scores) are
judged by the client's reviewer, who compares the work with the key: a key holding one
``needs_review``, and ``correct`` scores only its automatic fields.

- single choice: the key's label, or one of the rule's ``also_accepted`` labels;
- multiple choice: the same set of labels as the key's (in any order);
- number: within the rule's ``tolerance`` of the key's number (0: equal), compared in
  decimal as the numbers were written (0.95 is within 0.1 of 0.85, which binary floats
  would deny by a hair).

An answer is correct when every keyed field is (a text or rubric field: when its
reviewer accepted the work, which the caller combines with ``correct``). A key holds
its fields' kinds as the spec had them when it was added, so a later spec version does
not change how it scores.
"""

from __future__ import annotations

import enum
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from crewline.answer_check import AnswerChecker
from crewline.answers import AnswerSpec, Choice, Rubric, Scale, Text
from crewline.errors import InvalidArgument

MAX_KEY_BYTES = 16 * 1024


@dataclass(frozen=True, kw_only=True)
class FieldRule:
    """How one keyed field is scored when not by exact equality."""

    field: str
    also_accepted: tuple[str, ...] = ()
    tolerance: float = 0.0


class KeyKind(enum.StrEnum):
    CHOICE = "choice"  # one label
    CHOICES = "choices"  # a set of labels
    NUMBER = "number"
    TEXT = "text"  # a model answer, for the reviewer to compare with
    RUBRIC = "rubric"  # the expected criterion scores, likewise


# Judged by a person (the client's review), not by ``KeyedField.scores``.
REVIEWED_KINDS = frozenset({KeyKind.TEXT, KeyKind.RUBRIC})


@dataclass(frozen=True, kw_only=True)
class KeyedField:
    kind: KeyKind
    value: Any  # a label, a list of labels, or a number, as the key's JSON holds it
    also_accepted: tuple[str, ...] = ()
    tolerance: float = 0.0

    def scores(self, answer: Any) -> bool:
        """Whether ``answer`` (the result's value of this field) is correct; a text or
        rubric field is not scored here (``needs_review``)."""
        match self.kind:
            case KeyKind.CHOICE:
                return isinstance(answer, str) and (
                    answer == self.value or answer in self.also_accepted
                )
            case KeyKind.CHOICES:
                return (
                    isinstance(answer, list)
                    and all(isinstance(a, str) for a in answer)
                    and set(answer) == set(self.value)
                )
            case KeyKind.NUMBER:
                if not _number(answer):
                    return False
                return abs(_decimal(answer) - _decimal(self.value)) <= _decimal(self.tolerance)
            case KeyKind.TEXT | KeyKind.RUBRIC:
                raise ValueError(f"a {self.kind} field is judged by a reviewer, not scored")


Key = Mapping[str, KeyedField]


def needs_review(key: Key) -> bool:
    """Whether the key holds a text or rubric field, which the client's review judges."""
    return any(k.kind in REVIEWED_KINDS for k in key.values())


def correct(key: Key, result: bytes) -> bool:
    """Whether a result answers every automatically scored field of the key correctly
    (text and rubric fields are the reviewer's: ``needs_review``). A result that is not
    a JSON object (its project's spec removed, say) is simply not correct."""
    try:
        answer = json.loads(result.decode("utf-8"), parse_constant=_refuse)
    except (UnicodeDecodeError, ValueError, RecursionError):
        return False
    if not isinstance(answer, dict):
        return False
    return all(
        name in answer and k.scores(answer[name])
        for name, k in key.items()
        if k.kind not in REVIEWED_KINDS
    )


class KeyChecker:
    """Keys for one project's spec: the spec compiled once for a whole request."""

    def __init__(self, spec: AnswerSpec) -> None:
        self.spec = spec
        # A key may leave any field out: the spec with every field optional.
        relaxed = replace(spec, fields=tuple(replace(f, optional=True) for f in spec.fields))
        self._checker = AnswerChecker(relaxed)

    def key(
        self, answer_json: str, rules: Sequence[FieldRule], *, field: str
    ) -> dict[str, KeyedField]:
        """The key of one gold task; errors name ``field.answer_json...`` or
        ``field.rules[j]...`` (``field``: e.g. ``gold_tasks[3]``)."""
        where = f"{field}.answer_json"
        if len(answer_json.encode()) > MAX_KEY_BYTES:
            raise InvalidArgument(where, f"must be at most {MAX_KEY_BYTES} bytes of UTF-8")
        answer = self._checker.check(answer_json.encode(), field=where)
        if not answer:
            raise InvalidArgument(where, "must hold at least one field to score")
        key = {name: self._keyed(name, value, field=where) for name, value in answer.items()}
        seen: dict[str, int] = {}
        for j, rule in enumerate(rules):
            at = f"{field}.rules[{j}]"
            if rule.field not in key:
                raise InvalidArgument(
                    f"{at}.field", f"{rule.field!r} is not in the key (keyed: {', '.join(key)})"
                )
            if rule.field in seen:
                raise InvalidArgument(
                    f"{at}.field", f"{rule.field!r} has a rule already (rules[{seen[rule.field]}])"
                )
            seen[rule.field] = j
            key[rule.field] = self._ruled(key[rule.field], rule, field=at)
        return key

    def _keyed(self, name: str, value: Any, *, field: str) -> KeyedField:
        spec_field = self.spec.field(name)
        assert spec_field is not None  # the checker refuses a name the spec lacks
        match spec_field.kind:
            case Choice(multiple=False):
                return KeyedField(kind=KeyKind.CHOICE, value=value)
            case Choice(multiple=True):
                return KeyedField(kind=KeyKind.CHOICES, value=value)
            case Scale():
                return KeyedField(kind=KeyKind.NUMBER, value=value)
            case Text():
                return KeyedField(kind=KeyKind.TEXT, value=value)  # the model answer
            case Rubric():
                return KeyedField(kind=KeyKind.RUBRIC, value=value)  # criterion scores
        raise ValueError(f"field {name!r} has no kind")

    def _ruled(self, keyed: KeyedField, rule: FieldRule, *, field: str) -> KeyedField:
        spec_field = self.spec.field(rule.field)
        assert spec_field is not None
        if rule.also_accepted:
            if keyed.kind is not KeyKind.CHOICE:
                raise InvalidArgument(
                    f"{field}.also_accepted",
                    f"only a single-choice field takes labels also accepted; {rule.field!r}"
                    f" is a {_kind_name(keyed.kind)} field",
                )
            assert isinstance(spec_field.kind, Choice)
            labels = spec_field.kind.labels
            for k, label in enumerate(rule.also_accepted):
                if label not in labels:
                    raise InvalidArgument(
                        f"{field}.also_accepted[{k}]", f"{label!r} is not one of {'|'.join(labels)}"
                    )
        if rule.tolerance and keyed.kind is not KeyKind.NUMBER:
            raise InvalidArgument(
                f"{field}.tolerance",
                f"only a number field takes a tolerance; {rule.field!r} is a"
                f" {_kind_name(keyed.kind)} field",
            )
        return replace(
            keyed, also_accepted=tuple(dict.fromkeys(rule.also_accepted)), tolerance=rule.tolerance
        )


def check_rule(rule: FieldRule, *, field: str) -> None:
    """What a rule must be whatever the spec: errors name ``field.tolerance``."""
    if not math.isfinite(rule.tolerance) or rule.tolerance < 0:
        raise InvalidArgument(f"{field}.tolerance", "must be a finite number, 0 or more")


def _kind_name(kind: KeyKind) -> str:
    return {
        KeyKind.CHOICE: "single-choice",
        KeyKind.CHOICES: "multiple-choice",
        KeyKind.NUMBER: "number",
        KeyKind.TEXT: "text",
        KeyKind.RUBRIC: "rubric",
    }[kind]


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _decimal(value: float) -> Decimal:
    """A number as written: a float's shortest repr is the decimal its JSON held."""
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)


def _refuse(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


# The stored form (JSON), as the key is kept beside the answer the client sent.


def key_to_json(key: Key) -> dict[str, Any]:
    return {
        name: {
            "kind": k.kind.value,
            "value": k.value,
            "also_accepted": list(k.also_accepted),
            "tolerance": k.tolerance,
        }
        for name, k in key.items()
    }


def key_from_json(data: Mapping[str, Any]) -> dict[str, KeyedField]:
    return {
        name: KeyedField(
            kind=KeyKind(d["kind"]),
            value=d["value"],
            also_accepted=tuple(d["also_accepted"]),
            tolerance=float(d["tolerance"]),
        )
        for name, d in data.items()
    }
