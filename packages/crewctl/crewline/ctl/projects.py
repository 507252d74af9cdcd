"""``crewctl project ...``: a client's projects, on the dispatcher, with the client's API key.

The credential is the client's API key (--credential or $CREWLINE_CREDENTIAL), not
the operator credential: an operator may not act as a client.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, cast

import click

from crewline.ctl.answers import describe_spec, print_answer_spec
from crewline.ctl.app import State, example, pass_state
from crewline.ctl.output import print_record, print_rows
from crewline.ctl.pages import Paging, paging_options, print_more
from crewline.ctl.params import new_request_id
from crewline.ctl.records.projects import (
    PayTermsRecord,
    ProjectDetails,
    ProjectFields,
    ProjectPage,
    ProjectRecord,
    RequirementRecord,
    create_project,
    details_record,
    page_record,
    project_record,
    update_project,
)

# The comparators' names as the SDK derives them from the proto
# (crewline.client.build.COMPARATORS; a unit test holds the two equal), written out so
# that --help and completion import neither gRPC nor protobuf.
COMPARATORS = (
    *("less_than", "less_or_equal", "greater_than", "greater_or_equal", "equal"),
    *("not_equal", "exists", "not_exists", "in", "not_in"),
)
_SYMBOLS = {
    "<": "less_than",
    "<=": "less_or_equal",
    ">": "greater_than",
    ">=": "greater_or_equal",
    "=": "equal",
    "==": "equal",
    "!=": "not_equal",
}
_INTEGER = re.compile(r"-?\d+")
REQUIREMENT_SHAPE = (
    "QUALIFICATION:COMPARATOR[:V1,V2,...], e.g. 'domain.dermatology:>=:80',"
    " 'locale:in:US,CA', 'credential.bar:exists'"
)
REQUIREMENT_HELP = (
    f"{REQUIREMENT_SHAPE}. Comparators: "
    + ", ".join(COMPARATORS)
    + " (or < <= > >= = !=). Whole numbers are scores, anything else strings. Repeatable."
)


def minor_units(amount: str, currency: str) -> int:
    """``12.50`` ``USD`` -> 1250: the amount in the currency's minor units, by the SDK's
    table of currencies (imported here: it loads gRPC, which --help never needs)."""
    from crewline.client.results import money

    try:
        return money.minor_units(amount, currency)
    except ValueError as err:
        raise click.BadParameter(str(err)) from None


def parse_requirement(text: str) -> RequirementRecord:
    """``QUALIFICATION:COMPARATOR[:VALUES]`` as a requirement record."""
    parts = text.split(":", 2)
    if len(parts) < 2 or not parts[0]:
        raise click.BadParameter(f"{text!r}: expected {REQUIREMENT_SHAPE}")
    name, word = parts[0], parts[1].strip().lower()
    comparator = _SYMBOLS.get(word, word)
    if comparator not in COMPARATORS:
        raise click.BadParameter(f"{text!r}: {word!r} is not a comparator")
    raw = [v for v in parts[2].split(",") if v] if len(parts) == 3 else []
    values: list[int | str] = (
        [int(v) for v in raw] if raw and all(_INTEGER.fullmatch(v) for v in raw) else list(raw)
    )
    return {"qualification": name, "comparator": comparator, "values": values, "project_id": ""}


def pay_terms(
    reward: tuple[str, str] | None, hourly: tuple[str, str] | None, cap: int | None
) -> PayTermsRecord | None:
    """The pay terms the options give, or None when they give none."""
    if reward and hourly:
        raise click.UsageError("give --reward or --hourly, not both")
    if hourly and cap is None:
        raise click.UsageError("--hourly needs --cap SECONDS (the most paid per claim)")
    if cap is not None and not hourly:
        raise click.UsageError("--cap goes with --hourly")
    chosen = reward or hourly
    if chosen is None:
        return None
    amount, currency = chosen
    return {
        "version": 0,
        "basis": "hourly" if hourly else "per_submission",
        "currency": currency.upper(),
        "amount_minor": minor_units(amount, currency),
        "max_paid_seconds": cap or 0,
        "effective_at": None,
    }


def _options(f: Any) -> Any:
    """The settable fields' options, shared by create and update."""
    for option in reversed(
        [
            click.option("--instructions", help="Shown to contractors with every task."),
            click.option("--requirement", "requirements", multiple=True, help=REQUIREMENT_HELP),
            click.option(
                "--reward",
                nargs=2,
                metavar="AMOUNT CURRENCY",
                help="Pay per accepted submission, e.g. 12.50 USD.",
            ),
            click.option(
                "--hourly",
                nargs=2,
                metavar="RATE CURRENCY",
                help="Pay per hour, e.g. 30 USD; needs --cap.",
            ),
            click.option(
                "--cap",
                type=click.IntRange(1),
                metavar="SECONDS",
                help="Most seconds paid per claim (hourly).",
            ),
            click.option("--slots", type=int, help="Slots per task (1-1000); default 1."),
            click.option("--priority", type=int, help="0-100, higher first; default 0."),
            click.option(
                "--claim-timeout", type=int, metavar="SECONDS", help="Claim lease; default 3600."
            ),
            click.option(
                "--lifetime", type=int, metavar="SECONDS", help="Task lifetime; default 7 days."
            ),
            click.option(
                "--auto-accept",
                type=int,
                metavar="SECONDS",
                help="Auto-accept delay; default 3 days.",
            ),
            click.option(
                "--max-claims", type=int, help="Claims per contractor in the project; 0 = no limit."
            ),
        ]
    ):
        f = option(f)
    return f


_FIELD_OF_OPTION = {
    "instructions": "instructions",
    "slots": "assignments_per_task",
    "priority": "priority",
    "claim_timeout": "claim_timeout_seconds",
    "lifetime": "task_lifetime_seconds",
    "auto_accept": "auto_accept_delay_seconds",
    "max_claims": "max_claims_per_contractor",
}


def fields_of(options: dict[str, Any]) -> ProjectFields:
    """The project fields the given options set (``None``: not given)."""
    fields: dict[str, Any] = {
        field: options[name]
        for name, field in _FIELD_OF_OPTION.items()
        if options.get(name) is not None
    }
    if options.get("requirements"):
        fields["requirements"] = [parse_requirement(r) for r in options["requirements"]]
    terms = pay_terms(options.get("reward"), options.get("hourly"), options.get("cap"))
    if terms is not None:
        fields["pay_terms"] = terms
    return cast(ProjectFields, fields)


def format_money(amount_minor: int, currency: str) -> str:
    """1250, ``USD`` -> ``12.50 USD``."""
    from crewline.client.results.money import decimals

    return f"{Decimal(amount_minor).scaleb(-decimals(currency)):f} {currency}"


def money_text(money: Mapping[str, Any] | None) -> str | None:
    """A money record as ``12.50 USD``; None stays None."""
    if money is None:
        return None
    return format_money(money["amount_minor"], money["currency"])


def positive_minor_units(amount: str, currency: str) -> int:
    """``minor_units``, refusing zero and negative amounts and malformed currencies."""
    if not re.fullmatch(r"[A-Za-z]{3}", currency):
        raise click.BadParameter(f"{currency!r} is not a currency code, e.g. USD")
    minor = minor_units(amount, currency)
    if minor <= 0:
        raise click.BadParameter(f"{amount} {currency.upper()} must be greater than zero")
    return minor


def describe_terms(terms: PayTermsRecord) -> str:
    amount = format_money(terms["amount_minor"], terms["currency"])
    if terms["basis"] == "hourly":
        text = f"{amount} per hour, at most {terms['max_paid_seconds']} s per claim"
    else:
        text = f"{amount} per accepted submission"
    return f"{text} (version {terms['version']}, since {terms['effective_at'] or '-'})"


def describe_requirement(r: RequirementRecord, own_project_id: str = "") -> str:
    """``quality.acceptance_rate greater_or_equal 60 in <project>``: a measure names the
    project it is measured in (``this project`` for the project it is on)."""
    values = ",".join(str(v) for v in r["values"])
    where = r["project_id"]
    place = f"in {'this project' if where == own_project_id else where}" if where else ""
    return " ".join(filter(None, (r["qualification"], r["comparator"], values, place)))


def print_project(project: ProjectRecord) -> None:
    shown: dict[str, object] = dict(project)
    described = [describe_requirement(r, project["project_id"]) for r in project["requirements"]]
    shown["requirements"] = "; ".join(described) or None
    shown["pay_terms"] = describe_terms(project["pay_terms"])
    shown["answer_spec"] = describe_spec(project["answer_spec"])
    print_record("Project", shown)
    print_answer_spec(project["answer_spec"])


def print_details(details: ProjectDetails) -> None:
    print_project(details["project"])
    history = [{**t, "terms": describe_terms(t)} for t in details["pay_terms_history"]]
    print_rows("Pay terms history", history, ("version", "terms"))


def print_page(page: ProjectPage) -> None:
    columns = ("project_id", "title", "state", "priority", "revision", "created_at")
    print_rows("Projects", page["projects"], columns)
    print_more(page)


@click.group(
    "project",
    epilog=example(
        "crewctl --credential \"$KEY\" project create 'Dermatology ratings' --reward 12.50 USD",
        'CREWLINE_CREDENTIAL="$KEY" crewctl project list',
    ),
)
def project() -> None:
    """A client's projects, on the dispatcher, with the client's API key.

    The credential is an API key (--credential or $CREWLINE_CREDENTIAL), never the
    operator credential.
    """


@project.command(
    "create",
    epilog=example(
        "crewctl project create 'Dermatology ratings' --reward 12.50 USD"
        " --requirement 'domain.dermatology:>=:80' --slots 3",
        "crewctl project create 'Case review' --hourly 60 USD --cap 7200",
    ),
)
@click.argument("title")
@_options
@click.option("--request-id", help="Idempotency key; default: a fresh crewctl-<uuid4>.")
@pass_state
def create(state: State, /, title: str, request_id: str | None, **options: Any) -> None:
    """Create a project called TITLE. Pay terms (--reward or --hourly) are required."""
    fields = fields_of(options)
    if "pay_terms" not in fields:
        raise click.UsageError("give the pay terms: --reward AMOUNT CURRENCY or --hourly ...")
    fields["title"] = title
    fields.setdefault("instructions", "")
    request_id = request_id or new_request_id()
    with state.client() as client:
        created = create_project(client, request_id, fields)
    state.emit(created, print_project)


@project.command("get", epilog=example("crewctl project get 6f1c2a4e-8b1d-4f7e-9a51-3d2b7c9e0f12"))
@click.argument("project_id")
@pass_state
def get(state: State, project_id: str) -> None:
    """The project PROJECT_ID, its answer spec and every version of its pay terms."""
    with state.client() as client:
        details = details_record(client.get_project(project_id).raw)
    state.emit(details, print_details)


@project.command(
    "list", epilog=example("crewctl project list", "crewctl --json project list --all")
)
@paging_options(most=100, server_default=50)
@pass_state
def list_(state: State, paging: Paging) -> None:
    """The caller's projects, newest first."""
    with state.client() as client:
        page = paging.read(
            lambda size, token: page_record(
                client.list_projects_page(page_size=size, page_token=token)
            ),
            "projects",
        )
    state.emit(page, print_page)


@project.command(
    "update",
    epilog=example(
        "crewctl project update 6f1c2a4e-8b1d-4f7e-9a51-3d2b7c9e0f12 --reward 15 USD",
        "crewctl project update 6f1c2a4e-8b1d-4f7e-9a51-3d2b7c9e0f12 --title 'Derm v2'"
        " --expected-revision 3",
    ),
)
@click.argument("project_id")
@click.option("--title", help="1-200 characters.")
@_options
@click.option("--no-requirements", is_flag=True, help="Drop every requirement.")
@click.option("--expected-revision", type=click.IntRange(0), default=0, help="Refuse unless at it.")
@pass_state
def update(
    state: State,
    /,
    project_id: str,
    title: str | None,
    no_requirements: bool,
    expected_revision: int,
    **options: Any,
) -> None:
    """Change the fields given; new pay terms become a new version. Nothing else changes."""
    changes = fields_of(options)
    if title is not None:
        changes["title"] = title
    if no_requirements:
        if "requirements" in changes:
            raise click.UsageError("give --requirement or --no-requirements, not both")
        changes["requirements"] = []
    if not changes:
        raise click.UsageError("nothing to change: give at least one field option")
    with state.client() as client:
        updated = update_project(client, project_id, changes, expected_revision)
    state.emit(updated, print_project)


_ID = "6f1c2a4e-8b1d-4f7e-9a51-3d2b7c9e0f12"
_RUNNING_CLAIMS = (
    "Claims running now are cut: their leases are not extended any more, but work"
    " submitted before a claim's deadline is reviewed and paid; on hourly terms a cut"
    " claim that ends without work is paid for the time tracked so far."
)


@project.command(
    "pause",
    epilog=example(f"crewctl project pause {_ID}"),
    help="Pause PROJECT_ID: its open slots leave every offer at once, until resumed.\n\n"
    f"{_RUNNING_CLAIMS}\n\nPausing a paused project changes nothing; a closed one is refused.",
)
@click.argument("project_id")
@pass_state
def pause(state: State, project_id: str) -> None:
    with state.client() as client:
        paused = project_record(client.pause_project(project_id).raw)
    state.emit(paused, print_project)


@project.command("resume", epilog=example(f"crewctl project resume {_ID}"))
@click.argument("project_id")
@pass_state
def resume(state: State, project_id: str) -> None:
    """Resume PROJECT_ID: its tasks with free slots are offered again.

    Claims cut by the pause stay cut. Resuming an active project changes nothing; a
    closed one is refused.
    """
    with state.client() as client:
        resumed = project_record(client.resume_project(project_id).raw)
    state.emit(resumed, print_project)


@project.command(
    "close",
    epilog=example(f"crewctl project close {_ID}", f"crewctl project close {_ID} --yes"),
    help="Close PROJECT_ID for good: it takes no new tasks and never offers again.\n\n"
    f"{_RUNNING_CLAIMS}\n\nClosing a closed project changes nothing. Asks first unless"
    " --yes; declining exits 1 and changes nothing.",
)
@click.argument("project_id")
@click.option("--yes", "-y", is_flag=True, help="Do not ask first (for scripts).")
@pass_state
def close(state: State, project_id: str, yes: bool) -> None:
    if not yes:
        click.confirm(f"Close project {project_id} for good?", abort=True, err=True)
    with state.client() as client:
        closed = project_record(client.close_project(project_id).raw)
    state.emit(closed, print_project)
