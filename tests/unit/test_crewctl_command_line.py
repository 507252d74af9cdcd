"""crewctl's command line itself: global options taken after the command too (not after
``--``), and --version saying which crewctl runs and from where."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from crewctl_golden.harness import Crewctl
from grpc_standin import StandIns

from crewline.ctl.main import cli


def test_global_options_are_taken_after_the_command_too(servers: StandIns) -> None:
    crewctl = Crewctl(servers, caller="none")

    result = crewctl.run(
        "client", "key", "list", "acme-labs", "--credential", "crwo_late", "--json", ListApiKeys={}
    )

    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == []
    assert crewctl.authorizations() == ["Bearer crwo_late"]


def test_a_value_after_double_dash_is_not_taken_as_a_global_option() -> None:
    from crewline.ctl.meta import hoist_global_options

    args = ["task", "get", "--json", "--credential=k", "x", "--", "--json"]
    assert hoist_global_options(cli, args) == [
        "--json",
        "--credential=k",
        "task",
        "get",
        "x",
        "--",
        "--json",
    ]


def test_version_says_which_crewctl_and_where_it_runs_from() -> None:
    from importlib import metadata

    import crewline.ctl

    result = CliRunner().invoke(cli, ["--version"], prog_name="crewctl")

    assert result.exit_code == 0
    assert result.output.startswith(f"crewctl {metadata.version('crewctl')} (crewline-client ")
    assert str(Path(crewline.ctl.__file__).resolve().parent) in result.output


def test_a_value_of_the_commands_own_option_is_not_taken_as_a_global_option(
    servers: StandIns,
) -> None:
    crewctl = Crewctl(servers, caller="operator")

    result = crewctl.run(
        "contractor", "deactivate", "c1", "--reason", "--json", DeactivateContractor={}
    )

    assert result.exit_code == 0, result.stderr
    assert crewctl.requests("DeactivateContractor") == [{"contractor_id": "c1", "reason": "--json"}]


def test_each_value_of_a_two_value_option_stays_with_it() -> None:
    from crewline.ctl.meta import hoist_global_options

    args = ["payout", "run", "b", "--threshold", "--json", "USD", "--json"]
    assert hoist_global_options(cli, args) == ["--json", *args[:-1]]


def test_a_global_option_at_the_end_without_its_value_is_a_usage_error(
    servers: StandIns,
) -> None:
    crewctl = Crewctl(servers, caller="contractor")

    result = crewctl.run("offers", "list", "--credential")

    assert result.exit_code == 2
    assert "Option '--credential' requires an argument" in result.stderr
    assert crewctl.requests() == []
