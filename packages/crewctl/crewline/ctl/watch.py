"""``crewctl watch``: a client's task, claim and submission events, live, one line each.

The stream is followed across disconnects: on UNAVAILABLE (or an ended stream) crewctl
waits a growing, jittered while and reconnects from the last cursor it printed, so
nothing is missed or repeated. Ctrl-C ends it and prints that cursor to stderr.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

import click

from crewline.ctl.api import RpcFailed
from crewline.ctl.app import State, example, pass_state
from crewline.ctl.errors import describe
from crewline.ctl.output import note
from crewline.ctl.projects import format_money
from crewline.ctl.task_api import WatchEventRecord

RETRY_CODES = frozenset({"UNAVAILABLE"})
FIRST_DELAY = 0.5  # seconds before the first reconnection; doubles up to MAX_DELAY
MAX_DELAY = 30.0

# The fields a human line shows, per event type; --json has every field.
_SHOWN: dict[str, tuple[str, ...]] = {
    "task_changed": ("status", "slots", "live_claims", "expires_at"),
    "claim_granted": ("claim_id", "contractor_id", "deadline_at"),
    "claim_extended": ("claim_id", "deadline_at", "worked_seconds"),
    "claim_ended": ("claim_id", "contractor_id", "reason", "reoffered"),
    "work_submitted": ("claim_id", "contractor_id"),
    "submission_accepted": ("submission_id", "contractor_id", "accepted_by"),
    "claim_settled": ("claim_id", "contractor_id", "amount", "worked_seconds", "reason"),
}


def backoff(attempt: int, jitter: float) -> float:
    """Seconds to wait before reconnection ``attempt`` (0, 1, ...): 0.5 s doubling up to
    30 s, times 0.5-1 (``jitter`` in 0-1) so many watchers do not reconnect in step."""
    return min(MAX_DELAY, FIRST_DELAY * 2.0 ** min(attempt, 16)) * (0.5 + jitter / 2)


def _shown(value: Any) -> str:
    if isinstance(value, dict) and {"currency", "amount_minor"} <= value.keys():
        return format_money(value["amount_minor"], value["currency"])
    if isinstance(value, bool):
        return "yes" if value else "no"
    return "-" if value is None or value == "" else str(value)


def event_line(record: WatchEventRecord) -> str:
    """One event as one line: time, type, task, then the type's main fields."""
    event = record["event"]
    fields = " ".join(f"{k}={_shown(event.get(k))}" for k in _SHOWN.get(record["type"], ()))
    line = f"{record['at'] or '-'}  {record['type']:<19}  task={record['task_id']}  {fields}"
    return line.rstrip()


def json_line(record: WatchEventRecord) -> str:
    return json.dumps(record, separators=(",", ":"))


class Follower:
    """Follows a Watch across disconnects; ``cursor`` is the last event's, once printed."""

    def __init__(
        self,
        open_stream: Callable[[str], Iterable[list[WatchEventRecord]]],
        emit: Callable[[WatchEventRecord], None],
        *,
        cursor: str = "",
        sleep: Callable[[float], None],
        jitter: Callable[[], float],
        notify: Callable[[str], None] = note,
    ) -> None:
        self._open = open_stream
        self._emit = emit
        self._sleep = sleep
        self._jitter = jitter
        self._notify = notify
        self.cursor = cursor
        self.seen = 0

    def run(self, *, limit: int | None = None) -> None:
        """Print events until interrupted, or until ``limit`` were printed; a refusal other
        than UNAVAILABLE raises."""
        attempt = 0
        while True:
            try:
                for batch in self._open(self.cursor):
                    attempt = 0  # connected: even a keepalive (empty batch) proves it
                    for event in batch:
                        self._emit(event)
                        self.cursor = event["cursor"]
                        self.seen += 1
                        if self.seen == limit:
                            return
                why = "the stream ended"
            except RpcFailed as failure:
                if failure.code not in RETRY_CODES:
                    raise
                why = describe(failure)
            delay = backoff(attempt, self._jitter())
            attempt += 1
            since = f"cursor {self.cursor}" if self.cursor else "now (no event yet)"
            self._notify(f"watch: {why}; reconnecting in {delay:.1f} s from {since}")
            self._sleep(delay)


def resume_hint(cursor: str, project_id: str) -> str:
    if not cursor:
        return "No event received: nothing to resume from."
    project = f" --project {project_id}" if project_id else ""
    return f"Last cursor: {cursor}\nResume with: crewctl watch{project} --from {cursor}"


@click.command(
    "watch",
    epilog=example(
        "crewctl watch",
        "crewctl watch --project 6f1c2a4e-8b1d-4f7e-9a51-3d2b7c9e0f12 --json",
        'crewctl watch --from "$CURSOR"',
        'crewctl --json watch --from "$CURSOR" --limit 100 > events.jsonl',
    ),
)
@click.option("--project", "project_id", default="", help="Only this project's events.")
@click.option(
    "--from",
    "cursor",
    default="",
    metavar="CURSOR",
    help="Continue right after this event's cursor; default: from now on.",
)
@click.option(
    "--limit",
    type=click.IntRange(1),
    help="Stop after this many events (exit 0), printing the cursor to resume from.",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line, with its cursor.")
@pass_state
def watch(state: State, project_id: str, cursor: str, limit: int | None, as_json: bool) -> None:
    """Print the caller's task, claim and submission events as they happen, in order.

    One line per event; with --json (here or before `watch`) one JSON object per line,
    each with its cursor. When the dispatcher is unavailable it reconnects, waiting a
    little longer each time, from the last event printed: nothing is missed or repeated.
    Ctrl-C ends it (exit 0) and prints the last cursor to stderr, to resume with --from.

    Without --from it starts from now; until the first event arrives there is no cursor
    to resume from, so a connection lost before then can miss the events in between.
    """
    calls = state.tasks()
    render = json_line if as_json or state.options.json else event_line
    follower = Follower(
        lambda at: calls.watch(at, project_id),
        lambda record: click.echo(render(record)),
        cursor=cursor,
        sleep=state.wiring.sleep,
        jitter=state.wiring.jitter,
    )
    try:
        follower.run(limit=limit)
        note(resume_hint(follower.cursor, project_id))
    except KeyboardInterrupt:
        note(resume_hint(follower.cursor, project_id))
    except RpcFailed:
        note(resume_hint(follower.cursor, project_id))
        raise
