"""``crewctl block ...``: contractors barred from one project, or from all, on the matcher."""

from __future__ import annotations

import click

from crewline.ctl.app import State, example, pass_state
from crewline.ctl.output import print_record, print_rows
from crewline.ctl.params import new_request_id
from crewline.ctl.records.contractors import BlockRecord, block_record


def print_blocks(found: list[BlockRecord]) -> None:
    columns = ("block_id", "project_id", "reason", "blocked_at", "lifted_at")
    print_rows("Blocks", found, columns)


@click.group(
    "block",
    epilog=example(
        "crewctl block create dr-lee --reason 'copied answers'",
        "crewctl block list dr-lee",
    ),
)
def block() -> None:
    """Blocks: a contractor barred from one project, or from every project."""


@block.command(
    "create",
    epilog=example(
        "crewctl block create dr-lee --reason 'copied answers'",
        "crewctl block create dr-lee --project 0b7e3f5c-2d4a-4c1e-9f1a-3a5d7c9e1b2f"
        " --reason 'conflict of interest' --block-id coi-dr-lee",
    ),
)
@click.argument("contractor_id")
@click.option("--reason", required=True, help="Why (1-500 characters).")
@click.option("--project", default="", help="A project id; without it, every project.")
@click.option(
    "--block-id",
    help="Idempotency key; repeating it returns the same block. Default: a fresh crewctl-<uuid4>.",
)
@pass_state
def create(
    state: State, contractor_id: str, reason: str, project: str, block_id: str | None
) -> None:
    """Bar CONTRACTOR_ID from a project, or from all; their offers stop at once."""
    with state.operator() as operator:
        placed = operator.block(
            contractor_id,
            project_id=project,
            reason=reason,
            block_id=block_id or new_request_id(),
        )
    state.emit(block_record(placed), lambda b: print_record("Block", b))


@block.command("lift", epilog=example("crewctl block lift coi-dr-lee"))
@click.argument("block_id")
@pass_state
def lift(state: State, block_id: str) -> None:
    """Lift the block BLOCK_ID. Lifting a lifted block changes nothing."""
    with state.operator() as operator:
        lifted = block_record(operator.lift_block(block_id))
    state.emit(lifted, lambda b: print_record("Block", b))


@block.command("list", epilog=example("crewctl block list dr-lee"))
@click.argument("contractor_id")
@pass_state
def list_blocks(state: State, contractor_id: str) -> None:
    """Every block of CONTRACTOR_ID, lifted ones included, oldest first."""
    with state.operator() as operator:
        found = [block_record(b) for b in operator.blocks(contractor_id)]
    state.emit(found, print_blocks)
