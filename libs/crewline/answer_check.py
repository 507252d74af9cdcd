"""Checking a result against an answer spec, with jsonschema.

A spec compiles to a JSON Schema (2020-12), plus one keyword of ours for a scale's
steps, which JSON Schema's multipleOf cannot say (steps count from the scale's
minimum, and floats need a tolerance). jsonschema does the checking; this module
turns its first error into a message that names the field in the result
(``result.severity: 'moderate' is not one of mild|severe``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import ValidationError

from crewline.answers import AnswerField, AnswerSpec, Choice, Rubric, Scale, Text
from crewline.errors import InvalidArgument

REASON = "ANSWER_DOES_NOT_FIT"
_STEP = "crewlineStep"
_TOLERANCE = 1e-9


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


def _on_step(
    validator: Any, value: Mapping[str, float], instance: Any, schema: Any
) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "number"):
        return
    k = (instance - value["from"]) / value["step"]
    if abs(k - round(k)) > _TOLERANCE * max(1.0, abs(k)):
        yield ValidationError(f"{instance} is off the scale's steps")


_Validator = validators.extend(Draft202012Validator, validators={_STEP: _on_step})  # type: ignore[no-untyped-call]


class AnswerChecker:
    """One spec, compiled once; ``check`` a result (bytes) against it."""

    def __init__(self, spec: AnswerSpec) -> None:
        self.spec = spec
        self._validator = _Validator(json_schema(spec))
        self._order = {f.name: i for i, f in enumerate(spec.fields)}

    def check(self, result: bytes, *, field: str = "result") -> dict[str, Any]:
        """The result as JSON; INVALID_ARGUMENT naming the first field that does not fit."""
        answer: dict[str, Any] = parse(result, field=field)
        if not self._validator.is_valid(answer):
            error = min(self._validator.iter_errors(answer), key=self._place)
            raise _refusal(error, field=field)
        return answer

    def _place(self, error: ValidationError) -> tuple[int, int]:
        """Errors are reported in the spec's field order, a whole result's type first."""
        if not error.path:
            if error.validator == "type":
                return (-1, 0)
            return (self._order.get(_named(error), len(self._order)), 0)
        return (self._order.get(str(error.path[0]), len(self._order)), len(error.path))


def parse(result: bytes, *, field: str) -> Any:
    """A result's JSON (UTF-8; NaN and Infinity are not JSON)."""
    try:
        return json.loads(result.decode("utf-8"), parse_constant=_no_constant)
    except (UnicodeDecodeError, ValueError) as e:
        raise InvalidArgument(
            field, f"must be a JSON object (the project has an answer spec): {e}", reason=REASON
        ) from None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _named(error: Any) -> str:
    """The member a ``required`` or ``additionalProperties`` error is about (jsonschema's
    errors are typed loosely: their attributes may be unset, never here)."""
    if error.validator == "required":
        return str(next(name for name in error.validator_value if name not in error.instance))
    known = error.schema.get("properties", {})
    return str(next(name for name in error.instance if name not in known))


def _refusal(error: Any, *, field: str) -> InvalidArgument:
    path = field + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.path)
    keyword, value, instance = error.validator, error.validator_value, error.instance
    if keyword == "required":
        return InvalidArgument(f"{path}.{_named(error)}", "is required", reason=REASON)
    if keyword == "additionalProperties":
        known = ", ".join(error.schema.get("properties", {}))
        problem = f"is not in the answer spec (expected: {known})"
        return InvalidArgument(f"{path}.{_named(error)}", problem, reason=REASON)
    return InvalidArgument(path, _problem(keyword, value, instance), reason=REASON)


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
        return f"{instance:g} is below the scale's minimum {value:g}"
    if keyword == "maximum":
        return f"{instance:g} is above the scale's maximum {value:g}"
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


def _shown(instance: Any) -> str:
    if isinstance(instance, str):
        return repr(instance)
    text = json.dumps(instance)
    return text if len(text) <= 40 else f"{text[:40]}..."
