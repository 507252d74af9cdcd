"""The rough edges a new user of crewctl met, each against the stand-in servers: what
crewctl prints, its exit code and what it sends."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from crewctl_golden.harness import Crewctl
from crewctl_golden.records import (
    AT,
    CLAIM_ID,
    EARNINGS,
    KEY,
    OFFER,
    PENDING,
    PROJECT_ID,
    REJECTED,
    SUBMISSION,
    SUBMITTED_CLAIM,
    TASK,
    TOKEN,
    usd,
)
from grpc_standin import Refusal, StandIns

from crewline.ctl.decisions import BONUS_FIELDS, EXAMPLES, LINE_FIELDS, parse_decision
from crewline.ctl.errors import ExitCode
from crewline.ctl.main import cli


@pytest.fixture(scope="module")
def servers() -> Iterator[StandIns]:
    with StandIns() as started:
        yield started


@pytest.fixture
def as_client(servers: StandIns, tmp_path: Path) -> Crewctl:
    return Crewctl(servers, caller="client", cwd=tmp_path)


@pytest.fixture
def as_operator(servers: StandIns, tmp_path: Path) -> Crewctl:
    return Crewctl(servers, caller="operator", cwd=tmp_path)


def _help(*command: str) -> str:
    result = CliRunner().invoke(cli, [*command, "--help"], prog_name="crewctl")
    assert result.exit_code == 0, result.output
    return result.output


# --- the decisions file: one shape, documented from the parser's own tables ------------


def test_a_bonus_decision_in_the_documented_shape_grants_the_bonus(
    as_client: Crewctl, tmp_path: Path
) -> None:
    line = {
        "submission_id": "s-1",
        "decision": "bonus",
        "bonus": {"amount": "1.00", "currency": "USD", "reason": "Fast", "key": "k-1"},
    }
    (tmp_path / "d.jsonl").write_text(json.dumps(line) + "\n")
    granted = {"bonus": {**SUBMISSION["bonuses"][0], "idempotency_key": "k-1"}}

    summary = as_client.json(
        "submission",
        "review",
        "--file",
        "d.jsonl",
        GrantBonus={**granted, "submission": SUBMISSION},
    )

    assert summary["bonuses"] == 1 and summary["results"][0]["decision"] == "bonus"
    [sent] = as_client.requests("GrantBonus")
    assert sent["amount"] == {"currency_code": "USD", "amount_minor": "100"}
    assert sent["idempotency_key"] == "k-1"


def test_bonus_fields_beside_the_decision_are_refused_saying_where_they_go(
    as_client: Crewctl, tmp_path: Path
) -> None:
    line = {"submission_id": "s", "decision": "bonus", "amount": "1", "currency": "USD"}
    (tmp_path / "d.jsonl").write_text(json.dumps(line) + "\n")

    result = as_client.run("submission", "review", "--file", "d.jsonl")

    assert result.exit_code == ExitCode.USAGE
    assert '"amount" belongs under "bonus"' in result.stderr
    assert as_client.requests() == []


def test_the_help_lists_every_field_and_each_of_its_examples_parses() -> None:
    shown = _help("submission", "review")
    for field in (*LINE_FIELDS, *BONUS_FIELDS):
        assert f"  {field.name}  " in shown
    for number, example in enumerate(EXAMPLES, start=1):
        assert json.dumps(example) in shown
        parse_decision(number, json.dumps(example))


# --- global options anywhere, and --version ---------------------------------------------


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


# --- a claim's id is its submission's id, and the help says so --------------------------


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


# --- smaller rough edges -----------------------------------------------------------------


def test_a_token_ttl_takes_a_duration_as_other_durations_do(as_operator: Crewctl) -> None:
    issued = {"token": TOKEN, "secret": "golden.contractor.token"}

    as_operator.json("contractor", "token", "dr-lee", "--ttl", "2h", IssueContractorToken=issued)
    assert as_operator.requests("IssueContractorToken")[0]["ttl_seconds"] == "7200"
    refused = as_operator.run("contractor", "token", "dr-lee", "--ttl", "31d")

    assert refused.exit_code == ExitCode.USAGE and "out of range" in refused.stderr


def test_a_malformed_requirement_is_explained_whole(as_client: Crewctl) -> None:
    result = as_client.run(
        "project", "create", "x", "--reward", "1.00", "USD", "--requirement", "nope"
    )

    assert result.exit_code == ExitCode.USAGE
    message = " ".join(result.stderr.split())
    assert "expected QUALIFICATION:COMPARATOR[:V1,V2,...], e.g. 'domain.dermatology:>=:80'" in (
        message
    )
    assert "'credential.bar:exists'" in message


def test_offers_stream_snapshot_only_does_not_promise_live_changes(servers: StandIns) -> None:
    crewctl = Crewctl(servers, caller="contractor")

    result = crewctl.run(
        "offers",
        "stream",
        "--snapshot-only",
        StreamOffers=[
            {"changes": {"changes": [{"offered": OFFER}]}},
            {"snapshot_end": {"offers": 1}},
        ],
    )

    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "-- 1 offers now --"


def test_a_rerun_of_task_submit_says_none_were_new(as_client: Crewctl, tmp_path: Path) -> None:
    (tmp_path / "t.jsonl").write_text('{"id": 1}\n{"id": 2}\n')
    earlier = [{**TASK, "task_id": "t-1"}, {**TASK, "task_id": "t-2", "created_at": AT}]
    now = [{**TASK, "task_id": "t-1", "created_at": "2999-01-01T00:00:00Z"}, earlier[1]]
    argv = ("task", "submit", "--project", PROJECT_ID, "--file", "t.jsonl", "--key-field", "id")

    again = as_client.run(*argv, SubmitTasks={"tasks": earlier})
    first = as_client.json(*argv, SubmitTasks={"tasks": now})

    assert "0 new, 2 already there" in again.stdout
    assert (first["tasks"], first["new"], first["already_there"]) == (2, 1, 1)


def test_ids_are_not_folded_when_stdout_is_not_a_terminal(as_operator: Crewctl) -> None:
    long_id = "k" * 150

    result = as_operator.run(
        "client", "key", "list", "acme-labs", ListApiKeys={"keys": [{**KEY, "key_id": long_id}]}
    )

    assert result.exit_code == 0, result.stderr
    assert long_id in result.stdout


def test_already_submitted_says_a_submission_is_final(servers: StandIns) -> None:
    crewctl = Crewctl(servers, caller="contractor")
    refused = Refusal(
        "FAILED_PRECONDITION", f"claim {CLAIM_ID} was submitted already", "ALREADY_SUBMITTED"
    )

    result = crewctl.run(
        "claim", "submit", CLAIM_ID, "--result-file", "answer.json", SubmitWork=refused
    )

    assert result.exit_code == ExitCode.REFUSED
    assert "a submission is final" in result.stderr


# --- operators list things, and preview a payout batch -----------------------------------


def test_a_dry_run_shows_what_a_batch_would_pay_and_pays_nothing(as_operator: Crewctl) -> None:
    preview = {
        "threshold": usd(5000),
        "payouts": [
            {"contractor_id": "dr-lee", "account_id": "contractor:dr-lee", "amount": usd(12500)}
        ],
        "total": usd(12500),
        "previewed_at": AT,
    }

    result = as_operator.run(
        "payout", "run", "--threshold", "50.00", "USD", "--dry-run", PreviewPayoutBatch=preview
    )

    assert result.exit_code == 0, result.stderr
    assert "nothing was paid" in result.stdout and "dr-lee" in result.stdout
    assert "125.00" in result.stdout
    assert [r.method.rsplit("/", 1)[-1] for r in as_operator.servers.received] == [
        "PreviewPayoutBatch"
    ]


def test_contractor_list_sends_only_the_filters_given(as_operator: Crewctl) -> None:
    as_operator.json("contractor", "list", "--inactive", ListContractors={})

    assert as_operator.requests("ListContractors") == [{"active": False}]


# --- credentials by the command's audience ----------------------------------------------


def test_naming_an_account_uses_the_operator_credential_over_a_client_key(
    servers: StandIns,
) -> None:
    both = {"CREWLINE_OPERATOR_CREDENTIAL": "crwo_both", "CREWLINE_CREDENTIAL": "crwk_x_y"}
    crewctl = Crewctl(servers, caller="none", env=dict(both))

    named = crewctl.run("--json", "statement", "--account", "contractor:dr-lee", ListStatement={})
    assert named.exit_code == 0, named.stderr
    assert crewctl.authorizations() == ["Bearer crwo_both"]

    own = crewctl.run("--json", "statement", ListStatement={})
    assert own.exit_code == 0, own.stderr
    assert crewctl.authorizations() == ["Bearer crwk_x_y"]


# --- earned only once accepted; pending apart ----------------------------------------------


def test_earned_shows_only_on_accepted_work_and_pending_work_says_if_accepted(
    as_client: Crewctl,
) -> None:
    earns = usd(1250)  # the server's figure: what the work is paid when accepted

    def get(submission: dict[str, object]) -> dict[str, object]:
        return as_client.json("submission", "get", "s", GetSubmission={"submission": submission})

    rejected, pending = get({**REJECTED, "earned": earns}), get({**PENDING, "earned": earns})
    accepted = get(SUBMISSION)
    listed = {"submissions": [{**PENDING, "earned": earns}]}
    shown = as_client.run("submission", "list", "--project", "p", ListSubmissions=listed)

    paid = {"currency": "USD", "amount_minor": 1250}
    assert (rejected["earned"], rejected["pending"]) == (None, None)
    assert (pending["earned"], pending["pending"]) == (None, paid)
    assert (accepted["earned"], accepted["pending"]) == (paid, None)
    assert "12.50 USD if accepted" in shown.stdout


def test_a_contractors_rejected_claim_shows_nothing_earned(servers: StandIns) -> None:
    crewctl = Crewctl(servers, caller="contractor")
    rejected = {**SUBMITTED_CLAIM, "review": "REVIEW_STATE_REJECTED"}

    claim = crewctl.json("claim", "get", CLAIM_ID, GetClaim={"claim": rejected})
    waiting = crewctl.run("claim", "get", CLAIM_ID, GetClaim={"claim": SUBMITTED_CLAIM})

    assert (claim["earned"], claim["pending"]) == (None, None)
    assert "20.00 USD if accepted" in waiting.stdout


def test_earnings_show_work_awaiting_review_apart_from_what_was_paid(
    servers: StandIns,
) -> None:
    contractor = Crewctl(servers, caller="contractor")
    reviewed = {**SUBMITTED_CLAIM, "claim_id": "c-2", "review": "REVIEW_STATE_REJECTED"}
    claims = {"claims": [SUBMITTED_CLAIM, reviewed]}

    own = contractor.json("earnings", GetEarnings=EARNINGS, ListMyClaims=claims)
    shown = contractor.run("earnings", GetEarnings=EARNINGS, ListMyClaims=claims)
    operator = Crewctl(servers, caller="operator")
    theirs = operator.json("earnings", "--contractor", "dr-lee", GetEarnings=EARNINGS)

    assert own["pending"] == [{"currency": "USD", "amount_minor": 2000}]
    assert own["pending_submissions"] == 1 and own["total"][0]["paid"]["amount_minor"] == 1750
    assert "Awaiting review" in shown.stdout and "on 1 submission" in shown.stdout
    assert (theirs["pending"], theirs["pending_submissions"]) == (None, None)
    assert operator.requests("ListMyClaims") == []


# --- an unknown qualification gets a "did you mean" -------------------------------------

_UNKNOWN_QUALIFICATION = Refusal(
    "INVALID_ARGUMENT",
    "qualification: names no qualification type: 'domain.dermatolgy'",
    "UNKNOWN_QUALIFICATION",
    {"field": "qualification"},
)
_TYPES = {
    "qualification_types": [
        {"name": n, "kind": "QUALIFICATION_KIND_SCORE"}
        for n in ("domain.dermatology", "domain.radiology", "locale")
    ]
}


def test_an_unknown_qualification_suggests_the_closest_names_to_an_operator(
    as_operator: Crewctl,
) -> None:
    result = as_operator.run(
        "qualification", "grant", "dr-lee", "domain.dermatolgy", "--score", "80",
        GrantQualification=_UNKNOWN_QUALIFICATION, ListQualificationTypes=_TYPES,
    )  # fmt: skip

    assert result.exit_code == ExitCode.REFUSED
    hint = " ".join(result.stderr.split())
    assert "did you mean domain.dermatology or domain.radiology?" in hint


def test_a_client_refused_an_unknown_qualification_gets_no_list_it_cannot_read(
    as_client: Crewctl,
) -> None:
    result = as_client.run(
        "project", "create", "x", "--reward", "1.00", "USD",
        "--requirement", "domain.dermatolgy:>=:80", CreateProject=_UNKNOWN_QUALIFICATION,
    )  # fmt: skip

    assert result.exit_code == ExitCode.REFUSED and "UNKNOWN_QUALIFICATION" in result.stderr
    assert as_client.requests("ListQualificationTypes") == []


# --- which credential: said in a refusal, another audience's refused plainly -----------


def test_a_refused_call_says_which_credential_it_was_made_with(servers: StandIns) -> None:
    operator = Crewctl(servers, caller="operator")
    client = Crewctl(servers, caller="client")
    gone = Refusal("NOT_FOUND", "not found", "NOT_FOUND")

    as_operator = operator.run("contractor", "get", "x", GetContractor=gone)
    as_client = client.run("task", "get", "x", GetTask=gone)

    assert "as the operator, with the credential from $CREWLINE_OPERATOR_CREDENTIAL]" in (
        as_operator.stderr
    )
    assert "with the client key from $CREWLINE_CREDENTIAL]" in as_client.stderr


def test_a_client_command_with_only_the_operator_credential_says_so(servers: StandIns) -> None:
    crewctl = Crewctl(servers, caller="operator")

    result = crewctl.run("task", "get", "x")

    assert result.exit_code == ExitCode.CREDENTIAL
    assert "this is a client's command" in result.stderr
    assert "only the operator credential was found" in result.stderr
    assert crewctl.requests() == []


def test_an_operator_command_with_only_a_client_key_says_so(servers: StandIns) -> None:
    crewctl = Crewctl(servers, caller="client")

    result = crewctl.run("contractor", "get", "dr-lee")

    assert result.exit_code == ExitCode.CREDENTIAL
    message = " ".join(result.stderr.split())
    assert "this is an operator's command" in message
    assert "only a client's API key was found (in $CREWLINE_CREDENTIAL)" in message
    assert "looked, in order, at: --credential, $CREWLINE_OPERATOR_CREDENTIAL" in message
    assert crewctl.requests() == []


def test_a_contractor_command_given_a_client_key_says_so(servers: StandIns) -> None:
    crewctl = Crewctl(servers, caller="none")

    result = crewctl.run("claim", "get", CLAIM_ID, "--credential", "crwk_0123_secret")

    assert result.exit_code == ExitCode.CREDENTIAL
    assert "and --credential holds a client's API key" in result.stderr
    assert crewctl.requests() == []
