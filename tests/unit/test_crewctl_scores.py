"""``crewctl scores`` as each audience runs it, against the stand-in servers: which
credential it calls with and which method, what it refuses before any call, and the
quality service's address from a flag, the environment or the config file."""

from __future__ import annotations

from pathlib import Path

from crewctl_golden.harness import OPERATOR_CREDENTIAL, Crewctl
from crewctl_golden.records import SCORE
from grpc_standin import StandIns

from crewline.ctl import config
from crewline.ctl.errors import ExitCode

KEY = "crwk_k1_secret"
TOKEN = "a.contractor.token"
ANSWERS = {"ListMyScores": {"scores": [SCORE]}, "GetContractorScores": {"scores": [SCORE]}}


def called(crewctl: Crewctl) -> list[tuple[str, str | None]]:
    """Each call's method name and bearer credential."""
    return [
        (r.method.rsplit("/", 1)[1], (r.authorization or "").removeprefix("Bearer ") or None)
        for r in crewctl.servers.received
    ]


def test_a_client_key_reads_the_contractor_named_even_where_an_operator_credential_is_found(
    servers: StandIns, tmp_path: Path
) -> None:
    crewctl = Crewctl(
        servers,
        caller="none",
        env={"CREWLINE_CREDENTIAL": KEY, "CREWLINE_OPERATOR_CREDENTIAL": OPERATOR_CREDENTIAL},
        cwd=tmp_path,
    )
    page = crewctl.json("scores", "--contractor", "dr-lee", **ANSWERS)
    assert [s["value"] for s in page["scores"]] == [75]
    assert called(crewctl) == [("GetContractorScores", KEY)]
    assert crewctl.requests() == [{"contractor_id": "dr-lee"}]


def test_a_token_in_the_environment_reads_its_own_and_the_operator_reads_the_one_named(
    servers: StandIns, tmp_path: Path
) -> None:
    env = {"CREWLINE_CREDENTIAL": TOKEN, "CREWLINE_OPERATOR_CREDENTIAL": OPERATOR_CREDENTIAL}
    crewctl = Crewctl(servers, caller="none", env=env, cwd=tmp_path)

    crewctl.json("scores", "--project", "p-1", **ANSWERS)
    own = called(crewctl)
    crewctl.json("scores", "--contractor", "dr-lee", **ANSWERS)

    assert own == [("ListMyScores", TOKEN)]
    assert called(crewctl) == [("GetContractorScores", OPERATOR_CREDENTIAL)]


def test_the_credential_flag_is_taken_as_whoever_it_is(servers: StandIns, tmp_path: Path) -> None:
    crewctl = Crewctl(servers, caller="client", cwd=tmp_path)  # a client key in the environment
    crewctl.json("--credential", OPERATOR_CREDENTIAL, "scores", "--contractor", "bo", **ANSWERS)
    assert called(crewctl) == [("GetContractorScores", OPERATOR_CREDENTIAL)]
    crewctl.json("--credential", TOKEN, "scores", **ANSWERS)
    assert called(crewctl) == [("ListMyScores", TOKEN)]

    refused = crewctl.run("--credential", TOKEN, "scores", "--contractor", "bo", **ANSWERS)
    assert refused.exit_code == ExitCode.CREDENTIAL
    assert "reads only its own scores" in refused.stderr and crewctl.requests() == []


def test_an_operator_or_a_client_must_name_the_contractor(
    servers: StandIns, tmp_path: Path
) -> None:
    for caller in ("operator", "client"):
        crewctl = Crewctl(servers, caller=caller, cwd=tmp_path)
        refused = crewctl.run("scores", **ANSWERS)
        assert refused.exit_code == ExitCode.USAGE, refused.stderr
        assert "--contractor" in refused.stderr and crewctl.requests() == []


def test_without_any_credential_it_says_what_each_form_of_the_command_takes(
    servers: StandIns, tmp_path: Path
) -> None:
    crewctl = Crewctl(servers, caller="none", cwd=tmp_path)
    own = crewctl.run("scores", **ANSWERS)
    named = crewctl.run("scores", "--contractor", "dr-lee", **ANSWERS)

    assert (own.exit_code, named.exit_code) == (ExitCode.CREDENTIAL, ExitCode.CREDENTIAL)
    assert "no contractor token found" in own.stderr
    assert "takes a client's API key" in named.stderr and "operator credential" in named.stderr
    assert crewctl.requests() == []


def test_the_quality_address_comes_from_flag_then_env_then_config_file_then_default(
    tmp_path: Path,
) -> None:
    path = tmp_path / "crewctl.toml"
    path.write_text('quality = "file-host:4"\n')
    found = config.load_config(str(path), {}, tmp_path)
    env = {"CREWLINE_QUALITY_GRPC_ADDR": "env-host:3"}

    assert config.resolve_address("quality", "flag-host:2", env, found) == "flag-host:2"
    assert config.resolve_address("quality", None, env, found) == "env-host:3"
    assert config.resolve_address("quality", None, {}, found) == "file-host:4"
    assert config.resolve_addresses({}, {}, config.ConfigFile()).quality == "127.0.0.1:50054"


def test_the_quality_flag_points_the_scores_call_at_that_address(
    servers: StandIns, tmp_path: Path
) -> None:
    crewctl = Crewctl(
        servers, caller="contractor", env={"CREWLINE_QUALITY_GRPC_ADDR": "nowhere:1"}, cwd=tmp_path
    )
    page = crewctl.json("scores", "--quality", servers.address("quality"), **ANSWERS)
    assert page["scores"][0]["measure"] == "acceptance_rate"
    assert [r.server for r in servers.received] == ["quality"]
