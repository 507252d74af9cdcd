"""Recording each operation as the caller saw it: ok, fail or info.

A refusal the server decided (a status it answers before or instead of changing
anything) is a definite ``fail``. A call that timed out, could not reach the service
after the SDK's retries, or ended with a status that says nothing about whether the
change happened is ``info``: indefinite, either way is allowed.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from chaos.model import Op, Outcome
from crewline.client import CrewlineError

T = TypeVar("T")

# Statuses whose answer leaves the outcome unknown: the change may have committed.
INDEFINITE = frozenset({"UNAVAILABLE", "DEADLINE_EXCEEDED", "CANCELLED", "UNKNOWN", "INTERNAL"})


def outcome_of(err: CrewlineError) -> Outcome:
    return "info" if err.code_name in INDEFINITE else "fail"


@dataclass(frozen=True)
class Answer(Generic[T]):
    """An operation as recorded, and its result (None unless it is ok)."""

    op: Op
    result: T | None


class History:
    """The run's operations, in the order they ended, each with its start and end."""

    def __init__(self) -> None:
        self.ops: list[Op] = []
        self._t0 = time.monotonic()

    def now(self) -> float:
        """Seconds since the run started."""
        return time.monotonic() - self._t0

    async def call(
        self,
        process: str,
        f: str,
        args: dict[str, Any],
        call: Callable[[], Awaitable[T]],
        value: Callable[[T], dict[str, Any]] | None = None,
    ) -> Answer[T]:
        """Runs ``call`` and records it. ``value`` picks the ids of a result worth keeping."""
        start = self.now()
        try:
            result = await call()
        except CrewlineError as err:
            op = self._add(
                process,
                f,
                outcome_of(err),
                start,
                args,
                code=err.code_name,
                reason=err.reason or "",
                message=err.message[:200],
            )
            return Answer(op, None)
        kept = value(result) if value else {}
        return Answer(self._add(process, f, "ok", start, args, value=kept), result)

    def note(self, process: str, f: str, args: dict[str, Any]) -> None:
        """An operation that calls nothing (walking away from a claim): always ok."""
        now = self.now()
        self._add(process, f, "ok", now, args)

    def _add(
        self,
        process: str,
        f: str,
        kind: Outcome,
        start: float,
        args: dict[str, Any],
        *,
        value: dict[str, Any] | None = None,
        code: str = "",
        reason: str = "",
        message: str = "",
    ) -> Op:
        op = Op(
            index=len(self.ops),
            process=process,
            f=f,
            type=kind,
            start=start,
            end=self.now(),
            args=args,
            value=value or {},
            code=code,
            reason=reason,
            message=message,
        )
        self.ops.append(op)
        return op

    def counts(self) -> Counter[tuple[str, str]]:
        """(operation, outcome) -> how many."""
        return Counter((op.f, op.type) for op in self.ops)
