"""What crewctl prints with --json, its exit code, and the requests it sends, for every
command: each case's record must equal its golden file under golden/crewctl/.

crewctl runs as a user runs it, through its Click app and its environment variables,
against stand-in servers that answer from a script (tests/grpc_standin.py), so these
goldens hold whatever crewctl's gRPC layer is made of. A deliberate change of output is
recorded by running with CREWLINE_UPDATE_GOLDEN=1 and reviewing the diff of the files.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from crewctl_golden import (
    admin_cases,
    contractor_cases,
    dispute_cases,
    exam_cases,
    ops_cases,
    project_cases,
    quality_cases,
    review_cases,
    sanction_cases,
)
from crewctl_golden.harness import UPDATE_ENV, Case, golden_text, run, updating
from grpc_standin import StandIns

from crewline.ctl.main import cli

GOLDEN = Path(__file__).parent / "golden" / "crewctl"
CASES: list[Case] = [
    *admin_cases.CASES,
    *ops_cases.CASES,
    *project_cases.CASES,
    *review_cases.CASES,
    *contractor_cases.CASES,
    *quality_cases.CASES,
    *sanction_cases.CASES,
    *dispute_cases.CASES,
    *exam_cases.CASES,
]


def leaf_commands(command: click.Command, path: tuple[str, ...] = ()) -> Iterator[str]:
    """Every command of crewctl that does something, e.g. ``client key create``."""
    if isinstance(command, click.Group):
        for name, sub in command.commands.items():
            yield from leaf_commands(sub, (*path, name))
    else:
        yield " ".join(path)


@pytest.mark.parametrize("found", CASES, ids=lambda c: c.name)
def test_crewctl_prints_exits_and_sends_as_its_golden_says(found: Case, servers: StandIns) -> None:
    record = run(found, servers)
    assert (record["exit_code"] != 0) == found.fails, json.dumps(record, indent=2)
    path = GOLDEN / f"{found.name}.json"
    if updating():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(golden_text(record))
        return
    if not path.is_file():
        pytest.fail(f"{path} is missing: run with {UPDATE_ENV}=1 and review it")
    assert record == json.loads(path.read_text())


def test_every_command_has_a_golden_that_succeeds_and_one_that_fails() -> None:
    commands = set(leaf_commands(cli))
    succeeding = {c.command for c in CASES if not c.fails}
    failing = {c.command for c in CASES if c.fails}
    assert sorted(commands - succeeding) == [], "commands without a golden that succeeds"
    assert sorted(commands - failing) == [], "commands without a golden that fails"
    assert sorted({c.command for c in CASES} - commands) == [], "cases of no command"


def test_each_golden_file_belongs_to_one_case() -> None:
    names = [c.name for c in CASES]
    assert len(names) == len(set(names)), "two cases share a golden file"
    if not updating():
        assert sorted(p.stem for p in GOLDEN.glob("*.json")) == sorted(names)
