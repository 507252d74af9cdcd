"""crewctl's file-driven commands without servers: ``project apply`` (the file format, what
differs, what is called), ``task submit`` (the JSONL file, batches, a refused batch), the
offers stream's events, completion scripts, and TLS settings reaching the channels."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import pytest
from click.testing import CliRunner

from crewline.client.tls import ClientTls
from crewline.ctl.api import RpcFailed
from crewline.ctl.app import Wiring
from crewline.ctl.claim_rpc import offer_events
from crewline.ctl.config import Addresses
from crewline.ctl.errors import CtlError, ExitCode
from crewline.ctl.main import cli
from crewline.ctl.meta import completion_script
from crewline.ctl.project_api import ProjectFields, ProjectRecord
from crewline.ctl.project_file import (
    FileError,
    apply_project,
    apply_request_id,
    differences,
    load_project_file,
    parse_project,
)
from crewline.ctl.task_api import TaskRecord, TaskSpecRecord
from crewline.ctl.task_file import Line, batches, read_tasks, submit_all
from crewline.v1 import money_pb2, project_pb2
from crewline.v1 import work_service_pb2 as work_api

KEY = "crwk_k1_client-secret"
FILE = {
    "title": "Dermatology ratings",
    "pay": {"per_submission": "12.50 USD"},
    "requirements": [
        "domain.derm:>=:80",
        {"qualification": "locale", "comparator": "in", "values": ["US", "CA"]},
    ],
    "slots": 3,
    "claim_timeout": "30m",
    "state": "active",
}


def project(**changes: Any) -> ProjectRecord:
    record: dict[str, Any] = {
        "project_id": "p-1",
        "client_id": "acme",
        "title": "Dermatology ratings",
        "instructions": "",
        "requirements": [
            {"qualification": "locale", "comparator": "in", "values": ["US", "CA"]},
            {"qualification": "domain.derm", "comparator": "greater_or_equal", "values": [80]},
        ],
        "pay_terms": {
            "version": 1,
            "basis": "per_submission",
            "currency": "USD",
            "amount_minor": 1250,
            "max_paid_seconds": 0,
            "effective_at": "2026-01-02T03:04:05Z",
        },
        "assignments_per_task": 3,
        "claim_timeout_seconds": 1800,
        "task_lifetime_seconds": 604_800,
        "auto_accept_delay_seconds": 259_200,
        "priority": 0,
        "max_claims_per_contractor": 0,
        "revision": 4,
        "state": "active",
        "created_at": None,
        "updated_at": None,
    }
    record.update(changes)
    return cast(ProjectRecord, record)


# --- the project file ---------------------------------------------------------------------


def test_a_project_file_reads_money_exactly_and_durations_as_seconds() -> None:
    wanted = parse_project(FILE)
    fields = wanted.fields
    assert fields["pay_terms"]["amount_minor"] == 1250 and fields["pay_terms"]["currency"] == "USD"
    assert fields["claim_timeout_seconds"] == 1800 and fields["assignments_per_task"] == 3
    assert fields["requirements"][1] == {
        "qualification": "locale",
        "comparator": "in",
        "values": ["US", "CA"],
    }
    assert (wanted.state, wanted.project_id) == ("active", "")


def test_hourly_pay_takes_a_cap() -> None:
    fields = parse_project({"title": "t", "pay": {"hourly": "60 USD", "cap": "2h"}}).fields
    assert fields["pay_terms"]["basis"] == "hourly"
    assert (fields["pay_terms"]["amount_minor"], fields["pay_terms"]["max_paid_seconds"]) == (
        6000,
        7200,
    )


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"pay": {"per_submission": "1 USD"}}, "title: required"),
        ({"title": "t", "colour": "red"}, "colour: unknown field"),
        ({"title": "t", "pay": {"per_submission": 12.5}}, "pay.per_submission"),
        ({"title": "t", "pay": {"per_submission": "12.505 USD"}}, "pay: "),
        ({"title": "t", "pay": {"hourly": "60 USD"}}, "pay: hourly needs cap"),
        ({"title": "t", "pay": {"weekly": "1 USD"}}, "pay.weekly: unknown"),
        ({"title": "t", "slots": "3"}, "slots: must be a whole number"),
        ({"title": "t", "lifetime": "a week"}, "lifetime: "),
        ({"title": "t", "requirements": ["derm:about:3"]}, "requirements[0]: "),
        (
            {"title": "t", "requirements": [{"qualification": "x", "values": [True]}]},
            "requirements[0].values",
        ),
        ({"title": "t", "state": "closed"}, "state: must be active or paused"),
        (["title"], "expected a mapping"),
    ],
)
def test_a_mistake_in_a_project_file_names_its_field(data: Any, field: str) -> None:
    with pytest.raises(FileError) as err:
        parse_project(data)
    assert str(err.value).startswith(field) or field in str(err.value)


def test_a_file_that_is_not_yaml_is_a_usage_error(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("title: [unclosed\n")
    with pytest.raises(CtlError) as err:
        load_project_file(path)
    assert err.value.exit_code == ExitCode.USAGE and "not valid YAML" in err.value.message


def test_the_example_project_file_is_valid() -> None:
    root = Path(__file__).resolve().parents[2]
    wanted = load_project_file(root / "examples" / "project-dermatology.yaml")
    assert wanted.fields["pay_terms"]["amount_minor"] == 1250


def test_only_fields_that_differ_are_changed_whatever_the_order_of_requirements() -> None:
    fields = parse_project(FILE).fields
    assert differences(fields, project()) == {}
    changed = differences({**fields, "assignments_per_task": 5}, project())  # type: ignore[typeddict-item]
    assert changed == {"assignments_per_task": 5}
    new_pay = parse_project({**FILE, "pay": {"per_submission": "15 USD"}}).fields
    assert list(differences(new_pay, project())) == ["pay_terms"]


def test_the_create_request_id_follows_the_content() -> None:
    fields = parse_project(FILE).fields
    same = parse_project(json.loads(json.dumps(FILE))).fields
    other = parse_project({**FILE, "slots": 4}).fields
    assert apply_request_id(fields) == apply_request_id(same) != apply_request_id(other)


@dataclass
class FakeProjects:
    projects: list[ProjectRecord] = field(default_factory=list)
    calls: list[tuple[str, Any]] = field(default_factory=list)

    def list_projects(self, page_size: int, page_token: str) -> dict[str, Any]:
        self.calls.append(("list", page_token))
        if not page_token:  # two pages: the match is on the second
            return {"projects": self.projects[:1], "next_page_token": "p2"}
        return {"projects": self.projects[1:], "next_page_token": ""}

    def get_project(self, project_id: str) -> dict[str, Any]:
        self.calls.append(("get", project_id))
        return {"project": next(p for p in self.projects if p["project_id"] == project_id)}

    def create_project(self, request_id: str, fields: ProjectFields) -> ProjectRecord:
        self.calls.append(("create", (request_id, fields)))
        return project(project_id="p-new", title=fields["title"], revision=1)

    def update_project(
        self, project_id: str, changes: ProjectFields, expected_revision: int
    ) -> ProjectRecord:
        self.calls.append(("update", (project_id, dict(changes), expected_revision)))
        return project(project_id=project_id, revision=expected_revision + 1, **changes)

    def pause_project(self, project_id: str) -> ProjectRecord:
        self.calls.append(("pause", project_id))
        return project(project_id=project_id, state="paused")

    def resume_project(self, project_id: str) -> ProjectRecord:
        self.calls.append(("resume", project_id))
        return project(project_id=project_id)


def test_apply_finds_the_project_by_title_and_changes_only_what_differs() -> None:
    fake = FakeProjects([project(project_id="other", title="Other"), project()])
    changed = apply_project(fake, parse_project({**FILE, "slots": 5, "state": "paused"}))  # type: ignore[arg-type]
    assert (changed["action"], changed["changed"]) == ("updated", ["assignments_per_task", "state"])
    assert ("update", ("p-1", {"assignments_per_task": 5}, 4)) in fake.calls
    assert fake.calls[-1] == ("pause", "p-1")

    fake.calls.clear()
    same = apply_project(fake, parse_project(FILE))  # type: ignore[arg-type]
    assert (same["action"], same["changed"]) == ("unchanged", [])
    assert [c[0] for c in fake.calls] == ["list", "list"]


def test_apply_creates_when_no_project_has_the_title_and_needs_pay_for_it() -> None:
    fake = FakeProjects([project(title="Other")])
    created = apply_project(fake, parse_project(FILE))  # type: ignore[arg-type]
    assert created["action"] == "created"
    [(_, (request_id, fields))] = [c for c in fake.calls if c[0] == "create"]
    assert request_id == apply_request_id({"instructions": "", **parse_project(FILE).fields})  # type: ignore[typeddict-item]
    assert fields["instructions"] == ""

    with pytest.raises(CtlError) as err:
        apply_project(FakeProjects(), parse_project({"title": "New"}))  # type: ignore[arg-type]
    assert err.value.exit_code == ExitCode.USAGE and "add pay" in err.value.message


def test_apply_refuses_to_guess_between_two_projects_of_one_title() -> None:
    fake = FakeProjects([project(), project(project_id="p-2")])
    with pytest.raises(CtlError) as err:
        apply_project(fake, parse_project(FILE))  # type: ignore[arg-type]
    assert "project_id" in err.value.message and "p-2" in err.value.message


def test_apply_by_project_id_renames() -> None:
    fake = FakeProjects([project()])
    renamed = apply_project(fake, parse_project({**FILE, "project_id": "p-1", "title": "Derm"}))  # type: ignore[arg-type]
    assert renamed["changed"] == ["title"] and fake.calls[0] == ("get", "p-1")


# --- the tasks file -----------------------------------------------------------------------


def source(text: str) -> io.StringIO:
    found = io.StringIO(text)
    found.name = "tasks.jsonl"
    return found


def test_each_line_is_a_payload_keyed_by_its_field() -> None:
    lines = read_tasks(source('{"id": 7, "x": 1}\n\n{"id": "b"}\n'), "id", "run1-")
    assert [(line.number, line.spec) for line in lines] == [
        (1, {"idempotency_key": "run1-7", "payload_json": '{"id": 7, "x": 1}'}),
        (3, {"idempotency_key": "run1-b", "payload_json": '{"id": "b"}'}),
    ]


def test_every_bad_line_is_named_and_nothing_is_read() -> None:
    bad = '{"id": "a"}\nnope\n[1]\n{"id": true}\n{"id": ""}\n{"x": 1}\n{"id": "a"}\n'
    with pytest.raises(CtlError) as err:
        read_tasks(source(bad), "id")
    message = err.value.message
    for expected in (
        "line 2: not JSON",
        "line 3: expected a JSON object",
        'line 4: "id" must be a string',
        'line 5: "id" is empty',
        'line 6: no "id" field',
        "line 7: key 'a' is also on line 1",
    ):
        assert expected in message
    assert err.value.exit_code == ExitCode.USAGE and "nothing was submitted" in message


def line(n: int, size: int = 10) -> Line:
    return Line(n, {"idempotency_key": f"k{n}", "payload_json": "x" * size})


def test_batches_hold_at_most_the_size_and_the_bytes() -> None:
    lines = [line(n) for n in range(1, 8)]
    assert [[x.number for x in b] for b in batches(lines, 3)] == [[1, 2, 3], [4, 5, 6], [7]]
    assert [len(b) for b in batches(lines, 1000, max_bytes=25)] == [2, 2, 2, 1]
    assert [len(b) for b in batches([line(1, 100), line(2)], 10, max_bytes=50)] == [1, 1]


@dataclass
class FakeTasks:
    refuse_batch: int = 0  # 1-based
    batches: list[list[TaskSpecRecord]] = field(default_factory=list)

    def submit_tasks(self, project_id: str, specs: list[TaskSpecRecord]) -> list[TaskRecord]:
        self.batches.append(specs)
        if len(self.batches) == self.refuse_batch:
            raise RpcFailed(
                service="dispatcher", address="a", code="INVALID_ARGUMENT", details="tasks[1]"
            )
        return [cast(TaskRecord, {"task_id": f"t-{s['idempotency_key']}"}) for s in specs]


def test_submit_all_reports_the_first_and_last_task_and_the_progress() -> None:
    fake, advanced = FakeTasks(), []
    done = submit_all(fake, "p", [line(n) for n in range(1, 6)], 2, advanced.append)  # type: ignore[arg-type]
    assert done == {
        "project_id": "p",
        "tasks": 5,
        "batches": 3,
        "first_task_id": "t-k1",
        "last_task_id": "t-k5",
    }
    assert advanced == [2, 2, 1]


def test_a_refused_batch_stops_the_run_and_says_how_to_finish_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    fake = FakeTasks(refuse_batch=2)
    with pytest.raises(RpcFailed):
        submit_all(fake, "p", [line(n) for n in range(1, 6)], 2, lambda _: None)  # type: ignore[arg-type]
    err = capsys.readouterr().err
    assert "Batch 2 (lines 3-4) was refused; the 2 tasks before it are in" in err
    assert "run the same command again" in err


def test_task_submit_prints_no_progress_bar_when_not_on_a_terminal(tmp_path: Path) -> None:
    fake = FakeTasks()
    wiring = Wiring(
        env={"CREWLINE_CREDENTIAL": KEY},
        cwd=tmp_path,
        home=tmp_path,
        connect_tasks=lambda addresses, credential: fake,  # type: ignore[arg-type,return-value]
    )
    path = tmp_path / "t.jsonl"
    path.write_text("".join(json.dumps({"id": n}) + "\n" for n in range(3)))
    args = ["task", "submit", "--project", "p", "--file", str(path), "--key-field", "id"]
    result = CliRunner().invoke(cli, ["--json", *args], obj=wiring)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["tasks"] == 3 and result.stderr == ""
    assert [s["idempotency_key"] for s in fake.batches[0]] == ["0", "1", "2"]


# --- offers, completion, TLS ------------------------------------------------------------


def test_the_offers_stream_becomes_events_in_order() -> None:
    offer = work_api.Offer(
        task_id="t-1",
        project_id="p-1",
        title="Derm",
        free_slots=2,
        pay_terms=project_pb2.PayTerms(
            per_submission=project_pb2.PerSubmissionPay(
                reward=money_pb2.Money(currency_code="USD", amount_minor=1250)
            )
        ),
    )
    changes = work_api.OfferChanges(
        changes=[
            work_api.OfferChange(offered=offer),
            work_api.OfferChange(
                withdrawn=work_api.OfferWithdrawn(
                    task_id="t-0", reason=work_api.WITHDRAWAL_REASON_FILLED
                )
            ),
        ]
    )
    events = offer_events(work_api.StreamOffersResponse(changes=changes))
    assert [(e["type"], e["task_id"], e["reason"]) for e in events] == [
        ("offered", "t-1", None),
        ("withdrawn", "t-0", "filled"),
    ]
    assert events[0]["offer"] is not None and events[0]["offer"]["free_slots"] == 2
    end = work_api.StreamOffersResponse(snapshot_end=work_api.SnapshotEnd(offers=1))
    assert [(e["type"], e["offers"]) for e in offer_events(end)] == [("snapshot_end", 1)]


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_scripts_call_crewctl_back(shell: str) -> None:
    script = completion_script(cli, shell)
    assert "_CREWCTL_COMPLETE" in script and f"{shell}_complete" in script
    assert CliRunner().invoke(cli, ["completion", shell]).stdout.strip() == script.strip()


def test_tls_settings_reach_every_channel_and_a_half_setting_is_a_usage_error(
    tmp_path: Path,
) -> None:
    seen: list[Addresses] = []

    def connect(addresses: Addresses, credential: str) -> Any:
        seen.append(addresses)
        raise RpcFailed(service="dispatcher", address="a", code="UNAVAILABLE", details="x")

    env = {"CREWLINE_CREDENTIAL": KEY, "CREWLINE_TLS_CA_FILE": str(tmp_path / "ca.pem")}
    wiring = Wiring(env=env, cwd=tmp_path, home=tmp_path, connect_projects=connect)
    CliRunner().invoke(cli, ["project", "list"], obj=wiring)
    assert seen[0].tls == ClientTls(ca_file=tmp_path / "ca.pem")

    half = {**env, "CREWLINE_TLS_CERT_FILE": str(tmp_path / "c.pem")}
    result = CliRunner().invoke(
        cli, ["project", "list"], obj=Wiring(env=half, cwd=tmp_path, home=tmp_path)
    )
    assert result.exit_code == ExitCode.USAGE and "CREWLINE_TLS_KEY_FILE" in result.stderr


@pytest.mark.parametrize(
    ("code", "reason", "exit_code", "hint"),
    [
        ("PERMISSION_DENIED", "NOT_QUALIFIED", ExitCode.REFUSED, "qualifications you do not hold"),
        ("PERMISSION_DENIED", "BLOCKED", ExitCode.REFUSED, "blocked from this project"),
        ("PERMISSION_DENIED", None, ExitCode.CREDENTIAL, "check the contractor token"),
        ("FAILED_PRECONDITION", "NO_FREE_SLOT", ExitCode.REFUSED, "crewctl offers list"),
        ("UNAVAILABLE", "DEPENDENCY_UNAVAILABLE", ExitCode.UNAVAILABLE, "run the same command"),
    ],
)
def test_a_refused_claim_says_why_and_what_to_do(
    code: str, reason: str | None, exit_code: ExitCode, hint: str
) -> None:
    from crewline.ctl.errors import CONTRACTOR_TOKEN_HINT, from_rpc

    failure = RpcFailed(service="matcher", address="a", code=code, details="no", reason=reason)
    error = from_rpc(failure, credential_hint=CONTRACTOR_TOKEN_HINT)
    assert error.exit_code == exit_code and hint in error.message
