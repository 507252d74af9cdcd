"""Answer specs in crewctl: a project file's ``answer_spec:`` section read into a record
(each mistake naming its key, e.g. ``answer_spec.fields[2].number.step``), and a spec
printed for people. The dispatcher checks the limits (names, counts, lengths) and
names the field it refuses; this module checks the shape."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from crewline.ctl.output import print_rows
from crewline.ctl.records.answers import (
    KINDS,
    MAX_TEXT,
    AnswerFieldRecord,
    AnswerSpecRecord,
    ChoiceRecord,
    CriterionRecord,
    RubricRecord,
    ScaleRecord,
    TextRecord,
)

KEY = "answer_spec"
FIELD_KEYS = ("name", "prompt", "optional", *KINDS)
# How the section looks, for `project apply --help` (a unit test parses it).
FORMAT = """\
  answer_spec:                     # the shape of a result: a JSON object of these fields
    fields:                        # fields: [] removes the spec
      - name: severity             # a-z, 0-9, _; the result's key
        prompt: How severe is it?  # what the contractor is asked
        choice: {labels: [mild, severe]}        # multiple: true for a list of labels
      - {name: confidence, number: {min: 0, max: 1, step: 0.1}}  # step 0: any number
      - {name: notes, optional: true, text: {min_length: 0, max_length: 2000}}
      - name: quality
        rubric:
          criteria:
            - {name: focus, description: In focus, scale: {min: 1, max: 5, step: 1}}"""


def _mapping(value: Any, key: str, known: tuple[str, ...]) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ValueError(f"{key}: expected a mapping of {', '.join(known)}")
    for name in value:
        if name not in known:
            raise ValueError(f"{key}.{name}: unknown; use {', '.join(known)}")
    return value


def _text(data: Mapping[str, Any], name: str, key: str, *, required: bool = False) -> str:
    if name not in data or data[name] is None:
        if required:
            raise ValueError(f"{key}.{name}: required")
        return ""
    value = data[name]
    if not isinstance(value, str):
        raise ValueError(f"{key}.{name}: must be text, not {value!r} (quote it)")
    return value


def _flag(data: Mapping[str, Any], name: str, key: str) -> bool:
    value = data.get(name, False)
    if not isinstance(value, bool):
        raise ValueError(f"{key}.{name}: must be true or false")
    return value


def _number(data: Mapping[str, Any], name: str, key: str, *, default: float | None) -> float:
    value = data.get(name, default)
    if value is None:
        raise ValueError(f"{key}.{name}: required (a number)")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{key}.{name}: must be a number, not {value!r}")
    return value


def _whole(data: Mapping[str, Any], name: str, key: str) -> int:
    value = data.get(name, 0)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{key}.{name}: must be a whole number of characters")
    return value


def _list(value: Any, key: str, what: str) -> list[Any]:
    if not isinstance(value, list):
        raise ValueError(f"{key}: expected a list of {what}")
    return value


def _choice(value: Any, key: str) -> ChoiceRecord:
    data = _mapping(value, key, ("labels", "multiple"))
    if "labels" not in data:
        raise ValueError(f"{key}.labels: required (a list of labels)")
    labels = _list(data["labels"], f"{key}.labels", "labels")
    for i, label in enumerate(labels):
        if not isinstance(label, str):  # yes/no, on/off and numbers are not text in YAML
            raise ValueError(f"{key}.labels[{i}]: must be text, not {label!r} (quote it)")
    return {"labels": labels, "multiple": _flag(data, "multiple", key)}


def _scale(value: Any, key: str) -> ScaleRecord:
    data = _mapping(value, key, ("min", "max", "step"))
    return {
        "min": _number(data, "min", key, default=None),
        "max": _number(data, "max", key, default=None),
        "step": _number(data, "step", key, default=0),
    }


def _text_kind(value: Any, key: str) -> TextRecord:
    data = _mapping({} if value is None else value, key, ("min_length", "max_length"))
    return {
        "min_length": _whole(data, "min_length", key),
        "max_length": _whole(data, "max_length", key),
    }


def _criterion(value: Any, key: str) -> CriterionRecord:
    data = _mapping(value, key, ("name", "description", "scale"))
    if "scale" not in data:
        raise ValueError(f"{key}.scale: required, e.g. {{min: 1, max: 5, step: 1}}")
    return {
        "name": _text(data, "name", key, required=True),
        "description": _text(data, "description", key),
        "scale": _scale(data["scale"], f"{key}.scale"),
    }


def _rubric(value: Any, key: str) -> RubricRecord:
    data = _mapping(value, key, ("criteria",))
    items = _list(data.get("criteria"), f"{key}.criteria", "criteria")
    return {"criteria": [_criterion(c, f"{key}.criteria[{i}]") for i, c in enumerate(items)]}


def _field(value: Any, key: str) -> AnswerFieldRecord:
    data = _mapping(value, key, FIELD_KEYS)
    kinds = [k for k in KINDS if k in data]
    if len(kinds) != 1:
        given = f", not {' and '.join(kinds)}" if kinds else ""
        raise ValueError(f"{key}: give one of {', '.join(KINDS)}{given}")
    record: AnswerFieldRecord = {
        "name": _text(data, "name", key, required=True),
        "prompt": _text(data, "prompt", key),
        "optional": _flag(data, "optional", key),
    }
    kind = kinds[0]
    where = f"{key}.{kind}"
    if kind == "choice":
        record["choice"] = _choice(data[kind], where)
    elif kind == "number":
        record["number"] = _scale(data[kind], where)
    elif kind == "text":
        record["text"] = _text_kind(data[kind], where)
    else:
        record["rubric"] = _rubric(data[kind], where)
    return record


def parse_answer_spec(value: Any) -> AnswerSpecRecord:
    """A file's ``answer_spec:`` as a record; ValueError names the key that is wrong.
    Empty (null, or ``fields: []``): a spec with no fields, which removes one."""
    if value is None:
        return {"version": 0, "fields": []}
    data = _mapping(value, KEY, ("fields",))
    if "fields" not in data:
        raise ValueError(f"{KEY}.fields: required (a list; [] removes the spec)")
    items = [] if data["fields"] is None else _list(data["fields"], f"{KEY}.fields", "fields")
    return {"version": 0, "fields": [_field(f, f"{KEY}.fields[{i}]") for i, f in enumerate(items)]}


def same_spec(spec: AnswerSpecRecord | None) -> str:
    """What two specs share when they are the same shape, whatever their versions: the
    fields with numbers as floats and a text's max_length 0 as the limit it means."""

    def plain(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        if isinstance(value, list):
            return [plain(v) for v in value]
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        return value

    fields = [plain(dict(f)) for f in (spec or {"fields": []})["fields"]]
    for f in fields:
        if "text" in f and not f["text"]["max_length"]:
            f["text"]["max_length"] = float(MAX_TEXT)
    return json.dumps(fields, sort_keys=True)


def _g(value: float) -> str:
    return f"{value:g}"


def _on_scale(scale: ScaleRecord) -> str:
    steps = f" step {_g(scale['step'])}" if scale["step"] else ""
    return f"{_g(scale['min'])}-{_g(scale['max'])}{steps}"


def accepts(field: AnswerFieldRecord) -> tuple[str, str]:
    """The field's kind and what it accepts, in words."""
    if "choice" in field:
        choice = field["choice"]
        how = "one or more of" if choice["multiple"] else "one of"
        return "choice", f"{how} {' | '.join(choice['labels'])}"
    if "number" in field:
        return "number", _on_scale(field["number"])
    if "text" in field:
        text = field["text"]
        return "text", f"{text['min_length']}-{text['max_length'] or MAX_TEXT:,} characters"
    if "rubric" in field:
        criteria = field["rubric"]["criteria"]
        return "rubric", "; ".join(f"{c['name']} {_on_scale(c['scale'])}" for c in criteria)
    return "unknown", "a kind this crewctl does not know"


def describe_spec(spec: AnswerSpecRecord | None) -> str | None:
    """One line for a record's table, e.g. ``version 2: severity, confidence``."""
    if spec is None:
        return None
    return f"version {spec['version']}: {', '.join(f['name'] for f in spec['fields'])}"


def print_answer_spec(spec: AnswerSpecRecord | None) -> None:
    """The spec's fields as a table; nothing when there is no spec."""
    if spec is None:
        return
    rows = []
    for field in spec["fields"]:
        kind, shape = accepts(field)
        optional = "optional" if field["optional"] else "required"
        rows.append({**field, "kind": kind, "accepts": shape, "optional": optional})
    columns = ("name", "kind", "accepts", "optional", "prompt")
    print_rows(f"Answer spec (version {spec['version']})", rows, columns)
