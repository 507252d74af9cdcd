"""The checker: each invariant of a chaos run, judged on its history and final state.

``check(ops, state)`` is pure, so a run's verdict can be computed again offline from its
``history.jsonl`` and ``state.json``, and the self-test can run it on a copy with a
defect planted. Each invariant lives in ``chaos.checks``, written as the docs state it.
"""

from __future__ import annotations

from collections.abc import Callable

from chaos.checks.claims import claims_end_once
from chaos.checks.common import Verdict
from chaos.checks.delivery import dead_letters, deadlines_once, watch
from chaos.checks.money import balances, books, paid_once
from chaos.checks.quality import (
    appeals_paid,
    gold_hidden,
    one_sanction,
    sanction_evidence,
    suspended_no_claims,
)
from chaos.checks.tasks import slots, tasks_once
from chaos.checks.writes import no_lost_writes
from chaos.model import Op, State

__all__ = ["INVARIANTS", "Verdict", "check", "format_verdicts"]

Invariant = Callable[[list[Op], State], Verdict]

INVARIANTS: dict[str, Invariant] = {
    "tasks_once": tasks_once,
    "slots": slots,
    "paid_once": paid_once,
    "balances": balances,
    "books": books,
    "claims_end_once": claims_end_once,
    "deadlines_once": deadlines_once,
    "watch": watch,
    "dead_letters": dead_letters,
    "no_lost_writes": no_lost_writes,
    "sanction_evidence": sanction_evidence,
    "one_sanction": one_sanction,
    "appeals_paid": appeals_paid,
    "gold_hidden": gold_hidden,
    "suspended_no_claims": suspended_no_claims,
}
SHOWN_IDS = 20  # of a failure's ids; the rest are counted


def check(ops: list[Op], state: State) -> list[Verdict]:
    """Every invariant's verdict, in the order of ``INVARIANTS``."""
    return [invariant(ops, state) for invariant in INVARIANTS.values()]


def format_verdicts(verdicts: list[Verdict]) -> str:
    """One line per invariant, HOLDS or FAILS with its figures; under a failure, the ids
    involved (the first ``SHOWN_IDS``, and how many more)."""
    width = max((len(v.name) for v in verdicts), default=0)
    lines = []
    for v in verdicts:
        figures = " ".join(f"{k}={val}" for k, val in v.figures.items())
        lines.append(f"{v.name:<{width}}  {'HOLDS' if v.holds else 'FAILS'}  {figures}")
        if not v.holds:
            lines += [f"    {what}" for what in v.ids[:SHOWN_IDS]]
            if len(v.ids) > SHOWN_IDS:
                lines.append(f"    ... and {len(v.ids) - SHOWN_IDS} more")
    return "\n".join(lines)
