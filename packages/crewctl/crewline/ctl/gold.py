"""``crewctl gold ...``: a client's gold tasks, on the quality service, with the client's
API key. A gold task is a task whose answer the client knows: contractors meet it as
ordinary work in the project, and their answers to it make their gold accuracy.

``gold add`` reads a gold file (``crewline.ctl.gold_file``) and sends it in batches;
each line's key is its idempotency key, which the quality service honours forever, so a
run cut short is finished by running the same command again.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import IO, TYPE_CHECKING

import click

from crewline.ctl.app import State, example, pass_state
from crewline.ctl.errors import refusal
from crewline.ctl.gold_file import GoldLine, batches, format_help, read_gold
from crewline.ctl.output import note, print_record, print_rows
from crewline.ctl.pages import Paging, paging_options, print_more
from crewline.ctl.records.gold import GoldAdded, GoldPage, gold_page

if TYPE_CHECKING:
    from crewline.client.sync import Client
    from crewline.v1 import quality_service_pb2 as quality_api

MAX_BATCH = 1000  # AddGoldTasks takes at most this many
# A reply repeats every payload and key, and gRPC clients take replies up to 4 MiB.
MAX_BATCH_BYTES = 3 * 1024 * 1024
_ID = "6f1c2a4e-8b1d-4f7e-9a51-3d2b7c9e0f12"


def gold_pb(line: GoldLine) -> quality_api.GoldTask:
    from crewline.client import build

    return build.gold_task(
        line.payload,
        line.answer,
        idempotency_key=line.key,
        also_accepted=line.also_accepted,
        tolerance=line.tolerance,
    )


def add_all(client: Client, project_id: str, lines: Sequence[GoldLine], size: int) -> GoldAdded:
    """Add ``lines`` batch after batch; a refused batch stops the run and says where.
    New and already there are told apart by creation time, as ``task submit`` does."""
    done: GoldAdded = {
        "project_id": project_id,
        "gold_tasks": 0,
        "new": 0,
        "already_there": 0,
        "batches": 0,
        "first_gold_id": None,
        "last_gold_id": None,
    }
    earlier_than = datetime.now(UTC)
    for batch in batches(lines, size, MAX_BATCH_BYTES):
        try:
            added = client.add_gold_tasks(project_id, [gold_pb(line) for line in batch])
        except Exception as error:
            if refusal(error):
                note(
                    f"Batch {done['batches'] + 1} (lines {batch[0].number}-{batch[-1].number})"
                    f" was refused; the {done['gold_tasks']} gold tasks before it are in. Fix"
                    " the cause and run the same command again: nothing is added twice"
                )
            raise
        earlier = sum(1 for g in added if g.created_at is not None and g.created_at < earlier_than)
        done["batches"] += 1
        done["gold_tasks"] += len(added)
        done["already_there"] += earlier
        done["new"] += len(added) - earlier
        done["first_gold_id"] = done["first_gold_id"] or (added[0].gold_id if added else None)
        done["last_gold_id"] = added[-1].gold_id if added else done["last_gold_id"]
    return done


def print_added(done: GoldAdded) -> None:
    print_record("Gold tasks added", done)
    click.echo(
        f"{done['new']} new, {done['already_there']} already there"
        " (added by an earlier run with the same keys, and left as they were)"
    )


def print_gold(page: GoldPage) -> None:
    columns = ("key", "gold_id", "answered", "correct", "created_at")
    print_rows("Gold tasks", page["gold_tasks"], columns)
    print_more(page)


@click.group(
    "gold",
    epilog=example(
        f"crewctl gold add --project {_ID} --file gold.jsonl",
        f"crewctl gold list --project {_ID}",
    ),
)
def gold() -> None:
    """A client's gold tasks, on the quality service, with the client's API key.

    A gold task is a task whose answer you know, in a project with an answer spec.
    Contractors meet it as ordinary work (a share of what each takes: `crewctl quality
    policy`), and the answers scored against your key make their gold accuracy
    (gold_accuracy in `crewctl scores`), which a requirement can ask for.
    """


@gold.command(
    "add",
    epilog=example(
        f"crewctl gold add --project {_ID} --file gold.jsonl",
        "crewctl --json gold add --project P --file - < gold.jsonl",
    ),
    help="Add the gold tasks of a JSON Lines file, one a line, in batches.\n\n"
    "Each line's key is the gold task's idempotency key, which the quality service honours"
    " forever. The whole file is checked first: a malformed line, a missing field or a key"
    " used twice adds nothing (exit 2). The quality service checks each answer against the"
    " project's answer spec, and each batch is all or nothing; running the same command"
    " again after a refused batch adds nothing twice (a key reused for another gold task"
    f" is refused).\n\n{format_help()}",
)
@click.option("--project", "project_id", required=True, help="The project, with an answer spec.")
@click.option(
    "-f",
    "--file",
    "source",
    type=click.File("r"),
    required=True,
    metavar="FILE.jsonl",
    help="One gold task a line, a JSON object; - reads stdin.",
)
@click.option(
    "--batch-size",
    type=click.IntRange(1, MAX_BATCH),
    default=MAX_BATCH,
    show_default=True,
    help="Gold tasks per AddGoldTasks call (each batch is all or nothing).",
)
@pass_state
def add(state: State, project_id: str, source: IO[str], batch_size: int) -> None:
    lines = read_gold(source)
    with state.client() as client:
        done = add_all(client, project_id, lines, batch_size)
    state.emit(done, print_added)


@gold.command(
    "list",
    epilog=example(
        f"crewctl gold list --project {_ID}",
        f"crewctl --json gold list --project {_ID} --all",
    ),
)
@click.option("--project", "project_id", required=True, help="The project.")
@paging_options(most=500, server_default=50)
@pass_state
def list_(state: State, project_id: str, paging: Paging) -> None:
    """A project's gold tasks, oldest first: each key, how many contractors answered it
    and how many of them correctly. --json adds the answer, the rules and the payload."""
    with state.client() as client:
        page = paging.read(
            lambda size, token: gold_page(
                client.list_gold_tasks_page(project_id, page_size=size, page_token=token)
            ),
            "gold_tasks",
        )
    state.emit(page, print_gold)
