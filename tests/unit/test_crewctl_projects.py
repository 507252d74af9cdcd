"""``crewctl project ...``: parsing, and, against stand-in servers, the requests sent, the
output and the credential used."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import pytest
from crewctl_golden.harness import Crewctl
from grpc_standin import Refusal, StandIns

from crewline.ctl.errors import ExitCode
from crewline.ctl.projects import minor_units, parse_requirement
from crewline.ctl.records.projects import (
    PayTermsRecord,
    ProjectRecord,
    pay_terms_pb,
    project_record,
    requirement_pb,
)
from crewline.v1 import project_pb2

KEY = "crwk_k1_client-secret"
TERMS: PayTermsRecord = {
    "version": 1,
    "basis": "per_submission",
    "currency": "USD",
    "amount_minor": 1250,
    "max_paid_seconds": 0,
    "effective_at": "2026-01-02T03:04:05Z",
}
PROJECT: ProjectRecord = {
    "project_id": "6f1c2a4e-8b1d-4f7e-9a51-3d2b7c9e0f12",
    "client_id": "acme",
    "title": "Dermatology ratings",
    "instructions": "",
    "requirements": [
        {
            "qualification": "domain.dermatology",
            "comparator": "greater_or_equal",
            "values": [80],
            "project_id": "",
        }
    ],
    "pay_terms": TERMS,
    "assignments_per_task": 1,
    "claim_timeout_seconds": 3600,
    "task_lifetime_seconds": 604_800,
    "auto_accept_delay_seconds": 259_200,
    "priority": 0,
    "max_claims_per_contractor": 0,
    "answer_spec": None,
    "revision": 1,
    "state": "active",
    "created_at": "2026-01-02T03:04:05Z",
    "updated_at": "2026-01-02T03:04:05Z",
}
# TERMS and PROJECT as the dispatcher sends them, in protobuf's JSON form.
TERMS_PB = {
    "version": 1,
    "per_submission": {"reward": {"currency_code": "USD", "amount_minor": 1250}},
    "effective_at": "2026-01-02T03:04:05Z",
}
PROJECT_PB: dict[str, Any] = {
    **PROJECT,
    "requirements": [
        {
            "qualification": "domain.dermatology",
            "comparator": "COMPARATOR_GREATER_OR_EQUAL",
            "scores": [80],
        }
    ],
    "pay_terms": TERMS_PB,
    "state": "PROJECT_STATE_ACTIVE",
}


@pytest.mark.parametrize(
    ("amount", "currency", "minor"),
    [("12.50", "USD", 1250), ("12", "usd", 1200), ("500", "JPY", 500), ("1.234", "KWD", 1234)],
)
def test_amounts_are_read_in_the_currencys_minor_units(
    amount: str, currency: str, minor: int
) -> None:
    assert minor_units(amount, currency) == minor


@pytest.mark.parametrize(("amount", "currency"), [("12.505", "USD"), ("1.5", "JPY"), ("x", "USD")])
def test_amounts_finer_than_the_minor_unit_or_not_numbers_are_refused(
    amount: str, currency: str
) -> None:
    with pytest.raises(click.BadParameter):
        minor_units(amount, currency)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("domain.dermatology:>=:80", ("domain.dermatology", "greater_or_equal", [80])),
        ("locale:in:US,CA", ("locale", "in", ["US", "CA"])),
        ("locale:NOT_IN:US", ("locale", "not_in", ["US"])),
        ("credential.bar:exists", ("credential.bar", "exists", [])),
        ("lang:equal:a:b", ("lang", "equal", ["a:b"])),
        ("score:in:1,2,x", ("score", "in", ["1", "2", "x"])),
    ],
)
def test_requirements_are_parsed_from_qualification_comparator_values(
    text: str, expected: tuple[str, str, list[object]]
) -> None:
    r = parse_requirement(text)
    assert (r["qualification"], r["comparator"], r["values"]) == expected


@pytest.mark.parametrize("text", ["locale", ":in:US", "locale:about:US"])
def test_malformed_requirements_are_usage_errors(text: str) -> None:
    with pytest.raises(click.BadParameter):
        parse_requirement(text)


def test_a_project_message_becomes_a_record() -> None:
    pb = project_pb2.Project(
        project_id=PROJECT["project_id"],
        title=PROJECT["title"],
        requirements=[requirement_pb(r) for r in PROJECT["requirements"]],
        pay_terms=pay_terms_pb(TERMS),
    )
    record = project_record(pb)
    assert record["requirements"] == PROJECT["requirements"]
    assert record["pay_terms"] == {**TERMS, "version": 0, "effective_at": None}


# --- the command line, against stand-in servers ------------------------------------------


@pytest.fixture
def crewctl(servers: StandIns, tmp_path: Path) -> Crewctl:
    # The operator credential is there too: project commands must not use it.
    env: dict[str, str | None] = {
        "CREWLINE_CREDENTIAL": KEY,
        "CREWLINE_OPERATOR_CREDENTIAL": "op-secret",
    }
    return Crewctl(servers, caller="client", env=env, cwd=tmp_path)


ANSWER = {"project": PROJECT_PB}
UPDATED = {"project": {**PROJECT_PB, "revision": 2}}


def mask(request: dict[str, Any]) -> set[str]:
    """An UpdateProject request's field mask (its JSON form is camelCase, comma-separated)."""
    return set(request["update_mask"].split(","))


def test_create_sends_every_field_given_with_a_fresh_request_id(crewctl: Crewctl) -> None:
    out = crewctl.json(
        "project",
        "create",
        "Dermatology ratings",
        "--reward",
        "12.50",
        "USD",
        "--requirement",
        "domain.dermatology:>=:80",
        "--requirement",
        "locale:in:US,CA",
        "--slots",
        "3",
        "--priority",
        "40",
        CreateProject=ANSWER,
    )
    assert out == PROJECT
    [sent] = crewctl.requests("CreateProject")
    assert sent["request_id"].startswith("crewctl-")
    assert sent["title"] == "Dermatology ratings"
    assert sent.get("instructions", "") == ""  # "" is protobuf's unset: not in its JSON
    assert sent["pay_terms"] == {
        "per_submission": {"reward": {"currency_code": "USD", "amount_minor": "1250"}}
    }
    assert [r["qualification"] for r in sent["requirements"]] == ["domain.dermatology", "locale"]
    assert (sent["assignments_per_task"], sent["priority"]) == (3, 40)
    assert "claim_timeout_seconds" not in sent  # not given: the server's default
    assert crewctl.authorizations() == [f"Bearer {KEY}"]


def test_create_hourly_needs_a_cap_and_some_pay_terms(crewctl: Crewctl) -> None:
    assert crewctl.run("project", "create", "T").exit_code == ExitCode.USAGE
    assert crewctl.run("project", "create", "T", "--hourly", "30", "USD").exit_code == 2
    both = ("--reward", "1", "USD", "--hourly", "30", "USD", "--cap", "60")
    assert crewctl.run("project", "create", "T", *both).exit_code == 2
    assert crewctl.requests() == []
    hourly = ("--hourly", "30", "USD", "--cap", "7200")
    crewctl.json("project", "create", "T", *hourly, CreateProject=ANSWER)
    [sent] = crewctl.requests("CreateProject")
    assert sent["pay_terms"] == {
        "hourly": {
            "rate": {"currency_code": "USD", "amount_minor": "3000"},
            "max_paid_seconds": "7200",
        }
    }


def test_update_fields_become_the_update_mask_and_the_project_message(crewctl: Crewctl) -> None:
    crewctl.json(
        "project",
        "update",
        "p-1",
        "--title",
        "New",
        "--requirement",
        "locale:in:US",
        "--hourly",
        "12.50",
        "USD",
        "--cap",
        "600",
        UpdateProject=UPDATED,
    )
    [sent] = crewctl.requests("UpdateProject")
    assert mask(sent) == {"title", "requirements", "payTerms"}
    assert sent["project"]["requirements"][0]["strings"] == ["US"]
    assert sent["project"]["pay_terms"]["hourly"]["max_paid_seconds"] == "600"


def test_update_sends_only_the_fields_given(crewctl: Crewctl) -> None:
    out = crewctl.json(
        "project",
        "update",
        "p-1",
        "--reward",
        "15",
        "USD",
        "--expected-revision",
        "1",
        UpdateProject=UPDATED,
    )
    assert out["revision"] == 2
    [sent] = crewctl.requests("UpdateProject")
    assert (sent["project"]["project_id"], mask(sent), sent["expected_revision"]) == (
        "p-1",
        {"payTerms"},
        "1",
    )
    assert set(sent["project"]) == {"project_id", "pay_terms"}

    crewctl.json(
        "project", "update", "p-1", "--no-requirements", "--title", "New", UpdateProject=UPDATED
    )
    [sent] = crewctl.requests("UpdateProject")
    assert mask(sent) == {"requirements", "title"}
    assert sent["project"] == {"project_id": "p-1", "title": "New"}  # no requirements: none


def test_update_with_nothing_to_change_is_a_usage_error(crewctl: Crewctl) -> None:
    assert crewctl.run("project", "update", "p-1").exit_code == ExitCode.USAGE
    assert crewctl.requests() == []


def test_get_prints_the_project_and_its_pay_terms_history(crewctl: Crewctl) -> None:
    details = {"project": PROJECT_PB, "pay_terms_history": [TERMS_PB]}
    assert crewctl.json("project", "get", "p-1", GetProject=details)["pay_terms_history"] == [TERMS]
    assert crewctl.requests("GetProject") == [{"project_id": "p-1"}]
    human = crewctl.run("project", "get", "p-1", GetProject=details)
    assert human.exit_code == 0
    assert "12.50 USD per accepted submission" in human.stdout


def pages(count: int) -> list[dict[str, Any]]:
    """ListProjects' answers: ``count`` pages of one project, tokens "1", "2", ..."""
    return [
        {"projects": [PROJECT_PB], "next_page_token": str(n) if n < count else ""}
        for n in range(1, count + 1)
    ]


def test_list_follows_every_page_with_all(crewctl: Crewctl) -> None:
    one = crewctl.json("project", "list", "--page-size", "1", ListProjects=pages(3))
    assert one["next_page_token"] == "1"
    assert crewctl.requests("ListProjects") == [{"page_size": 1}]
    every = crewctl.json("project", "list", "--all", ListProjects=pages(3))
    assert len(every["projects"]) == 3 and every["next_page_token"] == ""
    assert crewctl.requests("ListProjects") == [{}, {"page_token": "1"}, {"page_token": "2"}]


def test_project_commands_need_a_client_key_not_the_operator_credential(crewctl: Crewctl) -> None:
    crewctl.caller, crewctl.env = "none", {"CREWLINE_OPERATOR_CREDENTIAL": "op-secret"}
    result = crewctl.run("project", "list", ListProjects=pages(1))
    assert result.exit_code == ExitCode.CREDENTIAL
    assert "CREWLINE_CREDENTIAL" in result.stderr
    assert crewctl.requests() == []
    crewctl.json("--credential", "flag-key", "project", "list", ListProjects=pages(1))
    assert crewctl.authorizations() == ["Bearer flag-key"]


def test_a_refusal_exits_with_its_code(crewctl: Crewctl) -> None:
    refused = Refusal("NOT_FOUND", "project p-1 not found", "NOT_FOUND")
    result = crewctl.run("project", "get", "p-1", GetProject=refused)
    assert result.exit_code == ExitCode.NOT_FOUND
    assert "project p-1 not found" in result.stderr
