"""``crewctl deadline ...``: durable deadlines (clocks) whose handler kept failing.

Every service serves the kernel's OpsService (see ``crewline.ops``); the dispatcher
keeps Crewline's clocks (leases, task lifetimes, auto-accept), so it is the default
``--service``. Calls carry the operator credential. Records are JSON-ready dicts.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import click

from crewline.ctl.app import State, example, pass_state
from crewline.ctl.output import print_record, print_rows
from crewline.ctl.pages import Paging, paging_options, print_more
from crewline.ctl.params import service_option
from crewline.ctl.records.ops import DeadlinePage, Rearmed, deadline_page, rearmed_record


def print_dead(page: DeadlinePage) -> None:
    columns = ("kind", "ref", "generation", "attempts", "dead_at", "last_error")
    print_rows("Dead-lettered deadlines", page["deadlines"], columns)
    print_more(page)


def print_rearmed(rearmed: Rearmed) -> None:
    print_record(f"Deadline ({rearmed['outcome']})", rearmed["deadline"])


@click.group(
    "deadline",
    epilog=example("crewctl deadline dead --kind lease", "crewctl deadline rearm lease CLAIM_ID"),
)
def deadline() -> None:
    """Durable deadlines whose handler kept failing (dead-lettered): list and re-arm them."""


_service_option = service_option(
    default="dispatcher", help="Whose clocks (the dispatcher keeps Crewline's)."
)


@deadline.command(
    "dead", epilog=example("crewctl deadline dead", "crewctl deadline dead --kind lease --json")
)
@click.option("--kind", default="", help="Only this kind, e.g. lease, task_lifetime.")
@_service_option
@paging_options(most=500, server_default=50)
@pass_state
def dead(state: State, kind: str, service: str, paging: Paging) -> None:
    """List dead-lettered deadlines, oldest first, with their last error.

    Each waits until it is re-armed (crewctl deadline rearm) or its clock is
    cancelled. Services count them in crewline_<service>_deadlines_dead_letters.
    """
    on: Any = service  # one of config.SERVICES, as the option's choices say
    with state.operator() as operator:
        result = paging.read(
            lambda size, token: deadline_page(
                operator.dead_lettered_deadlines_page(
                    on, kind=kind, page_size=size, page_token=token
                )
            ),
            "deadlines",
        )
    state.emit(result, print_dead)


def rfc3339(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """An RFC 3339 time with its offset, e.g. 2026-01-02T03:04:05Z."""
    if value is None:
        return None
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a time like 2026-01-02T03:04:05Z") from None
    if at.tzinfo is None:
        raise click.BadParameter(f"{value!r} has no offset: add Z (UTC) or e.g. +02:00")
    return at.isoformat()


@deadline.command(
    "rearm",
    epilog=example(
        "crewctl deadline rearm lease 3f2b8c1e-9d4a-4c0e-8f5b-2a7d6e1c9b30",
        "crewctl deadline rearm task_lifetime TASK_ID --at 2026-01-02T03:04:05Z",
    ),
)
@click.argument("kind")
@click.argument("ref")
@click.option(
    "--at", "due_at", metavar="TIME", callback=rfc3339, help="RFC 3339 due time; default: now."
)
@_service_option
@pass_state
def rearm(state: State, kind: str, ref: str, due_at: str | None, service: str) -> None:
    """Arm the clock KIND REF again: its handler runs at --at (default now).

    A dead-lettered or fired clock gets generation + 1 and no failed attempts; a
    pending one is moved. A clock that does not exist is NOT_FOUND (exit 4).
    """
    on: Any = service  # one of config.SERVICES, as the option's choices say
    at = datetime.fromisoformat(due_at) if due_at is not None else None
    with state.operator() as operator:
        rearmed = rearmed_record(operator.rearm_deadline(on, kind=kind, ref=ref, due_at=at))
    state.emit(rearmed, print_rearmed)
