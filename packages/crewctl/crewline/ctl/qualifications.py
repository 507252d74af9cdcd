"""``crewctl qualification ...``: qualification types, and who holds which, on the matcher."""

from __future__ import annotations

import click

from crewline.ctl.app import State, example, pass_state
from crewline.ctl.output import print_record, print_rows
from crewline.ctl.records.contractors import (
    KINDS,
    QualificationsReport,
    QualificationTypeRecord,
    kind_number,
    qualification_record,
    qualification_type_record,
    qualifications_report,
)


def print_types(types: list[QualificationTypeRecord]) -> None:
    columns = ("name", "kind", "description", "client_id", "created_at")
    print_rows("Qualification types", types, columns)


def print_report(report: QualificationsReport) -> None:
    """What the contractor holds now, then every change, oldest first."""
    columns = ("qualification", "kind", "score", "text", "granted_at", "updated_at")
    print_rows(f"Qualifications of {report['contractor_id']}", report["qualifications"], columns)
    history = ("changed_at", "qualification", "change", "score", "text", "reason")
    print_rows("History", report["history"], history)


@click.group(
    "qualification",
    epilog=example(
        "crewctl qualification type define domain.dermatology --kind score",
        "crewctl qualification grant dr-lee domain.dermatology --score 87",
    ),
)
def qualification() -> None:
    """Qualification types, and the qualifications contractors hold."""


@qualification.group(
    "type", epilog=example("crewctl qualification type define credential.md --kind presence")
)
def qualification_type() -> None:
    """Qualification types: define, list."""


@qualification_type.command(
    "define",
    epilog=example(
        "crewctl qualification type define domain.dermatology --kind score"
        " --description 'Dermatology, 0-100'",
        "crewctl qualification type define locale --kind string",
        "crewctl qualification type define acme.triage --kind score --client acme-labs",
    ),
)
@click.argument("name")
@click.option(
    "--kind",
    type=click.Choice(KINDS),
    required=True,
    help="score: 0-100; presence: held or not; string: a short text such as a locale.",
)
@click.option("--description", default="", help="Up to 500 characters.")
@click.option(
    "--client",
    "client_id",
    default="",
    help="A client that may attach an exam granting it (a score type); default: operators only.",
)
@pass_state
def define(state: State, name: str, kind: str, description: str, client_id: str) -> None:
    """Define the qualification type NAME (lower-case letters, digits, '.', '_', '-').

    Idempotent: the same name and kind return the same type. Projects may then require it.
    With --client, that client may attach an exam that grants it (`crewctl exam set`);
    types are platform-wide, so no client may otherwise.
    """
    with state.operator() as operator:
        defined = operator.define_qualification_type(
            name,
            kind=kind_number(kind),  # type: ignore[arg-type]  # an enum's number
            description=description,
            client_id=client_id,
        )
    state.emit(qualification_type_record(defined), lambda t: print_record("Qualification type", t))


@qualification_type.command("list", epilog=example("crewctl qualification type list"))
@pass_state
def list_types(state: State) -> None:
    """Every qualification type, by name."""
    with state.operator() as operator:
        types = [qualification_type_record(t) for t in operator.qualification_types()]
    state.emit(types, print_types)


@qualification.command(
    "grant",
    epilog=example(
        "crewctl qualification grant dr-lee domain.dermatology --score 87",
        "crewctl qualification grant dr-lee locale --text US",
        "crewctl qualification grant dr-lee credential.md",
    ),
)
@click.argument("contractor_id")
@click.argument("name")
@click.option("--score", type=click.IntRange(0, 100), help="For a score type (0-100).")
@click.option("--text", help="For a string type (1-64 characters).")
@pass_state
def grant(state: State, contractor_id: str, name: str, score: int | None, text: str | None) -> None:
    """Grant CONTRACTOR_ID the qualification NAME, or change its value.

    A presence type takes neither --score nor --text. Granting the same value changes nothing.
    """
    if score is not None and text is not None:
        raise click.UsageError("give --score or --text, not both")
    with state.operator() as operator:
        held = operator.grant_qualification(contractor_id, name, score=score, text=text)
    state.emit(qualification_record(held), lambda q: print_record("Qualification", q))


@qualification.command(
    "revoke",
    epilog=example("crewctl qualification revoke dr-lee domain.dermatology --reason 'lapsed'"),
)
@click.argument("contractor_id")
@click.argument("name")
@click.option("--reason", default="", help="Why, for the record (up to 500 characters).")
@pass_state
def revoke(state: State, contractor_id: str, name: str, reason: str) -> None:
    """Revoke the qualification NAME from CONTRACTOR_ID; if not held, nothing changes."""
    with state.operator() as operator:
        operator.revoke_qualification(contractor_id, name, reason=reason)
    result = {"contractor_id": contractor_id, "qualification": name, "held": False}
    state.emit(result, lambda r: print_record("Qualification revoked", r))


@qualification.command("list", epilog=example("crewctl qualification list dr-lee"))
@click.argument("contractor_id")
@pass_state
def list_held(state: State, contractor_id: str) -> None:
    """The qualifications CONTRACTOR_ID holds, and every change to them."""
    with state.operator() as operator:
        held = operator.qualifications(contractor_id)
        report = qualifications_report(contractor_id, held, operator.qualification_types())
    state.emit(report, print_report)
