"""The smaller rough edges a new user of crewctl met, each against the stand-in servers:
what crewctl prints, its exit code and what it sends; operators' lists and a payout
preview; a "did you mean" for an unknown qualification."""

from __future__ import annotations

from pathlib import Path

import pytest
from crewctl_golden.harness import Crewctl
from crewctl_golden.records import (
    AT,
    CLAIM_ID,
    KEY,
    OFFER,
    PROJECT_ID,
    TASK,
    TOKEN,
    usd,
)
from grpc_standin import Refusal, StandIns

from crewline.ctl.errors import ExitCode


def test_a_token_ttl_takes_a_duration_as_other_durations_do(as_operator: Crewctl) -> None:
    issued = {"token": TOKEN, "secret": "golden.contractor.token"}

    as_operator.json("contractor", "token", "dr-lee", "--ttl", "2h", IssueContractorToken=issued)
    assert as_operator.requests("IssueContractorToken")[0]["ttl_seconds"] == "7200"
    refused = as_operator.run("contractor", "token", "dr-lee", "--ttl", "31d")

    assert refused.exit_code == ExitCode.USAGE and "out of range" in refused.stderr


@pytest.mark.parametrize("ttl", ["59", "1s", "31d"])
def test_a_token_ttl_outside_60_s_to_30_days_is_refused_naming_ttl(
    as_operator: Crewctl, ttl: str
) -> None:
    refused = as_operator.run("contractor", "token", "dr-lee", "--ttl", ttl)

    assert refused.exit_code == ExitCode.USAGE
    assert "'--ttl'" in refused.stderr and "60 s to 30 days" in refused.stderr
    assert as_operator.requests() == []


def test_a_token_ttl_of_0_asks_for_the_servers_default(as_operator: Crewctl) -> None:
    issued = {"token": TOKEN, "secret": "golden.contractor.token"}

    as_operator.json("contractor", "token", "dr-lee", "--ttl", "0", IssueContractorToken=issued)

    assert as_operator.requests("IssueContractorToken") == [{"contractor_id": "dr-lee"}]


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


# --- operators list things, and preview a payout batch --------------------------------


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


# --- an unknown qualification gets a "did you mean" -----------------------------------


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
