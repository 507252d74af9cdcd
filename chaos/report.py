"""The run's tables: operations by outcome, faults and their recovery."""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict

from chaos.model import Fault, Op

OUTCOMES = ("ok", "fail", "info")


def operations_table(ops: list[Op]) -> str:
    """One row per operation: how many ended ok, fail and info, and the commonest
    reasons for the refusals and the unknowns."""
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    why: dict[str, Counter[str]] = defaultdict(Counter)
    for op in ops:
        counts[op.f][op.type] += 1
        if op.type != "ok":
            why[op.f][op.reason or op.code] += 1
    lines = [
        f"| {'operation':<20} | {'ok':>7} | {'fail':>6} | {'info':>5} | fail and info by reason",
        f"|{'-' * 22}|{'-' * 9}|{'-' * 8}|{'-' * 7}|{'-' * 24}",
    ]
    for f in sorted(counts, key=lambda name: -sum(counts[name].values())):
        c = counts[f]
        reasons = ", ".join(f"{r} {n}" for r, n in why[f].most_common(4))
        lines.append(f"| {f:<20} | {c['ok']:>7} | {c['fail']:>6} | {c['info']:>5} | {reasons}")
    total = Counter(op.type for op in ops)
    lines.append(f"| {'all':<20} | {total['ok']:>7} | {total['fail']:>6} | {total['info']:>5} |")
    return "\n".join(lines)


def faults_table(faults: list[Fault], planned: dict[str, int]) -> str:
    """Per kind of fault: how many were planned and injected, and the seconds from the
    fault to the first canary task through the pipeline after it (p50 and max)."""
    lines = [
        f"| {'fault':<17} | {'planned':>7} | {'injected':>8} | {'recovered':>9} "
        f"| {'recovery p50':>12} | {'max':>7}",
        f"|{'-' * 19}|{'-' * 9}|{'-' * 10}|{'-' * 11}|{'-' * 14}|{'-' * 9}",
    ]
    for kind, wanted in planned.items():
        mine = [f for f in faults if f.kind == kind]
        times = [t for f in mine if (t := f.recovery_seconds) is not None]
        p50 = f"{statistics.median(times):.1f} s" if times else "-"
        worst = f"{max(times):.1f} s" if times else "-"
        lines.append(
            f"| {kind:<17} | {wanted:>7} | {len(mine):>8} | {len(times):>9} | {p50:>12} "
            f"| {worst:>7}"
        )
    return "\n".join(lines)


def unrecovered(faults: list[Fault]) -> list[Fault]:
    return [f for f in faults if f.recovered is None]
