"""A gold file for ``crewctl gold add``: one gold task a line, JSON Lines. Pure: the
lines are read and checked here, and sent by ``crewline.ctl.gold``.

    {"key": "case-17", "payload": {"image": "a.png"},
     "answer": {"severity": "mild", "confidence": 0.8},
     "rules": {"severity": {"also_accepted": ["moderate"]}, "confidence": {"tolerance": 0.1}}}

(one line in the file). Each problem names its line and its key.

A correction file for ``crewctl dispute resolve --correct-file`` holds one corrected key
as a JSON object, with the answer and rules of a gold file's line:

    {"answer": {"severity": "severe", "confidence": 0.8},
     "rules": {"severity": {"also_accepted": ["moderate"]}}}
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO, Any

from crewline.ctl.errors import CtlError, ExitCode, bad_lines

MAX_KEY = 128
LINE_KEYS = {
    "key": "your id for it, text or a whole number (its idempotency key: required)",
    "payload": "what contractors are shown, any JSON value (or payload_base64: bytes)",
    "answer": "the expected answer: an object of the answer spec's fields (required)",
    "rules": 'per field: {"also_accepted": [labels]} (a choice) or {"tolerance": N} (a number)',
}
_KEYS = (*LINE_KEYS, "payload_base64")
_RULE_KEYS = ("also_accepted", "tolerance")


@dataclass(frozen=True)
class GoldLine:
    """One gold task of the file: ``payload`` JSON text (str) or opaque bytes."""

    number: int  # 1-based line in the file
    key: str
    payload: str | bytes
    answer: Mapping[str, Any]
    also_accepted: dict[str, list[str]] = field(default_factory=dict)
    tolerance: dict[str, float] = field(default_factory=dict)

    def weight(self) -> int:
        """About the bytes it takes in a request and again in its reply."""
        payload = self.payload if isinstance(self.payload, bytes) else self.payload.encode()
        return len(payload) + len(json.dumps(self.answer))


def format_help() -> str:
    """A line's fields and an example, for ``gold add --help``."""
    width = max(map(len, LINE_KEYS))
    lines = ["\b", "Fields of a line:"]
    lines += [f"  {name:<{width}}  {meaning}" for name, meaning in LINE_KEYS.items()]
    example = {
        "key": "case-17",
        "payload": {"image": "a.png"},
        "answer": {"severity": "mild", "confidence": 0.8},
        "rules": {"severity": {"also_accepted": ["moderate"]}, "confidence": {"tolerance": 0.1}},
    }
    return "\n".join([*lines, "Example line:", f"  {json.dumps(example)}"])


def _key(value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError('"key" must be text or a whole number')
    key = str(value)
    if not key.strip():
        raise ValueError('"key" is empty')
    if len(key) > MAX_KEY:
        raise ValueError(f'"key" is longer than {MAX_KEY} characters')
    return key


def _payload(data: Mapping[str, Any]) -> str | bytes:
    if "payload" in data and "payload_base64" in data:
        raise ValueError('give "payload" or "payload_base64", not both')
    if "payload_base64" in data:
        encoded = data["payload_base64"]
        try:
            if not isinstance(encoded, str):
                raise ValueError
            return base64.b64decode(encoded, validate=True)
        except (ValueError, binascii.Error):
            raise ValueError('"payload_base64" must be base64 text') from None
    if data.get("payload") is None:
        raise ValueError('"payload" is required (or "payload_base64")')
    return json.dumps(data["payload"], separators=(",", ":"), ensure_ascii=False)


Rules = tuple[dict[str, list[str]], dict[str, float]]  # also_accepted, tolerance by field


def _rules(given: object) -> Rules:
    if not isinstance(given, dict):
        raise ValueError('"rules" must be an object of rules by field')
    also: dict[str, list[str]] = {}
    within: dict[str, float] = {}
    for name, rule in given.items():
        at = f'"rules.{name}'
        if not isinstance(rule, dict):
            raise ValueError(
                f'{at}" must be an object: {{"also_accepted": [...]}} or {{"tolerance": N}}'
            )
        for part in rule:
            if part not in _RULE_KEYS:
                raise ValueError(
                    f'unknown field {at}.{part}"; a rule takes {", ".join(_RULE_KEYS)}'
                )
        labels = rule.get("also_accepted", [])
        if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
            raise ValueError(f'{at}.also_accepted" must be a list of labels')
        tolerance = rule.get("tolerance", 0)
        if isinstance(tolerance, bool) or not isinstance(tolerance, int | float) or tolerance < 0:
            raise ValueError(f'{at}.tolerance" must be a number, 0 or more')
        if labels:
            also[name] = labels
        if tolerance:
            within[name] = float(tolerance)
    return also, within


def parse_gold_line(number: int, text: str) -> GoldLine:
    """One line of a gold file; ValueError says what is wrong with it, naming the key."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise ValueError(f"not JSON ({err.msg})") from None
    if not isinstance(data, dict):
        raise ValueError("expected a JSON object")
    for name in data:
        if name not in _KEYS:
            raise ValueError(f'unknown field "{name}"; a line takes {", ".join(_KEYS)}')
    if "key" not in data:
        raise ValueError('"key" is required: your id for this gold task')
    key, payload = _key(data["key"]), _payload(data)
    answer = data.get("answer")
    if not isinstance(answer, dict) or not answer:
        raise ValueError('"answer" must be an object of the answer spec\'s fields')
    also, within = _rules(data["rules"] if data.get("rules") is not None else {})
    return GoldLine(number, key, payload, answer, also, within)


def read_gold(source: IO[str]) -> list[GoldLine]:
    """Every gold task in the file, or a usage error listing the lines that are wrong
    (then nothing is added). Blank lines are skipped; a key twice is an error."""
    found: list[GoldLine] = []
    problems: list[str] = []
    seen: dict[str, int] = {}
    for number, text in enumerate(source, start=1):
        if not text.strip():
            continue
        try:
            line = parse_gold_line(number, text)
        except ValueError as err:
            problems.append(f"line {number}: {err}")
            continue
        if line.key in seen:
            problems.append(f'line {number}: "key" {line.key!r} is also on line {seen[line.key]}')
            continue
        seen[line.key] = number
        found.append(line)
    if not found and not problems:
        problems.append("no gold tasks in it")
    if problems:
        raise bad_lines(source.name, problems, nothing_done="nothing was added")
    return found


def batches(lines: Sequence[GoldLine], size: int, max_bytes: int) -> Iterator[list[GoldLine]]:
    """``lines`` in order, at most ``size`` and about ``max_bytes`` a batch (a single
    larger line is a batch of its own)."""
    batch: list[GoldLine] = []
    weight = 0
    for line in lines:
        cost = line.weight()
        if batch and (len(batch) == size or weight + cost > max_bytes):
            yield batch
            batch, weight = [], 0
        batch.append(line)
        weight += cost
    if batch:
        yield batch


@dataclass(frozen=True)
class Correction:
    """A corrected gold key: its answer and how its fields are scored."""

    answer: Mapping[str, Any]
    also_accepted: dict[str, list[str]] = field(default_factory=dict)
    tolerance: dict[str, float] = field(default_factory=dict)


def read_correction(source: IO[str]) -> Correction:
    """The corrected key in a correction file, or a usage error naming what is wrong
    (then nothing is sent). Whether the key fits the project's answer spec is the
    quality service's to say, as for a gold task's."""
    try:
        data = json.loads(source.read())
        if not isinstance(data, dict):
            raise ValueError("expected a JSON object with answer (and rules)")
        for name in data:
            if name not in ("answer", "rules"):
                raise ValueError(f'unknown field "{name}"; the file takes answer, rules')
        answer = data.get("answer")
        if not isinstance(answer, dict) or not answer:
            raise ValueError('"answer" must be an object of the answer spec\'s fields')
        also, within = _rules(data["rules"] if data.get("rules") is not None else {})
    except json.JSONDecodeError as err:
        raise CtlError(f"{source.name}: not JSON ({err.msg})", exit_code=ExitCode.USAGE) from None
    except ValueError as err:
        raise CtlError(f"{source.name}: {err}", exit_code=ExitCode.USAGE) from None
    return Correction(answer, also, within)
