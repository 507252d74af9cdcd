"""crewctl's settings precedence, error mapping, help, and --json output (against stand-in
servers where a command calls one)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import click
import grpc
import pytest
from crewctl_golden.harness import Crewctl
from google.protobuf import timestamp_pb2
from grpc_standin import Refusal, StandIns

from crewline.client.errors import CrewlineError
from crewline.ctl import config
from crewline.ctl.errors import EXIT_CODE_MEANINGS, ExitCode, exit_code_for, from_rpc
from crewline.ctl.main import cli
from crewline.ctl.records.clients import ApiKeyRecord, key_record
from crewline.ctl.records.contractors import TokenRecord
from crewline.v1 import client_admin_service_pb2 as client_api

CRED = "op-secret"
KEY: ApiKeyRecord = {
    "key_id": "k1",
    "client_id": "acme",
    "created_at": "2026-01-02T03:04:05Z",
    "revoked_at": None,
}
TOKEN: TokenRecord = {
    "token_id": "t1",
    "contractor_id": "dr-lee",
    "issued_at": "2026-01-02T03:04:05Z",
    "expires_at": "2026-01-02T04:04:05Z",
    "revoked_at": None,
}


# --- settings --------------------------------------------------------------------------


def conf(tmp_path: Path, text: str, name: str = "crewctl.toml") -> config.ConfigFile:
    path = tmp_path / name
    path.write_text(text)
    return config.load_config(str(path), {}, tmp_path)


@pytest.mark.parametrize(
    ("flag", "env", "in_file", "expected"),
    [
        ("h1:1", "h2:2", "h3:3", "h1:1"),
        (None, "h2:2", "h3:3", "h2:2"),
        (None, "", "h3:3", "h3:3"),
        (None, None, None, "127.0.0.1:50052"),
    ],
)
def test_address_comes_from_flag_then_env_then_config_file_then_default(
    tmp_path: Path, flag: str | None, env: str | None, in_file: str | None, expected: str
) -> None:
    found = conf(tmp_path, f'matcher = "{in_file}"' if in_file else "")
    environ = {"CREWLINE_MATCHER_GRPC_ADDR": env} if env is not None else {}

    assert config.resolve_address("matcher", flag, environ, found) == expected


def test_addresses_default_to_the_local_stack_ports() -> None:
    found = config.resolve_addresses({}, {}, config.ConfigFile())
    assert found == config.Addresses(
        dispatcher="127.0.0.1:50051",
        matcher="127.0.0.1:50052",
        ledger="127.0.0.1:50053",
        quality="127.0.0.1:50054",
    )


def test_malformed_address_is_refused_naming_where_it_came_from() -> None:
    env = {"CREWLINE_LEDGER_GRPC_ADDR": "no-port"}
    with pytest.raises(config.ConfigError, match="CREWLINE_LEDGER_GRPC_ADDR='no-port'"):
        config.resolve_address("ledger", None, env, config.ConfigFile())


def test_config_file_comes_from_flag_then_env_then_home(tmp_path: Path) -> None:
    home_file = tmp_path / ".config" / "crewline" / "crewctl.toml"
    home_file.parent.mkdir(parents=True)
    home_file.write_text('dispatcher = "home:1"\n')
    env = {"CREWCTL_CONFIG": str(tmp_path / "env.toml")}

    assert config.config_path("flag.toml", env, tmp_path) == (Path("flag.toml"), True)
    assert config.config_path(None, env, tmp_path) == (tmp_path / "env.toml", True)
    assert config.config_path(None, {}, tmp_path) == (home_file, False)
    assert config.config_path(None, {}, tmp_path / "elsewhere") == (None, False)
    assert config.load_config(None, {}, tmp_path).values == {"dispatcher": "home:1"}


def test_a_named_config_file_that_is_missing_is_an_error(tmp_path: Path) -> None:
    env = {"CREWCTL_CONFIG": str(tmp_path / "nope.toml")}
    with pytest.raises(config.ConfigError, match="does not exist"):
        config.load_config(None, env, tmp_path)


@pytest.mark.parametrize(
    ("text", "message"),
    [("dispatcher = ", "not valid TOML"), ("matcher = 50052", "`matcher` must be a string")],
)
def test_a_malformed_config_file_is_refused(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(config.ConfigError, match=message):
        conf(tmp_path, text)


def test_config_file_keeps_only_the_keys_crewctl_knows(tmp_path: Path) -> None:
    found = conf(tmp_path, 'ledger = "l:3"\nfuture_key = "x"\n[table]\na = 1\n')
    assert found.values == {"ledger": "l:3"}


@dataclass
class CredentialSources:
    """Every place a credential can come from, each holding a different one."""

    tmp_path: Path
    flag: str | None = " from-flag\n"
    env: dict[str, str] = field(default_factory=dict)
    config_text: str = 'operator_credential = "from-config"\n'

    def __post_init__(self) -> None:
        (self.tmp_path / "env.credential").write_text("from-env-file\n")
        (self.tmp_path / "conf.credential").write_text("  from-config-file \n")
        (self.tmp_path / ".local" / "secrets").mkdir(parents=True)
        (self.tmp_path / ".local" / "secrets" / "operator.credential").write_text("from-home\n")
        self.env = {
            "CREWLINE_OPERATOR_CREDENTIAL": "from-env",
            "CREWLINE_OPERATOR_CREDENTIAL_FILE": str(self.tmp_path / "env.credential"),
        }

    def resolve(self) -> str:
        found = conf(self.tmp_path, self.config_text)
        return config.resolve_credential(self.flag, self.env, found, self.tmp_path)


def test_operator_credential_comes_from_the_first_source_that_has_one(tmp_path: Path) -> None:
    sources = CredentialSources(tmp_path)
    assert sources.resolve() == "from-flag"
    sources.flag = None
    assert sources.resolve() == "from-env"
    del sources.env["CREWLINE_OPERATOR_CREDENTIAL"]
    assert sources.resolve() == "from-env-file"
    del sources.env["CREWLINE_OPERATOR_CREDENTIAL_FILE"]
    sources.config_text += 'operator_credential_file = "conf.credential"\n'
    assert sources.resolve() == "from-config"
    sources.config_text = 'operator_credential_file = "conf.credential"\n'
    assert sources.resolve() == "from-config-file"  # relative to the config file
    sources.config_text = ""
    assert sources.resolve() == "from-home"


def test_default_credential_file_lives_under_crewline_home(tmp_path: Path) -> None:
    (tmp_path / "state" / "secrets").mkdir(parents=True)
    (tmp_path / "state" / "secrets" / "operator.credential").write_text("op\n")
    env = {"CREWLINE_HOME": str(tmp_path / "state")}
    assert config.resolve_credential(None, env, config.ConfigFile(), tmp_path / "x") == "op"


def test_missing_credential_says_where_it_looked_and_how_to_get_one(tmp_path: Path) -> None:
    with pytest.raises(config.CredentialError) as caught:
        config.resolve_credential(None, {}, config.ConfigFile(), tmp_path)
    message = str(caught.value)
    for place in ("--credential", "$CREWLINE_OPERATOR_CREDENTIAL", "config file"):
        assert place in message
    assert str(tmp_path / ".local" / "secrets" / "operator.credential") in message
    assert "make operator-credential" in message


@pytest.mark.parametrize("content", [None, "  \n"])
def test_a_named_credential_file_missing_or_empty_is_an_error_not_a_fall_through(
    tmp_path: Path, content: str | None
) -> None:
    named = tmp_path / "op.credential"
    if content is not None:
        named.write_text(content)
    (tmp_path / ".local" / "secrets").mkdir(parents=True)
    (tmp_path / ".local" / "secrets" / "operator.credential").write_text("other\n")
    env = {"CREWLINE_OPERATOR_CREDENTIAL_FILE": str(named)}
    with pytest.raises(config.CredentialError, match="CREWLINE_OPERATOR_CREDENTIAL_FILE"):
        config.resolve_credential(None, env, config.ConfigFile(), tmp_path)


# --- errors ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "code"),
    [
        ("UNAUTHENTICATED", ExitCode.CREDENTIAL),
        ("PERMISSION_DENIED", ExitCode.CREDENTIAL),
        ("NOT_FOUND", ExitCode.NOT_FOUND),
        ("UNAVAILABLE", ExitCode.UNAVAILABLE),
        ("DEADLINE_EXCEEDED", ExitCode.UNAVAILABLE),
        ("INVALID_ARGUMENT", ExitCode.REFUSED),
        ("FAILED_PRECONDITION", ExitCode.REFUSED),
        ("INTERNAL", ExitCode.REFUSED),
    ],
)
def test_status_codes_map_to_documented_exit_codes(status: str, code: ExitCode) -> None:
    assert exit_code_for(status) == code


def failure(code: str, reason: str | None = None) -> CrewlineError:
    return CrewlineError(
        "key k9 not found",
        code=grpc.StatusCode[code],
        reason=reason,
        service="dispatcher",
        address="h:1",
    )


def test_refusal_message_has_code_details_reason_on_one_line() -> None:
    error = from_rpc(failure("NOT_FOUND", reason="API_KEY_NOT_FOUND"))
    assert error.exit_code == ExitCode.NOT_FOUND
    message = error.format_message()
    assert "\n" not in message
    assert "NOT_FOUND: key k9 not found (reason: API_KEY_NOT_FOUND)" in message
    assert "dispatcher at h:1" in message


@pytest.mark.parametrize(
    ("code", "hint"),
    [("UNAUTHENTICATED", "operator credential"), ("UNAVAILABLE", "make up")],
)
def test_refusals_with_an_obvious_next_step_say_it(code: str, hint: str) -> None:
    assert hint in from_rpc(failure(code)).format_message()


def test_every_exit_code_has_a_meaning() -> None:
    assert set(EXIT_CODE_MEANINGS) == set(ExitCode)


# --- protobuf to records ---------------------------------------------------------------


def test_key_record_shows_revoked_at_only_once_revoked() -> None:
    created = timestamp_pb2.Timestamp(seconds=1_767_323_045)
    key = client_api.ApiKey(key_id="k1", client_id="acme", created_at=created)
    assert key_record(key) == {**KEY, "created_at": "2026-01-02T03:04:05Z", "revoked_at": None}
    key.revoked_at.CopyFrom(timestamp_pb2.Timestamp(seconds=1_767_323_105))
    assert key_record(key)["revoked_at"] == "2026-01-02T03:05:05Z"


# --- the command line, against stand-in servers ----------------------------------------

KEY_PB = {"key_id": "k1", "client_id": "acme", "created_at": "2026-01-02T03:04:05Z"}
REVOKED_PB = {**KEY_PB, "revoked_at": "2026-01-03T00:00:00Z"}
TOKEN_PB = {
    "token_id": "t1",
    "contractor_id": "dr-lee",
    "issued_at": "2026-01-02T03:04:05Z",
    "expires_at": "2026-01-02T04:04:05Z",
}


@pytest.fixture
def crewctl(servers: StandIns, tmp_path: Path) -> Crewctl:
    return Crewctl(servers, env={"CREWLINE_OPERATOR_CREDENTIAL": CRED}, cwd=tmp_path)


def test_client_create_prints_the_client_as_one_json_object(crewctl: Crewctl) -> None:
    out = crewctl.json(
        "client",
        "create",
        "acme",
        "--name",
        "Acme Labs",
        CreateClient={"client": {"client_id": "acme", "display_name": "Acme Labs"}},
    )
    assert out == {"client_id": "acme", "display_name": "Acme Labs", "created_at": None}
    assert crewctl.authorizations() == [f"Bearer {CRED}"]


def test_key_create_generates_a_request_id_and_prints_the_secret_once(crewctl: Crewctl) -> None:
    answer = {"key": KEY_PB, "secret": "crwk_k1_s3cr3t"}
    result = crewctl.run("--json", "client", "key", "create", "acme", CreateApiKey=answer)

    assert result.exit_code == 0
    assert json.loads(result.stdout) == {"key": KEY, "secret": "crwk_k1_s3cr3t"}
    assert "shown only now" in result.stderr
    [sent] = crewctl.requests("CreateApiKey")
    assert sent["client_id"] == "acme" and sent["request_id"].startswith("crewctl-")
    uuid.UUID(sent["request_id"].removeprefix("crewctl-"))


def test_key_create_passes_a_given_request_id(crewctl: Crewctl) -> None:
    answer = {"key": KEY_PB, "secret": "s"}
    crewctl.json("client", "key", "create", "acme", "--request-id", "r-1", CreateApiKey=answer)
    assert crewctl.requests("CreateApiKey") == [{"client_id": "acme", "request_id": "r-1"}]


def test_key_create_repeated_shows_no_secret_and_says_why(crewctl: Crewctl) -> None:
    again = {"key": KEY_PB}
    assert crewctl.json("client", "key", "create", "acme", CreateApiKey=again)["secret"] is None
    result = crewctl.run(
        "client", "key", "create", "acme", "--request-id", "r-1", CreateApiKey=again
    )
    assert "No secret" in result.stdout and "shown only now" not in result.stdout


def test_key_create_human_output_marks_the_secret_as_shown_only_now(crewctl: Crewctl) -> None:
    answer = {"key": KEY_PB, "secret": "crwk_k1_s3cr3t"}
    result = crewctl.run("client", "key", "create", "acme", CreateApiKey=answer)
    assert result.exit_code == 0
    assert "shown only now" in result.stdout
    assert "crwk_k1_s3cr3t" in result.stdout.splitlines()  # alone on its line, unwrapped


def test_key_list_prints_one_json_array(crewctl: Crewctl) -> None:
    listed = {"keys": [KEY_PB, {**REVOKED_PB, "key_id": "k2"}]}
    keys = crewctl.json("client", "key", "list", "acme", ListApiKeys=listed)
    assert [k["key_id"] for k in keys] == ["k1", "k2"]
    assert [k["revoked_at"] is None for k in keys] == [True, False]


def test_key_revoke_prints_the_revoked_key(crewctl: Crewctl) -> None:
    revoked = {"key": {**REVOKED_PB, "key_id": "k7"}}
    key = crewctl.json("client", "key", "revoke", "k7", RevokeApiKey=revoked)
    assert key["key_id"] == "k7" and key["revoked_at"]
    assert crewctl.requests() == [{"key_id": "k7"}]


def test_contractor_commands_print_json_objects(crewctl: Crewctl) -> None:
    made = crewctl.json(
        "contractor",
        "create",
        "dr-lee",
        "--name",
        "Dr. Lee",
        CreateContractor={"contractor": {"contractor_id": "dr-lee", "display_name": "Dr. Lee"}},
    )
    issued = crewctl.json(
        "contractor",
        "token",
        "dr-lee",
        "--ttl",
        "3600",
        IssueContractorToken={"token": TOKEN_PB, "secret": "eyJ.token.sig"},
    )
    assert crewctl.requests() == [{"contractor_id": "dr-lee", "ttl_seconds": "3600"}]
    revoked = crewctl.json(
        "contractor",
        "revoke-token",
        "t9",
        RevokeContractorToken={
            "token": {**TOKEN_PB, "token_id": "t9", "revoked_at": "2026-01-02T03:30:00Z"}
        },
    )

    assert made["contractor_id"] == "dr-lee"
    assert issued == {"token": TOKEN, "secret": "eyJ.token.sig"}
    assert revoked["token_id"] == "t9" and revoked["revoked_at"]


def test_token_ttl_out_of_range_is_a_usage_error(crewctl: Crewctl) -> None:
    assert crewctl.run("contractor", "token", "dr-lee", "--ttl", "-5").exit_code == 2
    assert crewctl.requests() == []


def health_rows(crewctl: Crewctl, readiness: str) -> list[dict[str, str]]:
    return [
        {
            "service": s,
            "address": crewctl.servers.address(s),
            "liveness": "SERVING",
            "readiness": readiness,
        }
        for s in config.SERVICES
    ]


def checks(readiness: str) -> list[dict[str, str]]:
    """The answers to liveness, then readiness."""
    return [{"status": "SERVING"}, {"status": readiness}]


def test_health_all_serving_exits_zero_with_a_json_report(crewctl: Crewctl) -> None:
    report = crewctl.json("health", Check=checks("SERVING"))
    assert report == {"serving": True, "services": health_rows(crewctl, "SERVING")}


def test_health_not_all_serving_exits_6_and_still_prints_the_report(crewctl: Crewctl) -> None:
    result = crewctl.run("--json", "health", Check=checks("NOT_SERVING"))
    assert result.exit_code == ExitCode.UNHEALTHY
    assert json.loads(result.stdout)["serving"] is False
    human = crewctl.run("health", Check=checks("NOT_SERVING"))
    assert human.exit_code == ExitCode.UNHEALTHY and "NOT_SERVING" in human.stdout


def test_health_needs_no_credential(crewctl: Crewctl) -> None:
    crewctl.caller, crewctl.env = "none", {}
    assert crewctl.run("health", Check=checks("SERVING")).exit_code == 0
    assert set(crewctl.authorizations()) == {None}


def test_refusal_exits_with_its_code_and_one_line_on_stderr(crewctl: Crewctl) -> None:
    refused = Refusal("NOT_FOUND", "key k9 not found", "API_KEY_NOT_FOUND")
    result = crewctl.run("--json", "client", "key", "revoke", "k9", RevokeApiKey=refused)
    assert result.exit_code == ExitCode.NOT_FOUND
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert "NOT_FOUND" in line and "API_KEY_NOT_FOUND" in line


def test_missing_credential_exits_3_before_any_call(crewctl: Crewctl) -> None:
    crewctl.caller, crewctl.env = "none", {}
    result = crewctl.run("client", "key", "list", "acme")
    assert result.exit_code == ExitCode.CREDENTIAL
    assert "make operator-credential" in result.stderr
    assert crewctl.requests() == []


def test_flags_beat_env_for_addresses_and_credential(crewctl: Crewctl) -> None:
    crewctl.env["CREWLINE_DISPATCHER_GRPC_ADDR"] = "env-host:1"
    flag = crewctl.servers.address("dispatcher")
    crewctl.json(
        "--dispatcher",
        flag,
        "--credential",
        "flag-cred",
        "client",
        "create",
        "a",
        CreateClient={"client": {"client_id": "a"}},
    )
    assert crewctl.authorizations() == ["Bearer flag-cred"]


def test_bad_address_or_config_file_is_a_usage_error(crewctl: Crewctl) -> None:
    assert crewctl.run("--matcher", "nope", "contractor", "create", "x").exit_code == 2
    assert crewctl.run("--config", "missing.toml", "client", "create", "x").exit_code == 2


# --- help ------------------------------------------------------------------------------


def command_paths(command: click.Command, path: Sequence[str] = ()) -> Iterator[list[str]]:
    yield list(path)
    if isinstance(command, click.Group):
        for name, sub in command.commands.items():
            yield from command_paths(sub, [*path, name])


EVERY_COMMAND = list(command_paths(cli))


def test_the_command_tree_is_what_operators_expect() -> None:
    assert {" ".join(p) for p in EVERY_COMMAND} == {
        "",
        "client",
        "client create",
        "client key",
        "client key create",
        "client key list",
        "client key revoke",
        "client list",
        "contractor",
        "contractor list",
        "contractor create",
        "contractor get",
        "contractor update",
        "contractor deactivate",
        "contractor token",
        "contractor revoke-token",
        "qualification",
        "qualification type",
        "qualification type define",
        "qualification type list",
        "qualification grant",
        "qualification revoke",
        "qualification list",
        "block",
        "block create",
        "block lift",
        "block list",
        "bonus",
        "bonus list",
        "project",
        "project create",
        "project apply",
        "project get",
        "project list",
        "project update",
        "project pause",
        "project resume",
        "project close",
        "task",
        "task get",
        "task submit",
        "task list",
        "task cancel",
        "task add-slots",
        "task lifetime",
        "watch",
        "claim",
        "claim create",
        "claim get",
        "claim list",
        "claim heartbeat",
        "claim release",
        "claim submit",
        "submission",
        "submission list",
        "submission get",
        "submission accept",
        "submission reject",
        "submission bonus",
        "submission export",
        "submission review",
        "gold",
        "gold add",
        "gold list",
        "quality",
        "quality policy",
        "quality policy get",
        "quality policy set",
        "quality rules",
        "quality rules get",
        "quality rules set",
        "earnings",
        "statement",
        "scores",
        "sanctions",
        "appeals",
        "appeal",
        "appeal file",
        "appeal decide",
        "disputes",
        "dispute",
        "dispute file",
        "dispute resolve",
        "exams",
        "exam",
        "exam set",
        "exam get",
        "exam start",
        "exam attempts",
        "payout",
        "payout run",
        "payout get",
        "payout list",
        "ledger",
        "ledger verify",
        "deadline",
        "deadline dead",
        "deadline rearm",
        "deadletters",
        "deadletters list",
        "deadletters replay",
        "health",
        "offers",
        "offers list",
        "offers stream",
        "completion",
        "help",
        "help exit-codes",
    }


@pytest.mark.parametrize("path", EVERY_COMMAND, ids=lambda p: " ".join(p) or "crewctl")
def test_every_help_shows_an_example(crewctl: Crewctl, path: list[str]) -> None:
    result = crewctl.run(*path, "--help")
    assert result.exit_code == 0
    example = result.stdout.split("Example:", 1)[1]
    assert " ".join(["crewctl", *path]) in example


def test_top_level_help_documents_exit_codes_and_completion(crewctl: Crewctl) -> None:
    text = crewctl.run("--help").stdout
    for code, meaning in EXIT_CODE_MEANINGS.items():
        assert f"{int(code)}  {meaning}" in text
    assert 'eval "$(crewctl completion bash)"' in text
