"""How the demo shows itself: live counts while it runs, then the summary.

Live bars on a terminal; a plain line every few seconds otherwise (CI logs stay short).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from tools.demo_summary import Summary, format_usd

LIVE_REFRESH = 0.1
PLAIN_INTERVAL = 3.0
TOP_EARNERS = 8


def say(console: Console, text: str) -> None:
    """One plain line, never wrapped nor read as markup (CI logs stay greppable)."""
    console.print(text, markup=False, highlight=False, soft_wrap=True)


@dataclass
class Tracker:
    """Live counts, written by the demo's actors and read by the display."""

    tasks: int = 0  # planned
    slots: int = 0  # planned
    counts: Counter[str] = field(default_factory=Counter)
    phase: str = "setting up"

    def add(self, what: str, n: int = 1) -> None:
        self.counts[what] += n

    def rows(self) -> list[tuple[str, int, int, str]]:
        """(label, done, total, detail) for each bar."""
        c = self.counts
        return [
            ("published", c["published"], self.tasks, f"{c['published']}/{self.tasks} tasks"),
            (
                "claimed",
                c["granted"],
                0,
                f"{c['granted']} granted, {c['lost race']} lost races,"
                f" {c['released']} released, {c['abandoned']} abandoned",
            ),
            (
                "handed in",
                c["submitted"],
                self.slots,
                f"{c['submitted']}/{self.slots} slots, {c['gold answered']} gold",
            ),
            (
                "reviewed",
                c["accepted"] + c["rejected"],
                0,
                f"{c['accepted']} accepted, {c['rejected']} rejected, {c['bonus']} bonuses",
            ),
        ]

    def line(self) -> str:
        c = self.counts
        return (
            f"{self.phase} | published {c['published']}/{self.tasks}"
            f" | claims {c['granted']} (lost {c['lost race']}, released {c['released']},"
            f" abandoned {c['abandoned']}) | handed in {c['submitted']}/{self.slots}"
            f" (gold {c['gold answered']})"
            f" | accepted {c['accepted']}, rejected {c['rejected']}"
        )


@asynccontextmanager
async def live_progress(tracker: Tracker, console: Console) -> AsyncIterator[None]:
    """Bars on a terminal, else a plain line every few seconds (and one at the end)."""
    show = _bars(tracker, console) if console.is_terminal else _lines(tracker, console)
    refresher = asyncio.create_task(show)
    try:
        yield
    finally:
        refresher.cancel()
        await asyncio.gather(refresher, return_exceptions=True)


async def _bars(tracker: Tracker, console: Console) -> None:
    progress = Progress(
        TextColumn("{task.description:<10}"),
        BarColumn(),
        TextColumn("{task.fields[detail]}"),
        TimeElapsedColumn(),
        console=console,
    )
    ids = {
        row[0]: progress.add_task(row[0], total=row[2] or None, detail="") for row in tracker.rows()
    }
    with progress:
        try:
            while True:
                _update(progress, ids, tracker)
                await asyncio.sleep(LIVE_REFRESH)
        finally:
            _update(progress, ids, tracker)


def _update(progress: Progress, ids: dict[str, TaskID], tracker: Tracker) -> None:
    for label, done, total, detail in tracker.rows():
        progress.update(ids[label], completed=done, total=total or None, detail=detail)


async def _lines(tracker: Tracker, console: Console) -> None:
    started, last = time.monotonic(), ""

    def show_if_changed() -> None:
        nonlocal last
        if (line := tracker.line()) != last:
            say(console, f"[{time.monotonic() - started:5.1f}s] {line}")
            last = line

    try:
        while True:
            await asyncio.sleep(PLAIN_INTERVAL)
            show_if_changed()
    finally:
        show_if_changed()


def _pairs(title: str, rows: list[tuple[str, str]]) -> Table:
    table = Table(title=title, show_header=False, title_justify="left")
    table.add_column("what", no_wrap=True)
    table.add_column("value")
    for label, value in rows:
        table.add_row(label, value)
    return table


def _counts(d: dict[str, int]) -> str:
    return ", ".join(f"{v:,} {k}" for k, v in d.items())


def _spread(values: list[int]) -> str:
    if not values:
        return "-"
    xs = sorted(values)
    low, mid, high = (format_usd(x) for x in (xs[0], xs[len(xs) // 2], xs[-1]))
    return f"min {low}, median {mid}, max {high}"


def _short(contractor_id: str) -> str:
    """``demo-<run>-c007`` -> ``c007``: the run is in the title."""
    return contractor_id.rsplit("-", 1)[-1]


def _earners(s: Summary) -> Table:
    table = Table(
        title=f"Pay per contractor (top {TOP_EARNERS} of {len(s.contractors)} by earnings)",
        title_justify="left",
    )
    table.add_column("who")
    for column in ("claims", "acc.", "rej.", "work pay", "extra", "per hour*", "paid out"):
        table.add_column(column, justify="right")
    table.add_column("left", justify="right")
    ranked = sorted(s.contractors, key=lambda c: (-c.earned_minor, c.contractor_id))
    for c in ranked[:TOP_EARNERS]:
        table.add_row(
            _short(c.contractor_id),
            str(c.claims),
            str(c.accepted),
            str(c.rejected),
            format_usd(c.work_minor),
            format_usd(c.extra_minor),
            format_usd(c.hourly_minor) if c.hourly_minor is not None else "-",
            format_usd(c.paid_out_minor),
            format_usd(c.balance_minor),
        )
    return table


ACTIONS = {"SUSPEND": "suspended", "REVIEW_ALL": "put under review", "NOTIFY": "notified"}


def _quality(s: Summary, console: Console) -> None:
    """Who was caught, by which rule and value, on what evidence; the appeal."""
    if s.gold:
        say(console, f"Triage gold: {_counts(s.gold)}")
    for line in s.sanctions:
        who = _short(line.contractor_id) + (" (careless)" if line.careless else "")
        say(
            console,
            f"- {who}: {ACTIONS.get(line.action, line.action)} by rule {line.rule},"
            f" {line.measure.lower().replace('_', ' ')}"
            f" {line.value} < {line.below} over {line.sample} gold answers; now"
            f" {line.state.lower()}; evidence ({line.evidence_count} items, newest first):",
        )
        for item in line.evidence:
            say(console, f"    {item}")
    for a in s.appeals:
        accepted = f"{a.accepted} rejected gold answer{'' if a.accepted == 1 else 's'}"
        say(
            console,
            f"- {_short(a.contractor_id)} appealed: {a.state.lower()} by the"
            f" {a.decided_by.lower()} ({a.note!r}); suspension lifted, {accepted} accepted"
            " by appeal and paid",
        )


def print_summary(s: Summary, console: Console) -> None:
    hourly = sorted(h for c in s.contractors if (h := c.hourly_minor) is not None)
    median = format_usd(hourly[len(hourly) // 2]) if hourly else "-"
    books = ("balanced: " if s.books_balanced else "UNBALANCED: ") + _counts(s.books)
    console.print(
        _pairs(
            f"Crewline demo, run {s.run_id} (seed {s.seed})",
            [
                ("tasks by state", _counts(s.tasks_by_state)),
                ("claims", _counts(s.claims)),
                ("submissions", _counts(s.pieces)),
                ("claims per contractor", f"Gini {s.claims_gini:.2f}"),
                ("earnings per contractor", _spread([c.earned_minor for c in s.contractors])),
                ("median pay per hour*", median),
                *((label, format_usd(v)) for label, v in s.money.items()),
                ("whole book (VerifyBooks)", books),
                ("elapsed", f"{s.elapsed_seconds:.1f} s"),
            ],
        )
    )
    for note in s.happened:
        say(console, f"- {note}")
    _quality(s, console)
    console.print(_earners(s))
    say(console, "* accepted work's pay per hour of the work it stands for (1 s = 5 min);")
    say(console, "  extra: bonuses and referrals; left: balance after the payout batch")
    passed = sum(c.ok for c in s.checks)
    say(console, f"{passed} of {len(s.checks)} reconciliation checks passed")
    if s.ok:
        console.print(
            "[bold green]Reconciled:[/] every count and every cent agree with the services."
        )
        return
    console.print("[bold red]NOT reconciled:[/]")
    for problem in s.problems:
        console.print(f"  - {escape(problem)}")
