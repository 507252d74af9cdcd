"""Answer specs: the shape a project gives its results. Pure: no I/O, no protobuf.

A spec names fields, each a choice from labels (one, or several), a number on a
scale, free text, or a rubric (criteria, each a number on a scale). A result under a
spec is a JSON object holding those fields; ``crewline.answer_check`` checks one. A
project versions its spec as it versions pay terms, and a claim keeps the version in
force when it was granted.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from crewline.errors import InvalidArgument

MAX_FIELDS = 50
MAX_LABELS = 100
MAX_LABEL = 100
MAX_CRITERIA = 30
MAX_PROMPT = 1000
MAX_TEXT = 100_000
KINDS = ("choice", "number", "text", "rubric")
_NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")


@dataclass(frozen=True, kw_only=True)
class Choice:
    labels: tuple[str, ...]
    multiple: bool = False


@dataclass(frozen=True, kw_only=True)
class Scale:
    """From ``min`` to ``max``, on ``min + k * step``; a step of 0 takes any number."""

    min: float
    max: float
    step: float = 0.0


@dataclass(frozen=True, kw_only=True)
class Text:
    min_length: int = 0
    max_length: int = MAX_TEXT


@dataclass(frozen=True, kw_only=True)
class Criterion:
    name: str
    description: str = ""
    scale: Scale


@dataclass(frozen=True, kw_only=True)
class Rubric:
    criteria: tuple[Criterion, ...]


FieldKind = Choice | Scale | Text | Rubric


@dataclass(frozen=True, kw_only=True)
class AnswerField:
    name: str
    prompt: str = ""
    optional: bool = False
    kind: FieldKind | None  # None: a kind this code does not know (refused by check_spec)


@dataclass(frozen=True, kw_only=True)
class AnswerSpec:
    """No fields: no spec (any bytes are a result), at a version like any other."""

    fields: tuple[AnswerField, ...]
    version: int = 0  # 0 until the project numbers it

    def same_fields(self, other: AnswerSpec | None) -> bool:
        """The same shape, whatever the version numbers."""
        return other is not None and self.fields == other.fields

    def field(self, name: str) -> AnswerField | None:
        return next((f for f in self.fields if f.name == name), None)


def check_spec(spec: AnswerSpec, *, field: str) -> AnswerSpec:
    """The spec, validated and normalised (a text's max_length 0 becomes the limit);
    errors name ``field.fields[i]...``. No fields means no spec: any bytes are a result."""
    _count(spec.fields, field=f"{field}.fields", low=0, high=MAX_FIELDS)
    _distinct([f.name for f in spec.fields], field=f"{field}.fields", what="name")
    return replace(
        spec,
        fields=tuple(_field(f, field=f"{field}.fields[{i}]") for i, f in enumerate(spec.fields)),
    )


def _field(f: AnswerField, *, field: str) -> AnswerField:
    _name(f.name, field=f"{field}.name")
    _words(f.prompt, field=f"{field}.prompt")
    match f.kind:
        case Choice():
            kind: FieldKind = _choice(f.kind, field=f"{field}.choice")
        case Scale():
            kind = _scale(f.kind, field=f"{field}.number")
        case Text():
            kind = _text(f.kind, field=f"{field}.text")
        case Rubric():
            kind = _rubric(f.kind, field=f"{field}.rubric")
        case None:
            raise InvalidArgument(f"{field}.kind", f"must be one of {', '.join(KINDS)}")
    return replace(f, kind=kind)


def _choice(c: Choice, *, field: str) -> Choice:
    _count(c.labels, field=f"{field}.labels", low=1, high=MAX_LABELS)
    for i, label in enumerate(c.labels):
        if not label.strip() or len(label) > MAX_LABEL or "\x00" in label:
            raise InvalidArgument(
                f"{field}.labels[{i}]", f"must be 1-{MAX_LABEL} characters, not blank"
            )
    _distinct(list(c.labels), field=f"{field}.labels", what="label")
    return c


def _scale(s: Scale, *, field: str) -> Scale:
    for name in ("min", "max", "step"):
        if not math.isfinite(getattr(s, name)):
            raise InvalidArgument(f"{field}.{name}", "must be a finite number")
    if s.min >= s.max:
        raise InvalidArgument(field, f"min {s.min:g} must be below max {s.max:g}")
    if s.step < 0 or s.step > s.max - s.min:
        raise InvalidArgument(
            f"{field}.step", f"must be 0 (any number) or up to max - min ({s.max - s.min:g})"
        )
    return s


def _text(t: Text, *, field: str) -> Text:
    top = t.max_length or MAX_TEXT
    if not 0 < top <= MAX_TEXT:
        raise InvalidArgument(f"{field}.max_length", f"must be between 0 and {MAX_TEXT}")
    if not 0 <= t.min_length <= top:
        raise InvalidArgument(f"{field}.min_length", f"must be between 0 and max_length ({top})")
    return replace(t, max_length=top)


def _rubric(r: Rubric, *, field: str) -> Rubric:
    _count(r.criteria, field=f"{field}.criteria", low=1, high=MAX_CRITERIA)
    _distinct([c.name for c in r.criteria], field=f"{field}.criteria", what="name")
    for i, c in enumerate(r.criteria):
        _name(c.name, field=f"{field}.criteria[{i}].name")
        _words(c.description, field=f"{field}.criteria[{i}].description")
        _scale(c.scale, field=f"{field}.criteria[{i}].scale")
    return r


def _name(value: str, *, field: str) -> None:
    if not _NAME.fullmatch(value):
        raise InvalidArgument(
            field,
            "must be 1-64 characters: a lower-case letter, then lower-case letters,"
            " digits or underscores",
        )


def _words(value: str, *, field: str) -> None:
    if len(value) > MAX_PROMPT or "\x00" in value:
        raise InvalidArgument(field, f"must be at most {MAX_PROMPT} characters, without NUL")


def _count(items: Sequence[Any], *, field: str, low: int, high: int) -> None:
    if not low <= len(items) <= high:
        raise InvalidArgument(field, f"must have {low}-{high} entries, not {len(items)}")


def _distinct(values: list[str], *, field: str, what: str) -> None:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise InvalidArgument(field, f"{what} {value!r} appears twice")
        seen.add(value)


# The stored form (JSON), as services keep a spec in PostgreSQL.


def to_json(spec: AnswerSpec) -> dict[str, Any]:
    return {"version": spec.version, "fields": [_field_json(f) for f in spec.fields]}


def _field_json(f: AnswerField) -> dict[str, Any]:
    out: dict[str, Any] = {"name": f.name, "prompt": f.prompt, "optional": f.optional}
    match f.kind:
        case Choice():
            out["choice"] = {"labels": list(f.kind.labels), "multiple": f.kind.multiple}
        case Scale():
            out["number"] = _scale_json(f.kind)
        case Text():
            out["text"] = {"min_length": f.kind.min_length, "max_length": f.kind.max_length}
        case Rubric():
            out["rubric"] = [
                {"name": c.name, "description": c.description, "scale": _scale_json(c.scale)}
                for c in f.kind.criteria
            ]
        case None:
            raise ValueError(f"field {f.name!r} has no kind: check_spec() first")
    return out


def _scale_json(s: Scale) -> dict[str, float]:
    return {"min": s.min, "max": s.max, "step": s.step}


def from_json(data: dict[str, Any]) -> AnswerSpec:
    return AnswerSpec(version=data["version"], fields=tuple(_field_of(f) for f in data["fields"]))


def _field_of(d: dict[str, Any]) -> AnswerField:
    kind: FieldKind
    if "choice" in d:
        kind = Choice(labels=tuple(d["choice"]["labels"]), multiple=d["choice"]["multiple"])
    elif "number" in d:
        kind = Scale(**d["number"])
    elif "text" in d:
        kind = Text(**d["text"])
    else:
        kind = Rubric(
            criteria=tuple(
                Criterion(name=c["name"], description=c["description"], scale=Scale(**c["scale"]))
                for c in d["rubric"]
            )
        )
    return AnswerField(name=d["name"], prompt=d["prompt"], optional=d["optional"], kind=kind)
