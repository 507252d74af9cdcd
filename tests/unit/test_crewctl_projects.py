"""``crewctl project ...`` without servers: parsing, the calls made, output, credentials."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner, Result
from google.protobuf import field_mask_pb2

from crewline.ctl import config
from crewline.ctl.api import RpcFailed
from crewline.ctl.app import Wiring
from crewline.ctl.errors import ExitCode
from crewline.ctl.main import cli
from crewline.ctl.project_api import (
    PayTermsRecord,
    ProjectDetails,
    ProjectFields,
    ProjectPage,
    ProjectRecord,
)
from crewline.ctl.project_rpc import fill_project, project_record
from crewline.ctl.projects import minor_units, parse_requirement
from crewline.v1 import task_service_pb2 as api

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
        {"qualification": "domain.dermatology", "comparator": "greater_or_equal", "values": [80]}
    ],
    "pay_terms": TERMS,
    "assignments_per_task": 1,
    "claim_timeout_seconds": 3600,
    "task_lifetime_seconds": 604_800,
    "auto_accept_delay_seconds": 259_200,
    "priority": 0,
    "max_claims_per_contractor": 0,
    "revision": 1,
    "created_at": "2026-01-02T03:04:05Z",
    "updated_at": "2026-01-02T03:04:05Z",
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


def test_update_fields_become_the_update_mask_and_the_project_message() -> None:
    request = api.UpdateProjectRequest()
    changes: ProjectFields = {
        "title": "New",
        "requirements": [parse_requirement("locale:in:US")],
        "pay_terms": {**TERMS, "basis": "hourly", "max_paid_seconds": 600},
    }
    paths = fill_project(request.project, changes)
    assert paths == ["title", "requirements", "pay_terms"]
    assert request.project.requirements[0].strings == ["US"]
    assert request.project.pay_terms.hourly.max_paid_seconds == 600
    assert field_mask_pb2.FieldMask(paths=paths).paths == paths


def test_a_project_message_becomes_a_record() -> None:
    request = api.CreateProjectRequest()
    fill_project(request, {"requirements": PROJECT["requirements"], "pay_terms": TERMS})
    pb = api.CreateProjectResponse().project
    pb.project_id, pb.title = PROJECT["project_id"], PROJECT["title"]
    pb.requirements.extend(request.requirements)
    pb.pay_terms.CopyFrom(request.pay_terms)
    record = project_record(pb)
    assert record["requirements"] == PROJECT["requirements"]
    assert record["pay_terms"] == {**TERMS, "version": 0, "effective_at": None}


# --- the command line, over fake calls -------------------------------------------------


@dataclass
class FakeProjects:
    calls: list[tuple[str, tuple[Any, ...]]] = field(default_factory=list)
    refusal: RpcFailed | None = None
    pages: int = 1

    def _called(self, name: str, *args: Any) -> None:
        self.calls.append((name, args))
        if self.refusal:
            raise self.refusal

    def create_project(self, request_id: str, fields: ProjectFields) -> ProjectRecord:
        self._called("create_project", request_id, fields)
        return PROJECT

    def get_project(self, project_id: str) -> ProjectDetails:
        self._called("get_project", project_id)
        return {"project": PROJECT, "pay_terms_history": [TERMS]}

    def list_projects(self, page_size: int, page_token: str) -> ProjectPage:
        self._called("list_projects", page_size, page_token)
        n = int(page_token or 0) + 1
        return {"projects": [PROJECT], "next_page_token": str(n) if n < self.pages else ""}

    def update_project(
        self, project_id: str, changes: ProjectFields, expected_revision: int
    ) -> ProjectRecord:
        self._called("update_project", project_id, changes, expected_revision)
        return {**PROJECT, "revision": 2}


@dataclass
class Crewctl:
    tmp_path: Path
    projects: FakeProjects = field(default_factory=FakeProjects)
    env: dict[str, str] = field(default_factory=lambda: {"CREWLINE_CREDENTIAL": KEY})
    connected: list[str] = field(default_factory=list)

    def connect(self, addresses: config.Addresses, credential: str) -> FakeProjects:
        self.connected.append(credential)
        return self.projects

    def run(self, *args: str) -> Result:
        wiring = Wiring(
            env=self.env,
            cwd=self.tmp_path,
            home=self.tmp_path,
            connect=lambda *_: pytest.fail("project commands never use the operator Admin"),
            connect_projects=self.connect,
        )
        return CliRunner().invoke(cli, list(args), obj=wiring, prog_name="crewctl")

    def json(self, *args: str) -> Any:
        result = self.run("--json", *args)
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)


@pytest.fixture
def crewctl(tmp_path: Path) -> Crewctl:
    return Crewctl(tmp_path)


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
    )
    assert out == PROJECT
    [(name, (request_id, fields))] = crewctl.projects.calls
    assert name == "create_project" and request_id.startswith("crewctl-")
    assert fields["title"] == "Dermatology ratings" and fields["instructions"] == ""
    assert fields["pay_terms"]["amount_minor"] == 1250
    assert [r["qualification"] for r in fields["requirements"]] == ["domain.dermatology", "locale"]
    assert (fields["assignments_per_task"], fields["priority"]) == (3, 40)
    assert "claim_timeout_seconds" not in fields  # not given: the server's default
    assert crewctl.connected == [KEY]


def test_create_hourly_needs_a_cap_and_some_pay_terms(crewctl: Crewctl) -> None:
    assert crewctl.run("project", "create", "T").exit_code == ExitCode.USAGE
    assert crewctl.run("project", "create", "T", "--hourly", "30", "USD").exit_code == 2
    both = ("--reward", "1", "USD", "--hourly", "30", "USD", "--cap", "60")
    assert crewctl.run("project", "create", "T", *both).exit_code == 2
    assert crewctl.projects.calls == []
    crewctl.json("project", "create", "T", "--hourly", "30", "USD", "--cap", "7200")
    [(_, (_, fields))] = crewctl.projects.calls
    assert fields["pay_terms"]["basis"] == "hourly"
    assert fields["pay_terms"]["max_paid_seconds"] == 7200


def test_update_sends_only_the_fields_given(crewctl: Crewctl) -> None:
    out = crewctl.json(
        "project", "update", "p-1", "--reward", "15", "USD", "--expected-revision", "1"
    )
    assert out["revision"] == 2
    [(_, (project_id, changes, expected))] = crewctl.projects.calls
    assert (project_id, list(changes), expected) == ("p-1", ["pay_terms"], 1)
    crewctl.json("project", "update", "p-1", "--no-requirements", "--title", "New")
    assert crewctl.projects.calls[1][1][1] == {"requirements": [], "title": "New"}


def test_update_with_nothing_to_change_is_a_usage_error(crewctl: Crewctl) -> None:
    assert crewctl.run("project", "update", "p-1").exit_code == ExitCode.USAGE
    assert crewctl.projects.calls == []


def test_get_prints_the_project_and_its_pay_terms_history(crewctl: Crewctl) -> None:
    assert crewctl.json("project", "get", "p-1")["pay_terms_history"] == [TERMS]
    human = crewctl.run("project", "get", "p-1")
    assert human.exit_code == 0
    assert "12.50 USD per accepted submission" in human.stdout


def test_list_follows_every_page_with_all(crewctl: Crewctl) -> None:
    crewctl.projects.pages = 3
    one = crewctl.json("project", "list", "--page-size", "1")
    assert one["next_page_token"] == "1"
    every = crewctl.json("project", "list", "--all")
    assert len(every["projects"]) == 3 and every["next_page_token"] == ""


def test_project_commands_need_a_client_key_not_the_operator_credential(crewctl: Crewctl) -> None:
    crewctl.env = {"CREWLINE_OPERATOR_CREDENTIAL": "op-secret"}
    result = crewctl.run("project", "list")
    assert result.exit_code == ExitCode.CREDENTIAL
    assert "CREWLINE_CREDENTIAL" in result.stderr
    assert crewctl.connected == []
    crewctl.json("--credential", "flag-key", "project", "list")
    assert crewctl.connected == ["flag-key"]


def test_a_refusal_exits_with_its_code(crewctl: Crewctl) -> None:
    crewctl.projects.refusal = RpcFailed(
        service="dispatcher", address="h:1", code="NOT_FOUND", details="project p-1 not found"
    )
    result = crewctl.run("project", "get", "p-1")
    assert result.exit_code == ExitCode.NOT_FOUND
    assert "project p-1 not found" in result.stderr
