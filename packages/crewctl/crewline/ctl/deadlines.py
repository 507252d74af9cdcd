"""``crewctl deadline ...``: durable deadlines (clocks) whose handler kept failing.

Every service serves the kernel's OpsService (see ``crewline.ops``); the dispatcher
keeps Crewline's clocks (leases, task lifetimes, auto-accept), so it is the default
``--service``. Calls carry the operator credential. Records are JSON-ready dicts.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Protocol, TypedDict

import click

from crewline.ctl import config
from crewline.ctl.app import State, example, pass_state

if TYPE_CHECKING:
    from crewline.client.tls import ClientTls
from crewline.ctl.output import print_record, print_rows

MAX_PAGE_SIZE = 500


class DeadlineRecord(TypedDict):
    kind: str
    ref: str
    generation: int
    state: str  # pending, fired or dead_lettered
    due_at: str | None
    attempts: int  # failed handler runs in this generation
    last_error: str | None
    dead_at: str | None
    fired_at: str | None
    correlation_id: str


class DeadlinePage(TypedDict):
    deadlines: list[DeadlineRecord]
    next_page_token: str  # empty on the last page


class Rearmed(TypedDict):
    deadline: DeadlineRecord
    outcome: str  # armed, moved or unchanged


class DeadlineOps(Protocol):
    """One service's OpsService calls. Each raises ``RpcFailed`` when refused."""

    def list_dead_lettered(self, kind: str, page_size: int, page_token: str) -> DeadlinePage: ...

    def rearm(self, kind: str, ref: str, due_at: str | None) -> Rearmed: ...


# Builds a DeadlineOps for (service, address, operator credential).
# (The TLS to reach it with: None for plaintext.)
OpsFactory = Callable[[str, str, str, "ClientTls | None"], DeadlineOps]


def grpc_ops(service: str, address: str, credential: str, tls: ClientTls | None) -> DeadlineOps:
    """The real DeadlineOps; gRPC imported only here, so --help stays quick."""
    from crewline.ctl.ops_rpc import GrpcOps

    return GrpcOps(service, address, credential, tls=tls)


# Tests replace it; the rest of crewctl's outside world is ``crewline.ctl.app.Wiring``.
connect: OpsFactory = grpc_ops


def ops_of(state: State, service: str) -> DeadlineOps:
    """``service``'s OpsService at its resolved address, with the operator credential."""
    return connect(service, *state.operator_target(service), state.client_tls())


def print_dead(page: DeadlinePage) -> None:
    columns = ("kind", "ref", "generation", "attempts", "dead_at", "last_error")
    print_rows("Dead-lettered deadlines", page["deadlines"], columns)
    if page["next_page_token"]:
        click.echo(f"More: --page-token {page['next_page_token']}")


def print_rearmed(rearmed: Rearmed) -> None:
    print_record(f"Deadline ({rearmed['outcome']})", rearmed["deadline"])


service_option = click.option(
    "--service",
    type=click.Choice(config.SERVICES),
    default="dispatcher",
    show_default=True,
    help="Whose clocks (the dispatcher keeps Crewline's).",
)
json_option = click.option("--json", "as_json", is_flag=True, help="As crewctl --json.")


@click.group(
    "deadline",
    epilog=example("crewctl deadline dead --kind lease", "crewctl deadline rearm lease CLAIM_ID"),
)
def deadline() -> None:
    """Durable deadlines whose handler kept failing (dead-lettered): list and re-arm them."""


@deadline.command(
    "dead", epilog=example("crewctl deadline dead", "crewctl deadline dead --kind lease --json")
)
@click.option("--kind", default="", help="Only this kind, e.g. lease, task_lifetime.")
@service_option
@click.option("--page-size", type=click.IntRange(0, MAX_PAGE_SIZE), default=0, help="1-500; 0: 50.")
@click.option("--page-token", default="", help="The previous page's token.")
@click.option("--all", "every", is_flag=True, help="Every page, as one list.")
@json_option
@pass_state
def dead(
    state: State,
    kind: str,
    service: str,
    page_size: int,
    page_token: str,
    every: bool,
    as_json: bool,
) -> None:
    """List dead-lettered deadlines, oldest first, with their last error.

    Each waits until it is re-armed (crewctl deadline rearm) or its clock is
    cancelled. Services count them in crewline_<service>_deadlines_dead_letters.
    """
    ops = ops_of(state, service)
    page = ops.list_dead_lettered(kind, page_size, page_token)
    found = list(page["deadlines"])
    while every and page["next_page_token"]:
        page = ops.list_dead_lettered(kind, page_size, page["next_page_token"])
        found.extend(page["deadlines"])
    result: DeadlinePage = {"deadlines": found, "next_page_token": page["next_page_token"]}
    state.with_json(as_json).emit(result, print_dead)


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
@service_option
@json_option
@pass_state
def rearm(
    state: State, kind: str, ref: str, due_at: str | None, service: str, as_json: bool
) -> None:
    """Arm the clock KIND REF again: its handler runs at --at (default now).

    A dead-lettered or fired clock gets generation + 1 and no failed attempts; a
    pending one is moved. A clock that does not exist is NOT_FOUND (exit 4).
    """
    rearmed = ops_of(state, service).rearm(kind, ref, due_at)
    state.with_json(as_json).emit(rearmed, print_rearmed)
