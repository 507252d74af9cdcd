"""What every invariant shares: its verdict, the findings it collects on the way, and
the history indexed by what each operation names."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from chaos.model import Op, Outcome

CAUSES: tuple[Outcome, ...] = ("ok", "info")  # an operation that may have changed something


@dataclass(kw_only=True)
class Verdict:
    """One invariant's answer: whether it holds, its figures, and on a failure what is
    wrong, each with the ids to look up."""

    name: str
    holds: bool
    figures: dict[str, int | str]
    ids: list[str]


class Findings:
    """The failures of one invariant, by kind; each kind's count is a figure (0 too)."""

    def __init__(self, *kinds: str) -> None:
        self.counts: dict[str, int] = dict.fromkeys(kinds, 0)
        self.ids: list[str] = []

    def add(self, kind: str, what: str, *, count: int = 1) -> None:
        self.counts[kind] += count
        self.ids.append(f"{kind}: {what}")

    def verdict(self, name: str, **figures: int | str) -> Verdict:
        return Verdict(
            name=name, holds=not self.ids, figures={**figures, **self.counts}, ids=self.ids
        )


def arg(op: Op, name: str) -> str:
    return str(op.args.get(name, ""))


class Ops:
    """The history, indexed: operations by name and outcome, and by the ids they name."""

    def __init__(self, ops: Iterable[Op]) -> None:
        self.all = list(ops)
        self._by_f: dict[str, list[Op]] = defaultdict(list)
        for op in self.all:
            self._by_f[op.f].append(op)

    def of(self, f: str, *outcomes: Outcome) -> list[Op]:
        """``f``'s operations with one of ``outcomes`` (any when none is given)."""
        return [op for op in self._by_f.get(f, []) if not outcomes or op.type in outcomes]

    def ok(self, f: str) -> list[Op]:
        return self.of(f, "ok")

    def caused(self, f: str) -> list[Op]:
        """``f``'s operations that may have happened: ok or info."""
        return self.of(f, *CAUSES)

    def by(
        self, f: str, *names: str, outcomes: tuple[Outcome, ...] = CAUSES
    ) -> set[tuple[str, ...]]:
        """The ``names`` arguments of ``f``'s operations with one of ``outcomes``."""
        return {tuple(arg(op, n) for n in names) for op in self.of(f, *outcomes)}

    def on(self, f: str, name: str, outcomes: tuple[Outcome, ...] = CAUSES) -> dict[str, list[Op]]:
        """``f``'s operations with one of ``outcomes``, by their argument ``name``."""
        found: dict[str, list[Op]] = defaultdict(list)
        for op in self.of(f, *outcomes):
            found[arg(op, name)].append(op)
        return found
