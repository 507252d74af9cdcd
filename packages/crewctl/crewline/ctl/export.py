"""``crewctl submission export``: every submission of a project or a task, joined to its
task (the task's key and payload), as JSON Lines or CSV on stdout."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import TYPE_CHECKING

import click

from crewline.ctl.app import State, example, pass_state
from crewline.ctl.output import note
from crewline.ctl.records.exports import COLUMNS, ExportRow, csv_cells, export_row
from crewline.ctl.records.submissions import status_filter
from crewline.ctl.submissions import MAX_PAGE_SIZE, SUBMISSION_STATUSES, flagged_option, one_of

if TYPE_CHECKING:
    from crewline.client.sync import Client
    from crewline.v1 import task_service_pb2 as task_api

FORMATS = ("jsonl", "csv")
_PROJECT = "6f1c2a4e-8b1d-4f7e-9a51-3d2b7c9e0f12"
_TASK = "0f3e8c1a-5b7d-4c2e-9a6f-1d2b3c4e5f60"


class Tasks:
    """The tasks submissions belong to, each read once: a project's all at once (a page
    holds 500 of them), any other by its id."""

    def __init__(self, client: Client, project_id: str) -> None:
        self._client = client
        self._project_id = project_id
        self._known: dict[str, task_api.Task] = {}

    def _read_project(self) -> None:
        project_id, self._project_id = self._project_id, ""  # read once, on first need
        tasks = self._client.tasks(project_id=project_id, page_size=MAX_PAGE_SIZE)
        self._known.update((t.raw.task_id, t.raw) for t in tasks)

    def get(self, task_id: str) -> task_api.Task:
        if task_id not in self._known and self._project_id:
            self._read_project()
        if task_id not in self._known:  # a task made after the project's were read
            self._known[task_id] = self._client.get_task(task_id).raw.task
        return self._known[task_id]


def rows(
    client: Client, project_id: str, task_id: str, status: str | None, flagged: bool = False
) -> Iterator[ExportRow]:
    """Every submission (only flagged ones if ``flagged``), oldest first, joined to its task."""
    tasks = Tasks(client, project_id)
    for sub in client.submissions(
        project_id=project_id,
        task_id=task_id,
        status=status_filter(status),
        flagged_only=flagged,
        page_size=MAX_PAGE_SIZE,
    ):
        yield export_row(sub.raw, tasks.get(sub.raw.task_id))


def _csv_line(cells: list[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(cells)
    return buffer.getvalue()


@click.command(
    "export",
    epilog=example(
        f"crewctl submission export --project {_PROJECT} > submissions.jsonl",
        f"crewctl submission export --task {_TASK} --status accepted | jq -c .result",
        f"crewctl submission export --project {_PROJECT} --format csv > submissions.csv",
    ),
)
@click.option("--project", "project_id", default="", help="This project's.")
@click.option("--task", "task_id", default="", help="This task's.")
@click.option(
    "--status", type=click.Choice(SUBMISSION_STATUSES, case_sensitive=False), help="Only these."
)
@flagged_option
@click.option(
    "--format",
    "form",
    type=click.Choice(FORMATS, case_sensitive=False),
    default="jsonl",
    show_default=True,
    help="JSON Lines, or CSV with a header row.",
)
@pass_state
def export(
    state: State, project_id: str, task_id: str, status: str | None, flagged: bool, form: str
) -> None:
    """Every submission of a project or a task, oldest first, one a line, each joined to
    its task so it can be matched with your own data.

    \b
    Each row carries:
      task_key     the task's idempotency key (your id for it, as given to task submit)
      payload      the task's payload as JSON; payload_text when it is not JSON,
                   payload_base64 when it is not UTF-8
      result       the submitted result as JSON; result_text when it is not JSON,
                   result_base64 when it is not UTF-8
      paid         what the work was paid: only accepted work has it
      bonuses      the bonuses granted on it
      flags        why its time was flagged (kind, evidence, numbers); [] for most
    and the submission's own fields (status, review, feedback, time worked).

    JSON Lines (one object a line), or CSV (--format csv: a header row, nested values
    as JSON text in their cell, an unset value empty; a text cell starting with = + - @,
    a tab or a carriage return gets a leading ' so that a spreadsheet shows it rather
    than running it as a formula). No Parquet: pyarrow would weigh
    more than crewctl itself; `duckdb` or `pandas.read_json(lines=True)` read the JSON
    Lines. A count goes to stderr; --json changes nothing. The tasks are read once each:
    a project's all together, a task's alone.
    """
    one_of(project_id, task_id)
    count = 0
    as_csv = form.lower() == "csv"
    if as_csv:
        click.echo(_csv_line(list(COLUMNS)), nl=False)
    with state.client() as client:
        chosen = status.lower() if status else None
        for row in rows(client, project_id, task_id, chosen, flagged):
            if as_csv:
                click.echo(_csv_line(csv_cells(row)), nl=False)
            else:
                click.echo(json.dumps(row, separators=(",", ":"), ensure_ascii=False))
            count += 1
    note(f"Exported {count} submission{'s' if count != 1 else ''}")
