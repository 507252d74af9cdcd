"""What crewctl's help says: every field of a decisions file and examples that parse, and
that a claim's id is its submission's id."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from crewline.ctl.decisions import BONUS_FIELDS, EXAMPLES, LINE_FIELDS, parse_decision
from crewline.ctl.main import cli


def _help(*command: str) -> str:
    result = CliRunner().invoke(cli, [*command, "--help"], prog_name="crewctl")
    assert result.exit_code == 0, result.output
    return result.output


def test_the_help_lists_every_field_and_each_of_its_examples_parses() -> None:
    shown = _help("submission", "review")
    for field in (*LINE_FIELDS, *BONUS_FIELDS):
        assert f"  {field.name}  " in shown
    for number, example in enumerate(EXAMPLES, start=1):
        assert json.dumps(example) in shown
        parse_decision(number, json.dumps(example))


@pytest.mark.parametrize(
    ("command", "other_name"),
    [
        (("claim", "get"), "SUBMISSION_ID"),
        (("claim", "heartbeat"), "SUBMISSION_ID"),
        (("claim", "submit"), "SUBMISSION_ID"),
        (("submission", "get"), "CLAIM_ID"),
        (("submission", "accept"), "claim's id"),
        (("submission", "reject"), "claim's id"),
        (("submission", "bonus"), "claim's id"),
    ],
)
def test_commands_taking_a_claim_or_submission_id_say_it_is_the_same_value(
    command: tuple[str, ...], other_name: str
) -> None:
    assert other_name in " ".join(_help(*command).split())
