"""``crewctl deadletters ...``: consumed events a service could not apply, and their replay.

A consumer sets aside an event it cannot apply for a permanent reason (an unknown
currency, a negative amount, a missing key, a foreign-key failure) as a dead letter,
and goes on (see ``crewline.consumer``). Every service serves them through the
kernel's OpsService; the ledger keeps the books, so it is the default ``--service``.
Calls carry the operator credential. Records are JSON-ready dicts.
"""

from __future__ import annotations

from typing import Any

import click

from crewline.ctl.app import State, example, pass_state
from crewline.ctl.errors import ExitCode
from crewline.ctl.output import note, print_record
from crewline.ctl.pages import Paging, paging_options, print_more
from crewline.ctl.params import service_option
from crewline.ctl.records.ops import DeadLetterPage, Replayed, dead_letter_page, replayed_record


def print_page(page: DeadLetterPage) -> None:
    """Plain lines, not a table: an event id is copied whole into ``replay``, never folded."""
    letters = page["dead_letters"]
    click.secho(f"Dead letters: {len(letters)}", bold=True)
    for d in letters:
        replays = f"replays {d['replays']}" if d["replays"] else "not replayed"
        where = f"{d['topic']}:{d['partition']}@{d['offset']}"
        click.echo(f"{d['event_id']}  {d['type'] or '(malformed)'}  {d['dead_at']}  {replays}")
        click.echo(f"    {where}  {d['error']}")
    print_more(page)


def print_replayed(replayed: Replayed) -> None:
    print_record(f"Dead letter ({replayed['outcome']})", replayed["dead_letter"])


@click.group(
    "deadletters",
    epilog=example(
        "crewctl deadletters list",
        "crewctl deadletters replay 3f2b8c1e-9d4a-4c0e-8f5b-2a7d6e1c9b30",
    ),
)
def deadletters() -> None:
    """Events a service's consumer could not apply (dead letters): list and replay them."""


_service_option = service_option(
    default="ledger", help="Whose consumer (the ledger keeps the books)."
)


@deadletters.command(
    "list",
    epilog=example(
        "crewctl deadletters list",
        "crewctl deadletters list --service dispatcher --topic crewline.claims.v1 --all --json",
    ),
)
@_service_option
@click.option("--topic", default="", help="Only this topic, e.g. crewline.tasks.v1.")
@paging_options(most=500, server_default=50)
@pass_state
def list_(state: State, service: str, topic: str, paging: Paging) -> None:
    """List the open dead letters, oldest first, with their error.

    Each is an event the consumer set aside for a permanent reason, without stopping:
    it stays until a replay applies it (crewctl deadletters replay). Services count
    them in crewline_<service>_dead_letters_total and _dead_letters_open.
    """
    on: Any = service  # one of config.SERVICES, as the option's choices say
    with state.operator() as operator:
        result = paging.read(
            lambda size, token: dead_letter_page(
                operator.dead_letters_page(on, topic=topic, page_size=size, page_token=token)
            ),
            "dead_letters",
        )
    state.emit(result, print_page)


@deadletters.command(
    "replay",
    epilog=example(
        "crewctl deadletters replay 3f2b8c1e-9d4a-4c0e-8f5b-2a7d6e1c9b30",
        "crewctl deadletters replay EVENT_ID --service dispatcher --json",
    ),
)
@click.argument("event_id")
@_service_option
@pass_state
@click.pass_context
def replay(ctx: click.Context, state: State, event_id: str, service: str) -> None:
    """Apply the dead letter EVENT_ID again, once its cause is fixed.

    It goes through the consumer's own handler and its idempotency, so it is
    applied at most once: the outcome is applied (it leaves the list), failed
    (it stays, with the new error; exits 1) or already_applied (nothing done).
    An unknown EVENT_ID is NOT_FOUND (exit 4).
    """
    on: Any = service  # one of config.SERVICES, as the option's choices say
    with state.operator() as operator:
        replayed = replayed_record(operator.replay_dead_letter(on, event_id))
    state.emit(replayed, print_replayed)
    if replayed["outcome"] == "failed":
        note(f"Not applied: {replayed['dead_letter']['error']}")
        ctx.exit(ExitCode.REFUSED)
