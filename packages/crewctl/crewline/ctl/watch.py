"""``crewctl watch``: a client's task, claim and submission events, and the sanctions,
appeals and disputes of gold keys in its projects, live, one line each.

The SDK's Watch follows the stream across disconnects: when the connection is lost it
waits a growing, jittered while and reconnects from the last event handed on, so nothing
is missed or repeated; crewctl says so on stderr each time. Ctrl-C ends it and prints
the cursor to resume from.
"""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING, Any, cast

import click

from crewline.ctl.app import State, example, pass_state
from crewline.ctl.errors import refusal
from crewline.ctl.output import note
from crewline.ctl.projects import format_money
from crewline.ctl.records.tasks import WatchEventRecord, watch_event_record

if TYPE_CHECKING:
    from crewline.client.review import WatchStream
    from crewline.client.streams import Reconnect
    from crewline.client.sync import SyncIterator
    from crewline.v1 import task_service_pb2 as task_api

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
    "sanction_changed": (
        *("sanction.sanction_id", "sanction.contractor_id", "sanction.action"),
        *("sanction.state", "sanction.ends_at"),
    ),
    "appeal_changed": (
        *("appeal.appeal_id", "appeal.contractor_id", "appeal.state", "appeal.decided_by"),
    ),
    "dispute_changed": (
        *("dispute.dispute_id", "dispute.contractor_id", "dispute.task_id", "dispute.state"),
    ),
}


def _shown(value: Any) -> str:
    if isinstance(value, dict) and {"currency", "amount_minor"} <= value.keys():
        return format_money(value["amount_minor"], value["currency"])
    if isinstance(value, bool):
        return "yes" if value else "no"
    return "-" if value is None or value == "" else str(value)


def _field(event: dict[str, Any], path: str) -> tuple[str, Any]:
    """``sanction.state`` -> ("state", the value in event["sanction"]["state"])."""
    *within, name = path.split(".")
    for key in within:
        event = event.get(key) or {}
    return name, event.get(name)


def event_line(record: WatchEventRecord) -> str:
    """One event as one line: time, type, task (the project for an event of none), then
    the type's main fields."""
    event = record["event"]
    picked = (_field(event, path) for path in _SHOWN.get(record["type"], ()))
    fields = " ".join(f"{name}={_shown(value)}" for name, value in picked)
    where = f"task={record['task_id']}" if record["task_id"] else f"project={record['project_id']}"
    line = f"{record['at'] or '-'}  {record['type']:<19}  {where}  {fields}"
    return line.rstrip()


def json_line(record: WatchEventRecord) -> str:
    return json.dumps(record, separators=(",", ":"))


def cursor_of(events: SyncIterator[task_api.WatchEvent]) -> str:
    """Where the stream stands: the cursor of the last event it handed on."""
    stream = cast("WatchStream", events.source)
    return stream.cursor


def reconnect_policy(stream: dict[str, Any]) -> Reconnect:
    """Reconnect for as long as it takes, telling the user each time from where
    (``stream["events"]``: the stream, once open, for its cursor)."""
    from crewline.client.streams import Reconnect

    def told(why: str, delay: float) -> None:
        events = stream.get("events")
        cursor = cursor_of(events) if events is not None else ""
        since = f"cursor {cursor}" if cursor else "now (no event yet)"
        note(f"watch: {why}; reconnecting in {delay:.1f} s from {since}")

    return Reconnect(
        initial_backoff=FIRST_DELAY,
        max_backoff=MAX_DELAY,
        give_up_after=math.inf,
        on_reconnect=told,
    )


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
@pass_state
def watch(state: State, project_id: str, cursor: str, limit: int | None) -> None:
    """Print the caller's task, claim and submission events, and the sanctions, appeals
    and disputes of gold keys in its projects, as they happen, in order.

    One line per event; with --json one JSON object per line,
    each with its cursor. When the dispatcher is unavailable it reconnects, waiting a
    little longer each time, from the last event printed: nothing is missed or repeated.
    Ctrl-C ends it (exit 0) and prints the last cursor to stderr, to resume with --from.

    Without --from it starts from now; until the first event arrives there is no cursor
    to resume from, so a connection lost before then can miss the events in between.
    """
    render = json_line if state.options.json else event_line
    stream: dict[str, Any] = {}
    seen = 0
    with state.client(reconnect=reconnect_policy(stream)) as client:
        events = stream["events"] = client.watch(project_id=project_id, cursor=cursor)
        try:
            for event in events:
                click.echo(render(watch_event_record(event)))
                seen += 1
                if seen == limit:
                    break
        except KeyboardInterrupt:
            pass
        except Exception as error:
            if refusal(error):
                note(resume_hint(cursor_of(events), project_id))
            raise
        finally:
            events.close()
        note(resume_hint(cursor_of(events), project_id))
