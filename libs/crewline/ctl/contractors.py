"""``crewctl contractor ...``: contractors (vetted experts) and their tokens, on the matcher."""

from __future__ import annotations

import click

from crewline.ctl.app import State, example, pass_state
from crewline.ctl.output import note, print_new_token, print_record

MAX_TTL_SECONDS = 30 * 24 * 3600


@click.group(
    "contractor",
    epilog=example(
        "crewctl contractor create dr-lee --name 'Dr. Ada Lee'",
        "crewctl contractor token dr-lee --ttl 3600",
    ),
)
def contractor() -> None:
    """Contractors (vetted experts) and their tokens, on the matcher."""


@contractor.command(
    "create", epilog=example("crewctl contractor create dr-lee --name 'Dr. Ada Lee'")
)
@click.argument("contractor_id")
@click.option("--name", default="", help="Display name, e.g. 'Dr. Ada Lee'.")
@pass_state
def create(state: State, contractor_id: str, name: str) -> None:
    """Create the contractor CONTRACTOR_ID (1-128 of letters, digits and . _ : @ -).

    Idempotent: the same id and name return the same contractor.
    """
    created = state.admin().create_contractor(contractor_id, name)
    state.emit(created, lambda c: print_record("Contractor", c))


@contractor.command(
    "token",
    epilog=example("crewctl contractor token dr-lee", "crewctl contractor token dr-lee --ttl 3600"),
)
@click.argument("contractor_id")
@click.option(
    "--ttl",
    type=click.IntRange(0, MAX_TTL_SECONDS),
    default=0,
    show_default=True,
    help="Lifetime in seconds, 60 to 30 days; 0 lets the server choose (12 hours).",
)
@pass_state
def token(state: State, contractor_id: str, ttl: int) -> None:
    """Issue a signed token for CONTRACTOR_ID and print it; it is shown only now."""
    issued = state.admin().issue_token(contractor_id, ttl)
    state.emit(issued, print_new_token)
    if state.options.json:
        note("The token in this output is shown only now; Crewline keeps only its id.")


@contractor.command("revoke-token", epilog=example("crewctl contractor revoke-token 01J9Z6W3YQ8C"))
@click.argument("token_id")
@pass_state
def revoke_token(state: State, token_id: str) -> None:
    """Revoke the token TOKEN_ID before it expires, on every service within seconds."""
    revoked = state.admin().revoke_token(token_id)
    state.emit(revoked, lambda t: print_record("Contractor token", t))
