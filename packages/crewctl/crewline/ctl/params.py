"""Argument types crewctl reads once for every command: durations and points in time;
and the --service option of the commands that look after one service's upkeep."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

import click

from crewline.ctl.config import SERVICES


def new_request_id() -> str:
    """A fresh idempotency key for a call the caller gave none (it is printed, so a retry
    can repeat it)."""
    return f"crewctl-{uuid.uuid4()}"


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86_400}
# ASCII digits only: str.isdigit and \d take others ('²', '٣') that int() reads or not.
_SECONDS = re.compile(r"[0-9]+")
_PART = re.compile(r"([0-9]+)([smhd])")
_WHOLE = re.compile(r"(?:[0-9]+[smhd])+")
MAX_DURATION_SECONDS = 366 * 86_400
F = TypeVar("F", bound=Callable[..., Any])


def parse_duration(
    text: str, *, minimum: int = 0, maximum: int = MAX_DURATION_SECONDS, zero: bool = False
) -> int:
    """``90`` or ``90s``, ``30m``, ``2h``, ``1d``, ``1h30m`` -> seconds; else ValueError.
    ``zero``: 0 is taken too, below ``minimum`` (the server's default)."""
    word = text.strip().lower()
    if _SECONDS.fullmatch(word):
        seconds = int(word)
    elif _WHOLE.fullmatch(word):
        seconds = sum(int(n) * _UNITS[unit] for n, unit in _PART.findall(word))
    else:
        raise ValueError(f"{text!r} is not a duration: give seconds (90) or e.g. 90s, 30m, 2h, 1d")
    if zero and seconds == 0:
        return seconds
    if not minimum <= seconds <= maximum:
        default = "0 (the server's default) or " if zero else ""
        raise ValueError(
            f"{text} is out of range: {default}{minimum} s to {maximum // 86_400} days"
        )
    return seconds


class Duration(click.ParamType[int, Any]):
    """Seconds, from ``90``, ``90s``, ``30m``, ``2h``, ``1d`` or ``1h30m``."""

    name = "duration"

    def __init__(
        self, *, minimum: int = 0, maximum: int = MAX_DURATION_SECONDS, zero: bool = False
    ) -> None:
        self._minimum = minimum
        self._maximum = maximum
        self._zero = zero

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            return value
        try:
            return parse_duration(
                str(value), minimum=self._minimum, maximum=self._maximum, zero=self._zero
            )
        except ValueError as err:
            self.fail(str(err), param, ctx)


def parse_instant(text: str) -> datetime:
    """ISO 8601 with a time zone (``2026-05-01T12:00:00Z``, ``...+02:00``); else ValueError."""
    try:
        at = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"{text!r} is not an ISO 8601 time, e.g. 2026-05-01T12:00:00Z") from None
    if at.tzinfo is None:
        raise ValueError(f"{text!r} has no time zone: add Z (UTC) or an offset such as +02:00")
    return at


class Instant(click.ParamType[datetime, Any]):
    """A point in time: ISO 8601 with a time zone."""

    name = "iso8601"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> datetime:
        if isinstance(value, datetime):
            return value
        try:
            return parse_instant(str(value))
        except ValueError as err:
            self.fail(str(err), param, ctx)


def service_option(*, default: str, help: str) -> Callable[[F], F]:
    """``--service``: one of the services (``SERVICES``), ``default`` when not given."""
    choice = click.Choice(SERVICES)
    return click.option("--service", type=choice, default=default, show_default=True, help=help)
