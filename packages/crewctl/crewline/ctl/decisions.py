"""The shape of a decisions file's line, written once: ``parse_decision`` reads lines by
these tables and ``decisions_help`` prints them, so the help and the parser cannot
disagree."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import click

from crewline.ctl.pb import MoneyRecord
from crewline.ctl.submissions import money

DECISIONS = ("accept", "reject", "bonus")
_ALL = frozenset(DECISIONS)

# Decisions-file bonuses without a "key" get one derived from what they grant, so a
# re-run grants nothing twice.
_REVIEW_KEYS = uuid.UUID("5e0c9a52-3b7e-4f4d-9a41-8c2f6d1b7e90")


@dataclass(frozen=True)
class Field:
    """One field of a line: what it holds, and which decisions require or take it."""

    name: str
    holds: str
    meaning: str
    required: frozenset[str] = frozenset()
    allowed: frozenset[str] = _ALL


LINE_FIELDS = (
    Field("submission_id", "text", "the submission (the same id as its claim)", _ALL),
    Field("decision", "accept|reject|bonus", "what to do", _ALL),
    Field(
        "feedback",
        "text",
        "to the contractor, at most 2,000 characters; required to reject",
        frozenset({"reject"}),
        frozenset({"accept", "reject"}),
    ),
    Field(
        "override_rejection",
        "true|false",
        "accept work you rejected, within 30 days of the rejection",
        allowed=frozenset({"accept"}),
    ),
    Field(
        "bonus",
        "object",
        'the bonus to pay: required by "bonus", optional with accept or reject',
        frozenset({"bonus"}),
    ),
)
BONUS_FIELDS = (
    Field("amount", '"12.50"', "in the currency's units; text, or a number", _ALL),
    Field("currency", '"USD"', "the submission's currency", _ALL),
    Field("reason", "text", "the contractor sees it (1-500 characters)", _ALL),
    Field(
        "key",
        "text",
        "idempotency key; default: derived from the submission, amount, currency and"
        " reason, so a re-run never pays twice",
    ),
)
_BONUS = {"amount": "2.00", "currency": "USD", "reason": "Fast"}
EXAMPLES: tuple[dict[str, Any], ...] = (
    {"submission_id": "...", "decision": "accept", "feedback": "Great"},
    {"submission_id": "...", "decision": "accept", "override_rejection": True},
    {"submission_id": "...", "decision": "reject", "feedback": "Why (required)"},
    {"submission_id": "...", "decision": "accept", "bonus": _BONUS},
    {"submission_id": "...", "decision": "bonus", "bonus": {**_BONUS, "key": "row-17"}},
)


@dataclass(frozen=True, kw_only=True)
class Bonus:
    amount: MoneyRecord
    reason: str
    key: str


@dataclass(frozen=True)
class Decision:
    line: int
    submission_id: str
    decision: str  # accept, reject or bonus
    feedback: str = ""
    override: bool = False
    bonus: Bonus | None = None  # the bonus decision's, or one paid with an accept or reject


def _table(title: str, fields: tuple[Field, ...]) -> list[str]:
    width = max(len(f.name) for f in fields)
    lines = [title]
    for f in fields:
        need = "required" if f.required == _ALL else ""
        only = "" if f.allowed == _ALL else f"{' or '.join(sorted(f.allowed))} only"
        said = "; ".join(s for s in (need, only, f.meaning) if s)
        lines.append(f"  {f.name:<{width}}  {f.holds}: {said}")
    return lines


def decisions_help() -> str:
    """The fields a line takes and examples, for ``submission review --help``."""
    lines = [
        "\b",
        *_table("Fields of a line:", LINE_FIELDS),
        *_table('Fields of "bonus":', BONUS_FIELDS),
        "Examples:",
        *(f"  {json.dumps(example)}" for example in EXAMPLES),
    ]
    return "\n".join(lines)


def bonus_key(submission_id: str, amount: MoneyRecord, reason: str) -> str:
    """The key of a decisions-file bonus given none: the same bonus, the same key."""
    name = "\x1f".join((submission_id, amount["currency"], str(amount["amount_minor"]), reason))
    return f"review-{uuid.uuid5(_REVIEW_KEYS, name)}"


def _text(data: Mapping[str, Any], name: str, *, required: bool = False) -> str:
    value = data.get(name, "")
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ValueError(f'"{name}" must be a string')
    if required and not value.strip():
        raise ValueError(f'"{name}" is required')
    return value


def _check_names(data: Mapping[str, Any], decision: str) -> None:
    """Refuse a field the line does not take, saying where it belongs."""
    known = {f.name: f for f in LINE_FIELDS}
    for name in data:
        if name in known and decision not in known[name].allowed:
            raise ValueError(f'"{name}" is for {" or ".join(sorted(known[name].allowed))} only')
        if name in known:
            continue
        if name in {f.name for f in BONUS_FIELDS}:
            raise ValueError(f'"{name}" belongs under "bonus": {_bonus_shape()}')
        raise ValueError(f'unknown field "{name}"; a line takes {", ".join(known)}')


def _bonus_shape() -> str:
    return "{" + ", ".join(f'"{f.name}"' for f in BONUS_FIELDS) + "}"


def _bonus(data: object, submission_id: str) -> Bonus:
    if not isinstance(data, dict):
        raise ValueError(f'"bonus" must be an object: {_bonus_shape()}')
    for name in data:
        if name not in {f.name for f in BONUS_FIELDS}:
            raise ValueError(f'unknown field "bonus.{name}"; "bonus" takes {_bonus_shape()}')
    raw = data.get("amount")
    if isinstance(raw, bool) or not isinstance(raw, str | int | Decimal):
        raise ValueError('"bonus.amount" is required, e.g. "12.50"')
    try:
        currency = _text(data, "currency", required=True)
        reason = _text(data, "reason", required=True)
        amount = money(str(raw), currency)
    except click.BadParameter as err:
        raise ValueError(f'"bonus.amount": {err.message}') from None
    except ValueError as err:
        raise ValueError(str(err).replace('"', '"bonus.', 1)) from None
    key = _text(data, "key") or bonus_key(submission_id, amount, reason)
    return Bonus(amount=amount, reason=reason, key=key)


def parse_decision(line: int, text: str) -> Decision:
    """One line of a decisions file; ValueError says what is wrong with it."""
    try:
        data = json.loads(text, parse_float=Decimal)  # amounts stay exact
    except json.JSONDecodeError as err:
        raise ValueError(f"not JSON ({err.msg})") from None
    if not isinstance(data, dict):
        raise ValueError("expected a JSON object")
    submission_id = _text(data, "submission_id", required=True)
    decision = _text(data, "decision", required=True).lower()
    if decision not in DECISIONS:
        raise ValueError(f'"decision" must be one of {", ".join(DECISIONS)}, not {decision!r}')
    _check_names(data, decision)
    for field in LINE_FIELDS:
        if decision in field.required and data.get(field.name) in (None, ""):
            raise ValueError(f'"{field.name}" is required to {decision}')
    extra = data.get("bonus")
    bonus = _bonus(extra, submission_id) if extra is not None else None
    override = data.get("override_rejection", False)
    if not isinstance(override, bool):
        raise ValueError('"override_rejection" must be true or false')
    feedback = _text(data, "feedback", required=decision == "reject")
    return Decision(line, submission_id, decision, feedback, override, bonus)
