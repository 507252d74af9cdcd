"""When a contractor is given gold, and which. Pure: the randomness is passed in.

Each ordinary claim a contractor is granted in a project is a draw: with probability
q = s / (100 - s), s the project's gold share in percent, one gold task they have not
met is issued to them, picked uniformly. They hold at most one open gold task per
project at a time, and gold work starts no draw, so of what they take about
q / (1 + q) = s / 100 is gold.

A gold task is met once its contractor claims it (the claim shows its payload): it is
never issued to them again. One they never claim lapses after the project's task
lifetime (plus ``LAPSE_GRACE``, the time an issue takes to become a task) and was
never seen: it is not met, and may be drawn again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from fractions import Fraction
from typing import Protocol

from crewline import validate
from crewline.errors import InvalidArgument
from quality.domain.rules import Rule, RuleInput, check_rules

DEFAULT_GOLD_SHARE = 5
MAX_GOLD_SHARE = 50
DEFAULT_TASK_LIFETIME = timedelta(days=7)  # the dispatcher's, for a project that says 0
LAPSE_GRACE = timedelta(minutes=5)


class RandomSource(Protocol):
    """``random.Random`` (``SystemRandom`` in the service; a seeded one in tests)."""

    def random(self) -> float: ...

    def randrange(self, stop: int, /) -> int: ...


POLICY_PATHS = ("gold_share_percent", "rules")


@dataclass(frozen=True, kw_only=True)
class QualityPolicy:
    project_id: str
    gold_share_percent: int = DEFAULT_GOLD_SHARE
    rules: tuple[Rule, ...] = ()


@dataclass(frozen=True, kw_only=True)
class SetPolicy:
    """Command: ``set_share`` and ``rules`` say what is replaced. A share of None is the
    default; rules of None are kept."""

    client_id: str
    project_id: str
    gold_share_percent: int | None
    set_share: bool = True
    rules: tuple[Rule, ...] | None = None


def set_policy(
    *,
    client_id: str,
    project_id: str,
    gold_share_percent: int | None,
    rules: Sequence[RuleInput] = (),
    update_mask: Sequence[str] | None = None,
) -> SetPolicy:
    """Without a mask (None, or no paths), the fields set replace the project's: a share
    of None and an empty rules list keep theirs. With one, exactly the paths it names are
    replaced: an unset share goes back to the default, an empty list removes every rule.
    Everything is checked before anything is stored."""
    project = validate.identifier(project_id, field="policy.project_id")
    paths = _paths(update_mask) if update_mask else None
    if gold_share_percent is not None and not 0 <= gold_share_percent <= MAX_GOLD_SHARE:
        raise InvalidArgument(
            "policy.gold_share_percent", f"must be between 0 and {MAX_GOLD_SHARE} (percent)"
        )
    checked = check_rules(rules)
    if paths is None:
        set_share, set_rules = gold_share_percent is not None, bool(checked)
    else:
        set_share, set_rules = "gold_share_percent" in paths, "rules" in paths
    return SetPolicy(
        client_id=client_id,
        project_id=project,
        gold_share_percent=gold_share_percent,
        set_share=set_share,
        rules=checked if set_rules else None,
    )


def _paths(update_mask: Sequence[str]) -> frozenset[str]:
    for path in update_mask:
        if path not in POLICY_PATHS:
            raise InvalidArgument(
                "update_mask", f"{path!r} is not one of {', '.join(POLICY_PATHS)}"
            )
    return frozenset(update_mask)


def issue_probability(share_percent: int) -> Fraction:
    """q = s / (100 - s): the chance an ordinary claim brings gold, so that gold is s % of
    what a contractor takes."""
    if not 0 <= share_percent <= MAX_GOLD_SHARE:
        raise ValueError(f"gold share {share_percent} % is outside 0-{MAX_GOLD_SHARE}")
    return Fraction(share_percent, 100 - share_percent)


def wants_gold(share_percent: int, rng: RandomSource) -> bool:
    """One draw: whether this ordinary claim brings gold."""
    return share_percent > 0 and rng.random() < issue_probability(share_percent)


def pick(unmet: int, rng: RandomSource) -> int | None:
    """Which of ``unmet`` gold tasks (in a fixed order) to issue; None when every one has
    been met: gold has run out for this contractor, and ordinary work goes on."""
    return rng.randrange(unmet) if unmet > 0 else None


def lapses_at(issued_at: datetime, task_lifetime_seconds: int) -> datetime:
    """When an issued gold task nobody claimed stops counting as open."""
    lifetime = (
        timedelta(seconds=task_lifetime_seconds) if task_lifetime_seconds else DEFAULT_TASK_LIFETIME
    )
    return issued_at + lifetime + LAPSE_GRACE


@dataclass(frozen=True, kw_only=True)
class GoldIssue:
    """A gold task issued to one contractor, as the task ``task_id``."""

    task_id: str
    gold_id: str
    project_id: str
    client_id: str
    contractor_id: str
    payload_json: str | None
    payload_bytes: bytes | None
    issued_at: datetime
    lapses_at: datetime
    needs_review: bool = False  # its key holds a text or rubric field: the review judges
