"""``crewctl client ...``: clients (AI labs) and their API keys, on the dispatcher."""

from __future__ import annotations

import click

from crewline.ctl.app import State, example, pass_state
from crewline.ctl.output import note, print_keys, print_new_key, print_record
from crewline.ctl.params import new_request_id
from crewline.ctl.records.clients import client_record, key_record, new_key_record


@click.group(
    "client",
    epilog=example(
        "crewctl client create acme-labs --name 'Acme Labs'",
        "crewctl client key create acme-labs",
    ),
)
def client() -> None:
    """Clients (AI labs) and their API keys, on the dispatcher."""


@client.command("create", epilog=example("crewctl client create acme-labs --name 'Acme Labs'"))
@click.argument("client_id")
@click.option("--name", default="", help="Display name, e.g. 'Acme Labs'.")
@pass_state
def create(state: State, client_id: str, name: str) -> None:
    """Create the client CLIENT_ID (1-128 of letters, digits and . _ : @ -).

    Idempotent: the same id and name return the same client.
    """
    with state.operator() as operator:
        made = client_record(operator.create_client(client_id, display_name=name))
    state.emit(made, lambda c: print_record("Client", c))


@client.group("key", epilog=example("crewctl client key list acme-labs"))
def key() -> None:
    """API keys of a client: create, list, revoke."""


@key.command(
    "create",
    epilog=example(
        "crewctl client key create acme-labs",
        "crewctl --json client key create acme-labs --request-id onboarding-acme-1",
    ),
)
@click.argument("client_id")
@click.option(
    "--request-id",
    help="Idempotency key; repeating it returns the same key, without its secret."
    " Default: a fresh crewctl-<uuid4>.",
)
@pass_state
def create_key(state: State, client_id: str, request_id: str | None) -> None:
    """Create an API key for CLIENT_ID and print its secret, which is shown only now."""
    with state.operator() as operator:
        reply = operator.create_api_key(client_id, request_id=request_id or new_request_id())
    created = new_key_record(reply)
    state.emit(created, print_new_key)
    if state.options.json and created["secret"]:
        note("The secret in this output is shown only now; Crewline keeps only a hash.")


@key.command("list", epilog=example("crewctl client key list acme-labs"))
@click.argument("client_id")
@pass_state
def list_keys(state: State, client_id: str) -> None:
    """Every API key of CLIENT_ID, revoked ones included (never a secret)."""
    with state.operator() as operator:
        keys = [key_record(k) for k in operator.api_keys(client_id)]
    state.emit(keys, print_keys)


@key.command("revoke", epilog=example("crewctl client key revoke 3f9c2a7d1b"))
@click.argument("key_id")
@pass_state
def revoke_key(state: State, key_id: str) -> None:
    """Revoke the API key KEY_ID on every service within seconds.

    Revoking a revoked key changes nothing.
    """
    with state.operator() as operator:
        revoked = key_record(operator.revoke_api_key(key_id))
    state.emit(revoked, lambda k: print_record("API key", k))
