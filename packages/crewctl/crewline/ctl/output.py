"""How results reach stdout: one JSON document with ``--json``, rich tables otherwise.

Notes for people (a secret is shown only once, a check failed) go to stderr in
``--json`` mode, so stdout is always a single parseable document.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from crewline.ctl.records.clients import ApiKeyRecord, NewApiKey
from crewline.ctl.records.contractors import NewToken
from crewline.ctl.records.ops import HealthRow

NONE = "-"


# Wide enough that an id is never folded; tables still take only the width they need.
UNWRAPPED_WIDTH = 10_000


def _console() -> Console:
    # Built per call so it writes to whatever sys.stdout is now (Click's test runner swaps it).
    # Not on a terminal (a pipe, a file), rich would fold cells at 80 columns and split ids.
    console = Console(highlight=False)
    if not console.is_terminal:
        console = Console(highlight=False, width=UNWRAPPED_WIDTH)
    return console


def print_json(data: object) -> None:
    """``data`` as one JSON document on stdout."""
    click.echo(json.dumps(data, indent=2))


def note(text: str) -> None:
    """A line for people, on stderr (never part of ``--json`` output)."""
    click.echo(text, err=True)


def _cell(value: object, style: str = "") -> Text:
    # Text, not str: a display name with [brackets] must not be read as rich markup.
    return Text(NONE if value is None or value == "" else str(value), style=style)


def print_record(title: str, record: Mapping[str, object]) -> None:
    """One record as a two-column table of field and value."""
    table = Table(title=title, show_header=False, title_justify="left")
    table.add_column("field", style="bold")
    table.add_column("value", overflow="fold")
    for name, value in record.items():
        table.add_row(name, _cell(value))
    _console().print(table)


def print_rows(title: str, rows: Sequence[Mapping[str, object]], columns: Sequence[str]) -> None:
    """Records as a table, one row each; ``columns`` are record keys."""
    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(column.replace("_", " "), overflow="fold")
    for row in rows:
        table.add_row(*(_cell(row.get(column)) for column in columns))
    _console().print(table)
    if not rows:
        click.echo("(none)")


def shorten(text: str | None, limit: int = 200) -> str | None:
    """A long value (a task's payload) cut for a table; ``--json`` shows all of it."""
    if text is None or len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text)} characters; --json shows all)"


def _print_secret(label: str, secret: str, why: str) -> None:
    # Plain echo, not rich: the secret must come out exactly, never wrapped or styled.
    click.secho(f"{label}, shown only now ({why}); store it safely:", bold=True, fg="yellow")
    click.echo(secret)


def print_new_key(created: NewApiKey) -> None:
    """A created key, then its secret, or why there is none."""
    print_record("API key", created["key"])
    if created["secret"]:
        _print_secret("Secret", created["secret"], "Crewline keeps only a hash")
    else:
        click.echo(
            "No secret: this request id created the key earlier and its secret was shown"
            " then. If it is lost, revoke the key and create another."
        )


def print_keys(keys: Sequence[ApiKeyRecord]) -> None:
    """A client's keys, revoked ones included."""
    print_rows("API keys", keys, ("key_id", "client_id", "created_at", "revoked_at"))


def print_new_token(issued: NewToken) -> None:
    """An issued token, then the bearer credential."""
    print_record("Contractor token", issued["token"])
    _print_secret("Token", issued["secret"], "Crewline keeps only its id")


def print_health(rows: Sequence[HealthRow]) -> None:
    """The health table, with statuses other than SERVING in red."""
    table = Table(title="Health", title_justify="left")
    for column in ("service", "address", "liveness", "readiness"):
        table.add_column(column)
    for row in rows:
        marks = [_cell(s, "green" if s == "SERVING" else "red") for s in _statuses(row)]
        table.add_row(_cell(row["service"]), _cell(row["address"]), *marks)
    _console().print(table)


def _statuses(row: HealthRow) -> tuple[str, str]:
    return row["liveness"], row["readiness"]
