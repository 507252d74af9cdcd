"""``crewctl contractor ...``: contractors (vetted experts), their profiles and tokens."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from crewline.ctl.app import State, example, pass_state
from crewline.ctl.output import note, print_new_token, print_record
from crewline.ctl.params import Duration
from crewline.ctl.records.contractors import (
    ContractorRecord,
    ProfileFields,
    contractor_record,
    new_token_record,
    profile_contractor,
    token_record,
)

F = TypeVar("F", bound=Callable[..., Any])
# A token's lifetime, as IssueContractorTokenRequest.ttl_seconds takes it (0: 12 hours).
MIN_TTL_SECONDS = 60
MAX_TTL_SECONDS = 30 * 24 * 3600
MAX_CONCURRENT_CLAIMS = 100


def split_list(value: str) -> list[str]:
    """``medicine, law`` -> ["medicine", "law"]; an empty string is an empty list."""
    return [part.strip() for part in value.split(",") if part.strip()]


def print_contractor(contractor: ContractorRecord) -> None:
    shown = {k: ", ".join(v) if isinstance(v, list) else v for k, v in contractor.items()}
    print_record("Contractor", shown)


def profile_options(command: F) -> F:
    """The profile fields, shared by ``create`` and ``update``."""
    for option in reversed(
        (
            click.option("--domains", help="Comma-separated, e.g. 'medicine,law' ('' clears)."),
            click.option("--languages", help="Comma-separated BCP 47 tags, e.g. 'en,pt-BR'."),
            click.option("--locale", help="e.g. US (at most 16 characters)."),
            click.option(
                "--max-claims",
                type=click.IntRange(1, MAX_CONCURRENT_CLAIMS),
                help="Claims the contractor may hold at once (1-100; the server's default is 3).",
            ),
        )
    ):
        command = option(command)
    return command


def profile(
    domains: str | None, languages: str | None, locale: str | None, max_claims: int | None
) -> ProfileFields:
    """The profile options that were given."""
    fields: ProfileFields = {}
    if domains is not None:
        fields["domains"] = split_list(domains)
    if languages is not None:
        fields["languages"] = split_list(languages)
    if locale is not None:
        fields["locale"] = locale
    if max_claims is not None:
        fields["max_concurrent_claims"] = max_claims
    return fields


@click.group(
    "contractor",
    epilog=example(
        "crewctl contractor create dr-lee --name 'Dr. Ada Lee' --domains medicine",
        "crewctl contractor token dr-lee --ttl 2h",
    ),
)
def contractor() -> None:
    """Contractors (vetted experts), their profiles and tokens, on the matcher."""


@contractor.command(
    "create",
    epilog=example(
        "crewctl contractor create dr-lee --name 'Dr. Ada Lee'",
        "crewctl contractor create dr-kim --domains medicine,law --languages en,ko"
        " --referred-by dr-lee",
    ),
)
@click.argument("contractor_id")
@click.option("--name", default="", help="Display name, e.g. 'Dr. Ada Lee'.")
@profile_options
@click.option("--referred-by", default="", help="The id of the contractor who referred them.")
@pass_state
def create(
    state: State,
    contractor_id: str,
    name: str,
    domains: str | None,
    languages: str | None,
    locale: str | None,
    max_claims: int | None,
    referred_by: str,
) -> None:
    """Create the contractor CONTRACTOR_ID (1-128 of letters, digits and . _ : @ -).

    Idempotent: the same id and fields return the same contractor.
    """
    fields = profile(domains, languages, locale, max_claims)
    with state.operator() as operator:
        created = operator.create_contractor(
            contractor_id,
            display_name=name,
            domains=fields.get("domains", ()),
            languages=fields.get("languages", ()),
            locale=fields.get("locale", ""),
            max_concurrent_claims=fields.get("max_concurrent_claims", 0),
            referred_by=referred_by,
        )
    state.emit(contractor_record(created), print_contractor)


@contractor.command("get", epilog=example("crewctl contractor get dr-lee"))
@click.argument("contractor_id")
@pass_state
def get(state: State, contractor_id: str) -> None:
    """Show the contractor CONTRACTOR_ID."""
    with state.operator() as operator:
        found = contractor_record(operator.get_contractor(contractor_id))
    state.emit(found, print_contractor)


@contractor.command(
    "update",
    epilog=example(
        "crewctl contractor update dr-lee --max-claims 5",
        "crewctl contractor update dr-lee --name 'Dr. Ada Lee-Park' --domains ''",
    ),
)
@click.argument("contractor_id")
@click.option("--name", help="Display name (1-200 characters).")
@profile_options
@pass_state
def update(
    state: State,
    contractor_id: str,
    name: str | None,
    domains: str | None,
    languages: str | None,
    locale: str | None,
    max_claims: int | None,
) -> None:
    """Change the given fields of CONTRACTOR_ID; the others stay as they are.

    An update that changes nothing is not recorded as a change.
    """
    changes = profile(domains, languages, locale, max_claims)
    if name is not None:
        changes["display_name"] = name
    if not changes:
        raise click.UsageError(
            "nothing to update: give --name, --domains, --languages, --locale or --max-claims"
        )
    with state.operator() as operator:
        updated = operator.update_contractor(
            profile_contractor(contractor_id, changes), paths=list(changes)
        )
    state.emit(contractor_record(updated), print_contractor)


@contractor.command(
    "deactivate",
    epilog=example("crewctl contractor deactivate dr-lee --reason 'left the platform'"),
)
@click.argument("contractor_id")
@click.option("--reason", required=True, help="Why, for the record (1-500 characters).")
@pass_state
def deactivate(state: State, contractor_id: str, reason: str) -> None:
    """Deactivate CONTRACTOR_ID: their tokens are revoked and they see no more offers.

    Claims already running may still be submitted. Repeating it changes nothing.
    """
    with state.operator() as operator:
        deactivated = operator.deactivate_contractor(contractor_id, reason=reason)
    state.emit(contractor_record(deactivated), print_contractor)


@contractor.command(
    "token",
    epilog=example("crewctl contractor token dr-lee", "crewctl contractor token dr-lee --ttl 2h"),
)
@click.argument("contractor_id")
@click.option(
    "--ttl",
    type=Duration(minimum=MIN_TTL_SECONDS, maximum=MAX_TTL_SECONDS, zero=True),
    default=0,
    show_default=True,
    help="Lifetime: seconds (3600) or 90s, 30m, 12h, 7d; 60 s to 30 days; 0 lets the"
    " server choose (12 hours).",
)
@pass_state
def token(state: State, contractor_id: str, ttl: int) -> None:
    """Issue a signed token for CONTRACTOR_ID and print it; it is shown only now."""
    with state.operator() as operator:
        issued = new_token_record(operator.issue_token(contractor_id, ttl_seconds=ttl))
    state.emit(issued, print_new_token)
    if state.options.json:
        note("The token in this output is shown only now; Crewline keeps only its id.")


@contractor.command("revoke-token", epilog=example("crewctl contractor revoke-token 01J9Z6W3YQ8C"))
@click.argument("token_id")
@pass_state
def revoke_token(state: State, token_id: str) -> None:
    """Revoke the token TOKEN_ID before it expires, on every service within seconds."""
    with state.operator() as operator:
        revoked = token_record(operator.revoke_token(token_id))
    state.emit(revoked, lambda t: print_record("Contractor token", t))
