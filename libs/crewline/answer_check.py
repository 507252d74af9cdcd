"""Checking a result against an answer spec, with jsonschema-rs.

A spec compiles to a JSON Schema (2020-12), plus one keyword of ours for a scale's
steps, which JSON Schema's multipleOf cannot say (steps count from the scale's
minimum, and floats need a tolerance). jsonschema-rs (Rust) checks the rest and
ignores that keyword; the steps are checked here, in Python, after it: a result that
fits costs one call into jsonschema-rs and a few lines of arithmetic (cheaper than a
Python keyword jsonschema-rs would call back for each number). Only when a result
does not fit is more Python spent on it: jsonschema-rs's errors (each with its
keyword's schema path and the instance path) and the missed steps are ranked in the
spec's field order, and the first is worded from the schema and the result
themselves, naming the field in the result
(``result.severity: 'moderate' is not one of mild|severe``).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

import jsonschema_rs

from crewline.answers import AnswerField, AnswerSpec, Choice, Rubric, Scale, Text
from crewline.errors import InvalidArgument

REASON = "ANSWER_DOES_NOT_FIT"
_STEP = "crewlineStep"
_TOLERANCE = 1e-9
_NOT_JSON = "must be a JSON object (the project has an answer spec)"


def json_schema(spec: AnswerSpec) -> dict[str, Any]:
    """The JSON Schema a result under ``spec`` must meet."""
    return _object({f.name: _field_schema(f) for f in spec.fields}, required=_required(spec))


def _required(spec: AnswerSpec) -> list[str]:
    return [f.name for f in spec.fields if not f.optional]


def _object(properties: dict[str, Any], *, required: list[str]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": False,
    }


def _field_schema(f: AnswerField) -> dict[str, Any]:
    match f.kind:
        case Choice(labels=labels, multiple=False):
            return {"enum": list(labels)}
        case Choice(labels=labels, multiple=True):
            return {
                "type": "array",
                "items": {"enum": list(labels)},
                "minItems": 1,
                "uniqueItems": True,
            }
        case Scale():
            return _scale_schema(f.kind)
        case Text(min_length=low, max_length=high):
            return {"type": "string", "minLength": low, "maxLength": high}
        case Rubric(criteria=criteria):
            return _object(
                {c.name: _scale_schema(c.scale) for c in criteria},
                required=[c.name for c in criteria],
            )
    raise ValueError(f"field {f.name!r} has no kind: check_spec() first")


def _scale_schema(s: Scale) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "number", "minimum": s.min, "maximum": s.max}
    if s.step:
        schema[_STEP] = {"from": s.min, "step": s.step}
    return schema


def _off_step(value: Any, low: float, step: float) -> bool:
    """Whether a number misses its scale's steps (anything else: no; JSON's numbers are
    exactly int and float, its true and false bool)."""
    if value.__class__ is not float and value.__class__ is not int:
        return False
    try:
        k = (value - low) / step
    except OverflowError:  # an integer past floats' range: above the scale, said by maximum
        return False
    off = k % 1.0  # NaN when k is not finite (1e400): off nothing, said by maximum
    return min(off, 1.0 - off) > _TOLERANCE * max(1.0, abs(k))


# Where a scale with steps sits: its field, and its criterion if in a rubric.
_Spot = tuple[str, str | None, float, float]  # (field, criterion, from, step)
_Path = list[str | int]  # into a schema or a result, as jsonschema-rs gives them


class AnswerChecker:
    """One spec, compiled once; ``check`` a result (bytes) against it."""

    def __init__(self, spec: AnswerSpec) -> None:
        self.spec = spec
        self._schema = json_schema(spec)
        self._validator = jsonschema_rs.validator_for(self._schema)  # steps: ignored
        self._steps = _steps(spec)
        self._order = {f.name: i for i, f in enumerate(spec.fields)}

    def check(self, result: bytes, *, field: str = "result") -> dict[str, Any]:
        """The result as JSON; INVALID_ARGUMENT naming the first field that does not fit."""
        answer: dict[str, Any] = parse(result, field=field)
        try:
            if self._validator.is_valid(answer) and not self._missed_steps(answer):
                return answer
            errors = [
                self._fact(e.schema_path, e.instance_path, answer)
                for e in self._validator.iter_errors(answer)
            ]
        except ValueError:
            # Past 255 levels jsonschema-rs cannot show what an error is about (no spec
            # goes deeper than 3, so such a result never fits): refused whole.
            problem = f"{_NOT_JSON}: nested too deeply to check (at most 255 levels)"
            raise InvalidArgument(field, problem, reason=REASON) from None
        errors += [self._fact(*at, answer) for at in self._missed_steps(answer)]
        raise min(errors, key=self._place).refusal(field)

    def _missed_steps(self, answer: Any) -> list[tuple[_Path, _Path]]:
        """The schema and instance paths of each number off its scale's steps."""
        missed: list[tuple[_Path, _Path]] = []
        if not self._steps or not isinstance(answer, dict):
            return missed
        for name, criterion, low, step in self._steps:
            value = answer.get(name)
            if criterion is None:
                if _off_step(value, low, step):
                    missed.append((["properties", name, _STEP], [name]))
            elif isinstance(value, dict) and _off_step(value.get(criterion), low, step):
                schema_path: _Path = ["properties", name, "properties", criterion, _STEP]
                missed.append((schema_path, [name, criterion]))
        return missed

    def _fact(self, schema_path: _Path, instance_path: _Path, answer: Any) -> _Fact:
        """What an error is about, read from the schema and the result themselves (the
        schema path's keys, indexed, rank errors of one field in the schema's order)."""
        *where, keyword = schema_path
        schema: Any = self._schema
        rank: list[int] = []
        for key in where:
            rank.append(_index(schema, key))
            schema = schema[key]
        instance = answer
        for key in instance_path:
            instance = instance[key]
        if keyword == "type" and schema.get("type") == "number" and _infinite(instance):
            # jsonschema-rs sees a float past JSON's range (1e400) as null: it is a
            # number, above (or below) any scale.
            keyword = "maximum" if instance > 0 else "minimum"
        rank.append(_index(schema, keyword))
        path = list(instance_path)
        return _Fact(path, str(keyword), schema, instance, (*rank, *_items(path)))

    def _place(self, fact: _Fact) -> tuple[tuple[int, int], tuple[int, ...]]:
        """Errors are reported in the spec's field order, a whole result's type first,
        then a field before what it holds; within that, in the schema's order."""
        last = len(self._order)
        if not fact.path:
            if fact.keyword == "type":
                return ((-1, 0), fact.rank)
            return ((self._order.get(fact.named(), last), 0), fact.rank)
        return ((self._order.get(str(fact.path[0]), last), len(fact.path)), fact.rank)


def _steps(spec: AnswerSpec) -> tuple[_Spot, ...]:
    spots: list[_Spot] = []
    for f in spec.fields:
        if isinstance(f.kind, Scale) and f.kind.step:
            spots.append((f.name, None, f.kind.min, f.kind.step))
        elif isinstance(f.kind, Rubric):
            spots.extend(
                (f.name, c.name, c.scale.min, c.scale.step) for c in f.kind.criteria if c.scale.step
            )
    return tuple(spots)


@dataclass(frozen=True)
class _Fact:
    """One way a result does not fit: at ``path`` in it, the subschema ``schema``'s
    ``keyword`` refuses ``instance``."""

    path: _Path
    keyword: str
    schema: dict[str, Any]
    instance: Any
    rank: tuple[int, ...]

    def named(self) -> str:
        """The member a ``required`` or ``additionalProperties`` error is about: the
        first missing in the schema's order, the first unknown in the result's."""
        if self.keyword == "required":
            return str(next(n for n in self.schema["required"] if n not in self.instance))
        known = self.schema.get("properties", {})
        return str(next(n for n in self.instance if n not in known))

    def refusal(self, field: str) -> InvalidArgument:
        path = field + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in self.path)
        if self.keyword == "required":
            return InvalidArgument(f"{path}.{self.named()}", "is required", reason=REASON)
        if self.keyword == "additionalProperties":
            known = ", ".join(self.schema.get("properties", {}))
            problem = f"is not in the answer spec (expected: {known})"
            return InvalidArgument(f"{path}.{self.named()}", problem, reason=REASON)
        value = self.schema.get(self.keyword)
        return InvalidArgument(path, _problem(self.keyword, value, self.instance), reason=REASON)


def _index(schema: Any, key: str | int) -> int:
    return key if isinstance(key, int) else list(schema).index(key)


def _items(path: _Path) -> tuple[int, ...]:
    return tuple(p for p in path if isinstance(p, int))


def _infinite(value: Any) -> bool:
    return isinstance(value, float) and math.isinf(value)


def parse(result: bytes, *, field: str) -> Any:
    """A result's JSON (UTF-8; NaN and Infinity are not JSON, nor is a lone surrogate)."""
    try:
        text = result.decode("utf-8")
        if text.startswith("\ufeff"):  # as json.loads refuses it
            raise json.JSONDecodeError("Unexpected UTF-8 BOM (decode using utf-8-sig)", text, 0)
        answer = _DECODER.decode(text)
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        raise InvalidArgument(field, f"{_NOT_JSON}: {e}", reason=REASON) from None
    if b"\\ud" in result or b"\\uD" in result:  # an escape of U+D000-DFFF: cheap to rule out
        _no_lone_surrogate(answer, field=field)
    return answer


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


# One decoder for every call: json.loads with an option builds a new one each time.
_DECODER = json.JSONDecoder(parse_constant=_no_constant)


def _no_lone_surrogate(answer: Any, *, field: str) -> None:
    """JSON may escape half of a UTF-16 pair alone (``"\\ud800"``); that is no text any
    other language reads, nor one jsonschema-rs takes."""
    try:
        json.dumps(answer, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        problem = f"{_NOT_JSON}: a string holds half of a UTF-16 surrogate pair alone"
        raise InvalidArgument(field, problem, reason=REASON) from None


_TYPES = {
    "object": "a JSON object",
    "number": "a number",
    "string": "text (a JSON string)",
    "array": "a list of labels",
}


def _problem(keyword: str, value: Any, instance: Any) -> str:
    if keyword == "enum":
        return f"{_shown(instance)} is not one of {'|'.join(value)}"
    if keyword == "type":
        return f"must be {_TYPES.get(value, value)}, not {_shown(instance)}"
    if keyword == "minimum":
        return f"{_number(instance)} is below the scale's minimum {value:g}"
    if keyword == "maximum":
        return f"{_number(instance)} is above the scale's maximum {value:g}"
    if keyword == _STEP:
        low, step = value["from"], value["step"]
        return f"{instance:g} is not on the scale's steps ({low:g} + k x {step:g})"
    if keyword == "minLength":
        return f"must be at least {value} characters, not {len(instance)}"
    if keyword == "maxLength":
        return f"must be at most {value} characters, not {len(instance)}"
    if keyword == "minItems":
        return "must choose at least one label"
    if keyword == "uniqueItems":
        return "must not choose a label twice"
    return "does not fit the answer spec"


def _number(value: int | float) -> str:
    try:
        return f"{value:g}"
    except OverflowError:  # an integer past floats' range
        return f"{str(value)[:12]}... ({len(str(abs(value)))} digits)"


def _shown(instance: Any) -> str:
    if isinstance(instance, str):
        return repr(instance)
    text = json.dumps(instance)
    return text if len(text) <= 40 else f"{text[:40]}..."
