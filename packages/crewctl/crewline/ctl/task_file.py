"""``crewctl task submit``: tasks from a JSON Lines file, in batches, safe to run again.

Each line is one task's payload (a JSON object); one of its fields is the task's
idempotency key, which the dispatcher honours forever. So a run cut short (a crash,
Ctrl-C, a refused batch) is finished by running the same command again: tasks already
submitted come back as they are and are not made twice.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO, TYPE_CHECKING, TypedDict

import click
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from crewline.ctl.app import State, example, pass_state
from crewline.ctl.errors import bad_lines, refusal
from crewline.ctl.output import note, print_record
from crewline.ctl.records.tasks import TaskSpecRecord, spec_pb

if TYPE_CHECKING:
    from crewline.client.sync import Client

MAX_BATCH = 1000  # SubmitTasks takes at most this many tasks
MAX_KEY = 128
# A reply repeats every payload, and gRPC clients take replies up to 4 MiB: a batch stops
# growing at this many payload bytes, whatever its count.
MAX_BATCH_BYTES = 3 * 1024 * 1024
# New and already there are told apart by each task's creation time (the server's clock)
# against the time this run began (this machine's): exact where the two are one clock, as
# on the local stack, and as good as the clocks' sync elsewhere. No margin: with one, a
# run again soon after a crashed one would count the tasks that run made as new. Only
# the count depends on it; a task is never made twice either way. (SubmitTasks answers a
# key's task the same way whoever made it, so the answer cannot say.)


@dataclass(frozen=True)
class Line:
    number: int  # 1-based line in the file
    spec: TaskSpecRecord


class Submitted(TypedDict):
    project_id: str
    tasks: int  # submitted, or already there from an earlier run (same key)
    new: int  # created by this run
    already_there: int  # made earlier with the same key, returned as they are
    batches: int
    first_task_id: str | None
    last_task_id: str | None


def _key(value: object, field: str) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError(f'"{field}" must be a string or a whole number')
    key = str(value)
    if not key.strip():
        raise ValueError(f'"{field}" is empty')
    if len(key) > MAX_KEY:
        raise ValueError(f'"{field}" is longer than {MAX_KEY} characters')
    return key


def parse_line(number: int, text: str, key_field: str, prefix: str) -> Line:
    """One line of a tasks file; ValueError says what is wrong with it."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise ValueError(f"not JSON ({err.msg})") from None
    if not isinstance(data, dict):
        raise ValueError("expected a JSON object")
    if key_field not in data:
        raise ValueError(f'no "{key_field}" field (--key-field) for the idempotency key')
    key = prefix + _key(data[key_field], key_field)
    if len(key) > MAX_KEY:
        raise ValueError(f'--key-prefix and "{key_field}" make a key over {MAX_KEY} characters')
    return Line(number, {"idempotency_key": key, "payload_json": text.strip()})


def read_tasks(source: IO[str], key_field: str, prefix: str = "") -> list[Line]:
    """Every task in the file, or a usage error listing the lines that are wrong (then
    nothing is submitted). Blank lines are skipped; a key twice in the file is an error."""
    found: list[Line] = []
    problems: list[str] = []
    seen: dict[str, int] = {}
    for number, text in enumerate(source, start=1):
        if not text.strip():
            continue
        try:
            line = parse_line(number, text, key_field, prefix)
        except ValueError as err:
            problems.append(f"line {number}: {err}")
            continue
        key = line.spec["idempotency_key"]
        if key in seen:
            problems.append(f"line {number}: key {key!r} is also on line {seen[key]}")
            continue
        seen[key] = number
        found.append(line)
    if problems:
        raise bad_lines(source.name, problems, nothing_done="nothing was submitted")
    return found


def batches(
    lines: Sequence[Line], size: int, max_bytes: int = MAX_BATCH_BYTES
) -> Iterator[list[Line]]:
    """``lines`` in order, in batches of at most ``size`` tasks and about ``max_bytes`` of
    payload (a single larger payload is a batch of its own)."""
    batch: list[Line] = []
    weight = 0
    for line in lines:
        cost = len(line.spec["payload_json"].encode())
        if batch and (len(batch) == size or weight + cost > max_bytes):
            yield batch
            batch, weight = [], 0
        batch.append(line)
        weight += cost
    if batch:
        yield batch


class RateColumn(ProgressColumn):
    """Tasks per second, as rich measures it."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("-- tasks/s" if speed is None else f"{speed:,.0f} tasks/s", style="cyan")


def progress_bar(console: Console) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        RateColumn(),
        TextColumn("elapsed"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=console,
        transient=False,
    )


def submit_all(
    client: Client,
    project_id: str,
    lines: Sequence[Line],
    size: int,
    advance: Callable[[int], None],
) -> Submitted:
    """Submit ``lines`` batch after batch; a refused batch stops the run and says where."""
    done: Submitted = {
        "project_id": project_id,
        "tasks": 0,
        "new": 0,
        "already_there": 0,
        "batches": 0,
        "first_task_id": None,
        "last_task_id": None,
    }
    earlier_than = datetime.now(UTC)
    for batch in batches(lines, size):
        try:
            tasks = client.submit_tasks(project_id, [spec_pb(line.spec) for line in batch])
        except Exception as error:
            if refusal(error):
                note(
                    f"Batch {done['batches'] + 1} (lines {batch[0].number}-{batch[-1].number})"
                    f" was refused; the {done['tasks']} tasks before it are in. Fix the cause"
                    " and run the same command again: tasks already submitted are not"
                    " submitted twice"
                )
            raise
        done["batches"] += 1
        done["tasks"] += len(tasks)
        # A task made before this run began was there already (its key was used before).
        earlier = sum(1 for t in tasks if t.created_at is not None and t.created_at < earlier_than)
        done["already_there"] += earlier
        done["new"] += len(tasks) - earlier
        done["first_task_id"] = done["first_task_id"] or (tasks[0].task_id if tasks else None)
        done["last_task_id"] = tasks[-1].task_id if tasks else done["last_task_id"]
        advance(len(batch))
    return done


def print_submitted(done: Submitted) -> None:
    print_record("Submitted", done)
    click.echo(
        f"{done['new']} new, {done['already_there']} already there"
        " (made by an earlier run with the same keys, and left as they were)"
    )


@click.command(
    "submit",
    epilog=example(
        "crewctl task submit --project 6f1c2a4e-8b1d-4f7e-9a51-3d2b7c9e0f12"
        " --file tasks.jsonl --key-field id",
        "crewctl --json task submit --project P --file - --key-field image < tasks.jsonl",
    ),
)
@click.option("--project", "project_id", required=True, help="The project the tasks belong to.")
@click.option(
    "--file",
    "source",
    type=click.File("r"),
    required=True,
    metavar="FILE.jsonl",
    help="One task a line, a JSON object: its payload; - reads stdin.",
)
@click.option(
    "--key-field",
    required=True,
    help="The field whose value (text or a whole number) is the task's idempotency key.",
)
@click.option(
    "--key-prefix",
    default="",
    help="Put before every key, e.g. the file's name: keys are unique among all your tasks.",
)
@click.option(
    "--batch-size",
    type=click.IntRange(1, MAX_BATCH),
    default=MAX_BATCH,
    show_default=True,
    help="Tasks per SubmitTasks call (each batch is all or nothing).",
)
@click.option(
    "--no-progress", is_flag=True, help="No progress bar (off anyway with --json or no tty)."
)
@pass_state
def submit(
    state: State,
    project_id: str,
    source: IO[str],
    key_field: str,
    key_prefix: str,
    batch_size: int,
    no_progress: bool,
) -> None:
    """Submit the tasks of a JSON Lines file, in batches, with a progress bar.

    Each line's JSON object is the task's payload, and its --key-field the task's
    idempotency key (with --key-prefix before it), which the dispatcher honours forever.
    The whole file is checked first: a malformed line, a missing key or a key used twice
    submits nothing (exit 2). Running the same command again after a crash or a refused
    batch submits nothing twice: a key already used returns the task it made (reusing a
    key for different content is refused). Slots, priority and lifetime are the project's.

    New and already there are counted by each task's creation time: one made before the
    run began is already there. The server's clock makes that time and this machine's
    clock says when the run began, so across machines the count is as exact as their
    clocks agree (tasks are never made twice either way).
    """
    lines = read_tasks(source, key_field, key_prefix)
    console = Console(stderr=True)
    show = not (no_progress or state.options.json) and console.is_terminal
    with state.client() as client:
        if not show:
            done = submit_all(client, project_id, lines, batch_size, lambda _: None)
        else:
            with progress_bar(console) as bar:
                job = bar.add_task("Submitting", total=len(lines))
                done = submit_all(
                    client, project_id, lines, batch_size, lambda n: bar.advance(job, n)
                )
    state.emit(done, print_submitted)
