"""``crewctl task ...``: a client's tasks, on the dispatcher, with the client's API key."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import click

from crewline.ctl.app import State, example, pass_state
from crewline.ctl.errors import refusal
from crewline.ctl.output import note, print_record, print_rows, shorten
from crewline.ctl.pages import Paging, paging_options, print_more
from crewline.ctl.params import Duration, Instant, new_request_id, parse_instant
from crewline.ctl.records.submissions import flag_kinds
from crewline.ctl.records.tasks import (
    NewSlots,
    TaskDetails,
    TaskPage,
    TaskRecord,
    details_record,
    page_record,
    status_filter,
    task_record,
)

if TYPE_CHECKING:
    from crewline.client.sync import Client

TASK_STATUSES = ("open", "in_progress", "completed", "expired", "cancelled")
MAX_SLOTS = 1000
_ID = "0f3e8c1a-5b7d-4c2e-9a6f-1d2b3c4e5f60"


def print_task(task: TaskRecord) -> None:
    shown: dict[str, object] = dict(task)
    shown["payload_json"] = shorten(task["payload_json"])
    shown["payload_base64"] = shorten(task["payload_base64"])
    print_record("Task", shown)


def print_details(details: TaskDetails) -> None:
    print_task(details["task"])
    columns = ("submission_id", "contractor_id", "status", "submitted_at", "flags")
    rows = [{**s, "flags": flag_kinds(s["flags"])} for s in details["submissions"]]
    print_rows("Submissions", rows, columns)


def print_page(page: TaskPage) -> None:
    columns = (
        "task_id",
        "project_id",
        "status",
        "slots",
        "live_claims",
        "submitted_count",
        "accepted_count",
        "expires_at",
    )
    print_rows("Tasks", page["tasks"], columns)
    print_more(page)


def print_new_slots(added: NewSlots) -> None:
    print_task(added["task"])
    click.echo(f"Request id: {added['request_id']} (repeat it to retry without adding twice)")


@click.group(
    "task",
    epilog=example(
        f"crewctl task get {_ID}",
        f"crewctl task add-slots {_ID} 2",
        f"crewctl task lifetime {_ID} --extend-by 2d",
    ),
)
def task() -> None:
    """A client's tasks, on the dispatcher, with the client's API key.

    The credential is an API key (--credential or $CREWLINE_CREDENTIAL), never the
    operator credential.
    """


@task.command("get", epilog=example(f"crewctl task get {_ID}"))
@click.argument("task_id")
@pass_state
def get(state: State, task_id: str) -> None:
    """The task TASK_ID, its counts and its submissions, with their flags."""
    with state.client() as client:
        details = details_record(client.get_task(task_id).raw)
    state.emit(details, print_details)


@task.command(
    "list",
    epilog=example(
        "crewctl task list --project 6f1c2a4e-8b1d-4f7e-9a51-3d2b7c9e0f12 --status open",
        "crewctl --json task list --status in_progress --all",
    ),
)
@click.option("--project", "project_id", default="", help="Only this project's tasks.")
@click.option(
    "--status", type=click.Choice(TASK_STATUSES, case_sensitive=False), help="Only these."
)
@paging_options(most=500, server_default=100)
@pass_state
def list_(
    state: State,
    project_id: str,
    status: str | None,
    paging: Paging,
) -> None:
    """The caller's tasks, least recently updated first."""
    wanted = status_filter(status.lower() if status else None)
    with state.client() as client:
        page = paging.read(
            lambda size, token: page_record(
                client.list_tasks_page(
                    project_id=project_id,
                    status=wanted,
                    page_size=size,
                    page_token=token,
                )
            ),
            "tasks",
        )
    state.emit(page, print_page)


@task.command(
    "cancel",
    epilog=example(f"crewctl task cancel {_ID}", f"crewctl task cancel {_ID} --reason 'duplicate'"),
)
@click.argument("task_id")
@click.option("--reason", default="", help="Kept with the task and shown in watch (<= 500).")
@pass_state
def cancel(state: State, task_id: str, reason: str) -> None:
    """Cancel TASK_ID: its open slots leave every offer at once, for good.

    Claims running now are cut: their leases are not extended any more, but work
    submitted before a claim's deadline is reviewed and paid; on hourly terms a cut
    claim that ends without work is paid for the time tracked so far. Cancelling again
    returns the same task; a completed task is refused.
    """
    with state.client() as client:
        cancelled = task_record(client.cancel_task(task_id, reason=reason).raw)
    state.emit(cancelled, print_task)


@task.command(
    "add-slots",
    epilog=example(
        f"crewctl task add-slots {_ID} 2",
        f"crewctl task add-slots {_ID} 2 --request-id crewctl-2f9c1d7e",
    ),
)
@click.argument("task_id")
@click.argument("slots", metavar="N", type=click.IntRange(1, MAX_SLOTS))
@click.option("--request-id", help="Idempotency key; default: a fresh crewctl-<uuid4>.")
@pass_state
def add_slots(state: State, task_id: str, slots: int, request_id: str | None) -> None:
    """Add N assignments to the live task TASK_ID (at most 1000 in all).

    The request id makes it safe to retry: the same id never adds the slots twice. It is
    printed, and on a failure crewctl says how to retry with it.
    """
    request_id = request_id or new_request_id()
    try:
        with state.client() as client:
            updated = client.add_slots(task_id, slots, request_id=request_id)
    except Exception as error:
        if refusal(error):
            note(
                f"To retry without adding twice: crewctl task add-slots {task_id} {slots}"
                f" --request-id {request_id}"
            )
        raise
    added: NewSlots = {"request_id": request_id, "task": task_record(updated.raw)}
    state.emit(added, print_new_slots)


@task.command(
    "lifetime",
    epilog=example(
        f"crewctl task lifetime {_ID} --extend-by 2d",
        f"crewctl task lifetime {_ID} --expires-at 2026-05-01T12:00:00Z",
    ),
)
@click.argument("task_id")
@click.option("--expires-at", type=Instant(), help="The new end, ISO 8601 with a zone.")
@click.option(
    "--extend-by",
    type=Duration(minimum=1),
    metavar="DURATION",
    help="Move the current end later, e.g. 90s, 30m, 2h, 1d.",
)
@pass_state
def lifetime(
    state: State, task_id: str, expires_at: datetime | None, extend_by: int | None
) -> None:
    """Extend or shorten TASK_ID's lifetime: no new claims after it ends.

    The new end must be in the future and at most 365 days after the task was created.
    Extending an expired task opens it again.
    """
    if (expires_at is None) == (extend_by is None):
        raise click.UsageError("give --expires-at or --extend-by (one of them)")
    with state.client() as client:
        if expires_at is None:
            expires_at = _extended(client, task_id, extend_by or 0)
        moved = client.update_task_lifetime(task_id, expires_at=expires_at.astimezone(UTC))
    state.emit(task_record(moved.raw), print_task)


def _extended(client: Client, task_id: str, seconds: int) -> datetime:
    """The task's current end, ``seconds`` later."""
    current = task_record(client.get_task(task_id).task.raw)["expires_at"]
    if current is None:
        raise click.UsageError(f"task {task_id} has no end to extend; give --expires-at")
    return parse_instant(current) + timedelta(seconds=seconds)
