"""What the demo counts, what it concludes, and how it shows both.

Live bars on a terminal; plain periodic lines otherwise (CI logs stay short).
Money is integer cents throughout and only becomes text here.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from crewline.v1 import task_service_pb2 as task_api

LIVE_REFRESH = 0.1
PLAIN_INTERVAL = 2.0


def say(console: Console, text: str) -> None:
    """One plain line, never wrapped nor read as markup (CI logs stay greppable)."""
    console.print(text, markup=False, highlight=False, soft_wrap=True)


def format_usd(minor: int) -> str:
    """Integer cents as dollars, e.g. 301250 -> "$3,012.50"; no floats."""
    dollars, cents = divmod(abs(minor), 100)
    return f"{'-' if minor < 0 else ''}${dollars:,}.{cents:02d}"


@dataclass
class Tracker:
    """Live counts, written by the demo's coroutines and read by the display."""

    tasks: int
    slots: int  # every slot of every task
    planned_minor: int
    submitted: int = 0
    claimed: int = 0
    lost_races: int = 0
    work_submitted: int = 0
    paid_minor: int = 0

    def rows(self) -> list[tuple[str, int, int, str]]:
        """(label, done, total, detail) for each bar."""
        return [
            ("submitted", self.submitted, self.tasks, f"{self.submitted}/{self.tasks} tasks"),
            ("claimed", self.claimed, self.slots, f"{self.claimed}/{self.slots} slots"),
            ("work submitted", self.work_submitted, self.slots, f"{self.work_submitted} pieces"),
            ("paid", self.paid_minor, self.planned_minor, format_usd(self.paid_minor)),
            ("lost races", self.lost_races, 0, f"{self.lost_races:,} refused claims"),
        ]

    def line(self) -> str:
        return (
            f"submitted {self.submitted}/{self.tasks}"
            f" | claimed {self.claimed}/{self.slots} ({self.lost_races} lost races)"
            f" | work {self.work_submitted}/{self.slots}"
            f" | paid {format_usd(self.paid_minor)}/{format_usd(self.planned_minor)}"
        )


@dataclass(frozen=True, kw_only=True)
class Summary:
    """What one run found, asked of the services after the run."""

    run_id: str
    tasks_requested: int
    tasks_submitted: int
    slots_per_task: int
    claims_granted: int
    lost_races: int
    work_submitted: int
    pieces_accepted: int  # sum of the tasks' accepted_count (dispatcher)
    tasks_unsettled: int  # tasks not claimed, handed in and accepted once per slot
    expected_minor: int  # what the client's tasks promise: rewards x slots
    paid_minor: int  # the sum of the run's contractor balances (ledger)
    client_balance_minor: int
    expected_charge_minor: int  # what the client pays: the pay plus the platform fee
    earnings_minor: tuple[int, ...]  # per contractor, ascending
    contractors_mispaid: int  # balance differs from the rewards of the claims granted
    books_balanced: bool
    unbalanced_transactions: int
    elapsed_seconds: float
    timed_out: bool
    errors: tuple[str, ...] = ()

    @property
    def slots_total(self) -> int:
        return self.tasks_submitted * self.slots_per_task

    @property
    def tasks_per_second(self) -> float:
        return self.tasks_submitted / self.elapsed_seconds if self.elapsed_seconds > 0 else 0.0

    @property
    def problems(self) -> list[str]:
        slots, expected = self.slots_total, format_usd(self.expected_minor)
        checks = [
            (self.timed_out, "timed out before everything reconciled"),
            *((True, error) for error in self.errors),
            (
                self.tasks_submitted != self.tasks_requested,
                f"{self.tasks_submitted} of {self.tasks_requested} tasks submitted",
            ),
            (self.claims_granted != slots, f"{self.claims_granted} claims for {slots} slots"),
            (self.work_submitted != slots, f"{self.work_submitted} pieces handed in of {slots}"),
            (self.pieces_accepted != slots, f"{self.pieces_accepted} pieces accepted of {slots}"),
            (self.tasks_unsettled > 0, f"{self.tasks_unsettled} tasks not settled slot by slot"),
            (
                self.paid_minor != self.expected_minor,
                f"contractors hold {format_usd(self.paid_minor)}, expected {expected}",
            ),
            (
                self.client_balance_minor != -self.expected_charge_minor,
                f"client owes {format_usd(-self.client_balance_minor)},"
                f" expected {format_usd(self.expected_charge_minor)} (pay and fee)",
            ),
            (self.contractors_mispaid > 0, f"{self.contractors_mispaid} contractors mispaid"),
            (
                not self.books_balanced or self.unbalanced_transactions > 0,
                f"books unbalanced: {self.unbalanced_transactions} bad transactions",
            ),
        ]
        return [message for failed, message in checks if failed]

    @property
    def ok(self) -> bool:
        return not self.problems


class DemoAborted(Exception):
    """The demo could not reach the stack; the message says what to do."""


def settled(report: task_api.GetTaskResponse, slots: int, claims_seen: int) -> bool:
    """A task whose every slot was claimed, handed in and accepted once, by different people."""
    task = report.task
    accepted = [s for s in report.submissions if s.status == task_api.SUBMISSION_STATUS_ACCEPTED]
    return (
        claims_seen == task.claimed_count == task.submitted_count == task.accepted_count == slots
        and task.status == task_api.TASK_STATUS_COMPLETED
        and len(report.submissions) == len(accepted) == slots
        and len({s.contractor_id for s in accepted}) == slots
    )


def present(console: Console, intro: str, run: Coroutine[Any, Any, Summary]) -> int:
    """Run the demo, print its summary; the exit code (0 only when reconciled)."""
    say(console, intro)
    try:
        summary = asyncio.run(run)
    except DemoAborted as err:
        say(console, str(err))
        return 1
    except KeyboardInterrupt:
        return 130
    print_summary(summary, console)
    return 0 if summary.ok else 1


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
        TextColumn("{task.description:<15}"),
        BarColumn(),
        TextColumn("{task.fields[detail]}"),
        TimeElapsedColumn(),
        console=console,
    )
    ids = {row[0]: progress.add_task(row[0], total=row[2], detail="") for row in tracker.rows()}
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


def _summary_rows(s: Summary) -> list[tuple[str, str]]:
    earnings = s.earnings_minor or (0,)
    return [
        ("tasks submitted", f"{s.tasks_submitted:,} of {s.tasks_requested:,}"),
        ("slots", f"{s.slots_total:,} ({s.slots_per_task} per task)"),
        ("claims granted", f"{s.claims_granted:,}"),
        ("lost races", f"{s.lost_races:,}"),
        ("work submitted", f"{s.work_submitted:,}"),
        (
            "pieces accepted",
            f"{s.pieces_accepted:,} (tasks settled: {s.tasks_submitted - s.tasks_unsettled:,})",
        ),
        ("total paid", f"{format_usd(s.paid_minor)} of {format_usd(s.expected_minor)}"),
        ("client balance (pay + fee)", format_usd(s.client_balance_minor)),
        (
            f"earnings ({len(s.earnings_minor)} contractors)",
            f"min {format_usd(earnings[0])}, max {format_usd(earnings[-1])}",
        ),
        ("contractors paid exactly", f"{len(s.earnings_minor) - s.contractors_mispaid:,}"),
        (
            "books balanced",
            f"{'yes' if s.books_balanced else 'NO'} ({s.unbalanced_transactions} unbalanced)",
        ),
        ("elapsed", f"{s.elapsed_seconds:.1f} s"),
        ("throughput", f"{s.tasks_per_second:.1f} tasks/s"),
    ]


def print_summary(summary: Summary, console: Console) -> None:
    table = Table(title=f"Crewline demo, run {summary.run_id}", show_header=False)
    table.add_column("what")
    table.add_column("value", justify="right")
    for label, value in _summary_rows(summary):
        table.add_row(label, value)
    console.print(table)
    if summary.ok:
        console.print(
            "[bold green]Reconciled:[/] every slot claimed once, every piece paid once,"
            " books balanced."
        )
        return
    console.print("[bold red]NOT reconciled:[/]")
    for problem in summary.problems:
        console.print(f"  - {escape(problem)}")
