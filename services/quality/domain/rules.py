"""A project's quality rules: measure -> condition -> action (docs/quality.md, "Rules and
sanctions"). Pure: no I/O, no protobuf.

A rule acts on a contractor once the measure it watches rests on at least
``min_sample`` items and is strictly below (or above) its threshold. Whether a sanction
of it already holds, or ended on the same data, is the handler's to check.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from fractions import Fraction
from typing import Any

from crewline.errors import InvalidArgument
from quality.domain.scores import Measure, percent

MAX_RULES = 20
DEFAULT_MIN_SAMPLE = 5
MAX_MIN_SAMPLE = 1000
DEFAULT_DURATION = timedelta(days=7)
MIN_DURATION = timedelta(hours=1)
MAX_DURATION = timedelta(days=90)
_RULE_ID = re.compile(r"[a-z0-9_-]{1,64}")


class RuleMeasure(enum.StrEnum):
    GOLD_ACCURACY = "gold_accuracy"
    ACCEPTANCE_RATE = "acceptance_rate"
    TIME_FLAG_SHARE = "time_flag_share"

    @classmethod
    def of_score(cls, measure: Measure) -> RuleMeasure:
        """The rule measure a stored score is (the two share their names)."""
        return cls(measure.value)


class RuleAction(enum.StrEnum):
    SUSPEND = "suspend"
    REVIEW_ALL = "review_all"
    NOTIFY = "notify"

    @property
    def lasts(self) -> bool:
        """Whether the sanction holds for a while (a notice ends as it is given)."""
        return self is not RuleAction.NOTIFY


@dataclass(frozen=True, kw_only=True)
class Rule:
    """A rule as stored and shown, its defaults filled in."""

    rule_id: str
    measure: RuleMeasure
    below: int | None = None
    above: int | None = None
    min_sample: int = DEFAULT_MIN_SAMPLE
    action: RuleAction
    duration: timedelta | None = None  # None for notify

    def holds(self, value: int) -> bool:
        """The condition: strictly below, or strictly above, the threshold."""
        if self.below is not None:
            return value < self.below
        return self.above is not None and value > self.above

    def acts(self, value: int, sample: int) -> bool:
        return sample >= self.min_sample and self.holds(value)

    def ends_at(self, imposed_at: datetime) -> datetime | None:
        return imposed_at + self.duration if self.duration is not None else None


@dataclass(frozen=True, kw_only=True)
class RuleInput:
    """A rule as a client sent it: None where unset, or an enum value not known."""

    rule_id: str
    measure: RuleMeasure | None
    below: int | None
    above: int | None
    min_sample: int | None
    action: RuleAction | None
    duration: timedelta | None


def check_rules(rules: Sequence[RuleInput], *, field: str = "policy.rules") -> tuple[Rule, ...]:
    """The rules, checked and with their defaults; errors name ``field[i].<name>``."""
    if len(rules) > MAX_RULES:
        raise InvalidArgument(field, f"must hold at most {MAX_RULES} rules, not {len(rules)}")
    seen: dict[str, int] = {}
    checked = []
    for i, rule in enumerate(rules):
        at = f"{field}[{i}]"
        checked.append(check_rule(rule, field=at))
        if rule.rule_id in seen:
            raise InvalidArgument(
                f"{at}.rule_id",
                f"{rule.rule_id!r} is used by {field}[{seen[rule.rule_id]}] already",
            )
        seen[rule.rule_id] = i
    return tuple(checked)


def check_rule(rule: RuleInput, *, field: str) -> Rule:
    if not _RULE_ID.fullmatch(rule.rule_id):
        raise InvalidArgument(f"{field}.rule_id", "must be 1-64 characters of a-z, 0-9, _ and -")
    if rule.measure is None:
        raise InvalidArgument(f"{field}.measure", f"must be one of {', '.join(RuleMeasure)}")
    if rule.action is None:
        raise InvalidArgument(f"{field}.action", f"must be one of {', '.join(RuleAction)}")
    _check_condition(rule, field=field)
    min_sample = DEFAULT_MIN_SAMPLE if rule.min_sample is None else rule.min_sample
    if not 1 <= min_sample <= MAX_MIN_SAMPLE:
        raise InvalidArgument(f"{field}.min_sample", f"must be between 1 and {MAX_MIN_SAMPLE}")
    return Rule(
        rule_id=rule.rule_id,
        measure=rule.measure,
        below=rule.below,
        above=rule.above,
        min_sample=min_sample,
        action=rule.action,
        duration=_duration(rule.action, rule.duration, field=f"{field}.duration"),
    )


def _check_condition(rule: RuleInput, *, field: str) -> None:
    if rule.below is not None and rule.above is not None:
        raise InvalidArgument(f"{field}.above", "a rule takes one of below or above, not both")
    if rule.below is None and rule.above is None:
        raise InvalidArgument(f"{field}.below", "a rule needs one of below or above (0-100)")
    name, value = ("below", rule.below) if rule.below is not None else ("above", rule.above)
    if value is None or not 0 <= value <= 100:
        raise InvalidArgument(f"{field}.{name}", "must be between 0 and 100")


def _duration(action: RuleAction, duration: timedelta | None, *, field: str) -> timedelta | None:
    if not action.lasts:
        if duration is not None:
            raise InvalidArgument(field, "a notify rule ends as it acts: leave duration unset")
        return None
    if duration is None:
        return DEFAULT_DURATION
    if duration % timedelta(seconds=1):
        raise InvalidArgument(field, "must be a whole number of seconds")
    if not MIN_DURATION <= duration <= MAX_DURATION:
        raise InvalidArgument(field, "must be between 1 hour and 90 days")
    return duration


def flag_share(flagged: int, submitted: int) -> int:
    """The time-flag share: 100 * flagged / submitted, rounded half up (0 for none)."""
    return percent(Fraction(flagged, submitted)) if submitted else 0


# The stored form (JSON), as a sanction keeps the rule it was imposed by.


def rule_to_json(rule: Rule) -> dict[str, Any]:
    return {
        "rule_id": rule.rule_id,
        "measure": rule.measure.value,
        "below": rule.below,
        "above": rule.above,
        "min_sample": rule.min_sample,
        "action": rule.action.value,
        "duration_seconds": (
            int(rule.duration.total_seconds()) if rule.duration is not None else None
        ),
    }


def rule_from_json(data: Mapping[str, Any]) -> Rule:
    seconds = data["duration_seconds"]
    return Rule(
        rule_id=data["rule_id"],
        measure=RuleMeasure(data["measure"]),
        below=data["below"],
        above=data["above"],
        min_sample=data["min_sample"],
        action=RuleAction(data["action"]),
        duration=timedelta(seconds=seconds) if seconds is not None else None,
    )
