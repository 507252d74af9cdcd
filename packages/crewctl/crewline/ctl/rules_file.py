"""A rules file for ``crewctl quality rules set -f``: a YAML or JSON list of a project's
quality rules (or an object holding it under ``rules``, as ``rules get --json`` prints).

crewctl checks only what it cannot send as written: the file's shape, field names,
the words for measure and action, integers, one condition, durations. The quality
service checks the rest (ranges, ids, limits) and names the field it refuses
(``policy.rules[2].below``), storing nothing then.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import timedelta
from typing import IO, TYPE_CHECKING, Any

import yaml

from crewline.ctl.errors import CtlError, ExitCode
from crewline.ctl.params import parse_duration
from crewline.ctl.records.sanctions import ACTIONS, MEASURES

if TYPE_CHECKING:
    from crewline.client.results import QualityRule

FORMAT = """\b
  - rule_id: low-gold            # 1-64 of a-z 0-9 _ -, unique in the project
    measure: gold_accuracy       # or acceptance_rate, time_flag_share
    below: 70                    # or above: N; 0-100, strictly
    min_sample: 10               # 1-1000 counted before it acts; left out: 5
    action: suspend              # or review_all, notify
    duration: 3d                 # 1h-90d (90s, 30m, 2h, 7d); left out: 7d; not for notify
  - {rule_id: fast, measure: time_flag_share, above: 30, action: notify}
An empty list removes every rule; the gold share is left as it is."""

_KEYS = ("rule_id", "measure", "below", "above", "min_sample", "action", "duration")
# Any duration crewctl can read is sent: the quality service says what it takes (1h-90d).
_LONGEST = 10**9
_INT32 = -(2**31)  # the protos' int32 holds -2**31 to 2**31 - 1


def load_rules(source: IO[str], project_id: str) -> list[QualityRule]:
    """The rules of a .yaml/.yml/.json file (or stdin); CtlError (exit 2) naming each
    field crewctl cannot send, and nothing sent."""
    name = getattr(source, "name", "<stdin>")
    text = source.read()
    try:
        data = json.loads(text) if str(name).lower().endswith(".json") else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as err:
        raise CtlError(f"{name}: not YAML or JSON ({err})", exit_code=ExitCode.USAGE) from None
    listed = _listed(data, name, project_id)
    problems: list[str] = []
    rules = []
    for index, entry in enumerate(listed):
        try:
            rules.append(parse_rule(entry, f"rules[{index}]"))
        except ValueError as err:
            problems.append(str(err))
    if problems:
        shown = "; ".join(problems[:10])
        more = f" (and {len(problems) - 10} more)" if len(problems) > 10 else ""
        raise CtlError(
            f"{name}: {shown}{more}",
            exit_code=ExitCode.USAGE,
            hint="no rule was set; fix the file and run it again",
        )
    return rules


def _listed(data: Any, name: str, project_id: str) -> list[Any]:
    if isinstance(data, Mapping) and set(data) <= {"rules", "project_id"} and "rules" in data:
        if data.get("project_id") not in (None, project_id):
            raise CtlError(
                f"{name}: project_id {data['project_id']} is not --project {project_id}",
                exit_code=ExitCode.USAGE,
            )
        data = data["rules"]
    if data is None:
        data = []  # an empty file: no rules
    if not isinstance(data, list):
        raise CtlError(
            f"{name}: expected a list of rules (or an object with `rules`)",
            exit_code=ExitCode.USAGE,
        )
    return data


def parse_rule(entry: Any, at: str) -> QualityRule:
    """One rule of the file; ValueError naming ``at`` and the field."""
    from crewline.client.results import QualityRule, RuleAction, RuleMeasure

    if not isinstance(entry, Mapping):
        raise ValueError(f"{at}: must be an object of {', '.join(_KEYS)}")
    unknown = sorted(str(key) for key in entry if key not in _KEYS)
    if unknown:
        raise ValueError(f'{at}: unknown field "{unknown[0]}" (fields: {", ".join(_KEYS)})')
    if entry.get("below") is not None and entry.get("above") is not None:
        raise ValueError(f"{at}: give below or above, not both")
    rule_id = entry.get("rule_id", "")
    if not isinstance(rule_id, str):
        raise ValueError(f"{at}.rule_id: must be text")
    measure = _word(entry, "measure", MEASURES, at)
    action = _word(entry, "action", ACTIONS, at)
    return QualityRule(
        rule_id=rule_id,
        measure=RuleMeasure(measure.upper()) if measure else None,
        below=_whole(entry, "below", at),
        above=_whole(entry, "above", at),
        min_sample=_whole(entry, "min_sample", at),
        action=RuleAction(action.upper()) if action else None,
        duration=_duration(entry.get("duration"), f"{at}.duration"),
    )


def _word(entry: Mapping[str, Any], key: str, words: tuple[str, ...], at: str) -> str | None:
    value = entry.get(key)
    if value is None:
        return None  # the quality service names a missing one
    word = str(value).strip().lower().replace("-", "_")
    if word not in words:
        raise ValueError(f"{at}.{key}: {value!r} is not one of {', '.join(words)}")
    return word


def _whole(entry: Mapping[str, Any], key: str, at: str) -> int | None:
    value = entry.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not _INT32 <= value < -_INT32:
        raise ValueError(f"{at}.{key}: must be a whole number, not {value!r}")
    return value


def _duration(value: Any, at: str) -> timedelta | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(f"{at}: give seconds or e.g. 90m, 2h, 7d, not {value!r}")
    try:
        return timedelta(seconds=parse_duration(str(value), maximum=_LONGEST))
    except ValueError as err:
        raise ValueError(f"{at}: {err}") from None
