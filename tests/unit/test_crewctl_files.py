"""crewctl's file-driven commands: ``project apply`` (the file format, what differs, what is
called), ``task submit`` (the JSONL file, batches, a refused batch), the offers stream's
events, completion scripts, and TLS settings reaching the channels; commands run against
stand-in servers."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any, cast

import grpc
import pytest
from click.testing import CliRunner, Result
from crewctl_golden.harness import Crewctl
from google.protobuf import json_format
from grpc_standin import Refusal, StandIns

from crewline import local_certs
from crewline.client.errors import CrewlineError
from crewline.ctl.errors import CtlError, ExitCode
from crewline.ctl.main import cli
from crewline.ctl.meta import completion_script
from crewline.ctl.project_file import (
    FileError,
    apply_request_id,
    differences,
    load_project_file,
    parse_project,
)
from crewline.ctl.records.projects import ProjectFields, ProjectRecord, project_record
from crewline.ctl.task_file import Line, batches, read_tasks
from crewline.local_certs import LocalCerts
from crewline.v1 import project_pb2

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


def project(**changes: Any) -> dict[str, Any]:
    """A project as the dispatcher sends it, in protobuf's JSON form: the one FILE describes."""
    found: dict[str, Any] = {
        "project_id": "p-1",
        "client_id": "acme",
        "title": "Dermatology ratings",
        "requirements": [
            {"qualification": "locale", "comparator": "COMPARATOR_IN", "strings": ["US", "CA"]},
            {
                "qualification": "domain.derm",
                "comparator": "COMPARATOR_GREATER_OR_EQUAL",
                "scores": [80],
            },
        ],
        "pay_terms": {
            "version": 1,
            "per_submission": {"reward": {"currency_code": "USD", "amount_minor": 1250}},
            "effective_at": "2026-01-02T03:04:05Z",
        },
        "assignments_per_task": 3,
        "claim_timeout_seconds": 1800,
        "task_lifetime_seconds": 604_800,
        "auto_accept_delay_seconds": 259_200,
        "revision": 4,
        "state": "PROJECT_STATE_ACTIVE",
    }
    return {**found, **changes}


def record(**changes: Any) -> ProjectRecord:
    """``project(**changes)`` as the record crewctl makes of it."""
    return project_record(json_format.ParseDict(project(**changes), project_pb2.Project()))


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
    assert differences(fields, record()) == {}
    changed = differences({**fields, "assignments_per_task": 5}, record())
    assert changed == {"assignments_per_task": 5}
    new_pay = parse_project({**FILE, "pay": {"per_submission": "15 USD"}}).fields
    assert list(differences(new_pay, record())) == ["pay_terms"]


def test_the_create_request_id_follows_the_content() -> None:
    fields = parse_project(FILE).fields
    same = parse_project(json.loads(json.dumps(FILE))).fields
    other = parse_project({**FILE, "slots": 4}).fields
    assert apply_request_id(fields) == apply_request_id(same) != apply_request_id(other)


# --- project apply, against stand-in servers ---------------------------------------------


@pytest.fixture
def crewctl(servers: StandIns, tmp_path: Path) -> Crewctl:
    return Crewctl(servers, caller="client", env={"CREWLINE_CREDENTIAL": KEY}, cwd=tmp_path)


def apply(crewctl: Crewctl, data: Any, **answers: Any) -> Result:
    """``crewctl --json project apply`` of a file holding ``data``."""
    (crewctl.cwd / "project.json").write_text(json.dumps(data))
    return crewctl.run("--json", "project", "apply", "-f", "project.json", **answers)


def applied(crewctl: Crewctl, data: Any, **answers: Any) -> Any:
    result = apply(crewctl, data, **answers)
    assert result.exit_code == 0, (result.stdout, result.stderr)
    return json.loads(result.stdout)


def methods(crewctl: Crewctl) -> list[str]:
    return [r.method.rsplit("/", 1)[1] for r in crewctl.servers.received]


TWO_PAGES = [  # the match is on the second
    {"projects": [project(project_id="other", title="Other")], "next_page_token": "p2"},
    {"projects": [project()]},
]


def test_apply_finds_the_project_by_title_and_changes_only_what_differs(crewctl: Crewctl) -> None:
    changed = applied(
        crewctl,
        {**FILE, "slots": 5, "state": "paused"},
        ListProjects=TWO_PAGES,
        UpdateProject={"project": project(assignments_per_task=5, revision=5)},
        PauseProject={"project": project(state="PROJECT_STATE_PAUSED", revision=6)},
    )
    assert (changed["action"], changed["changed"]) == ("updated", ["assignments_per_task", "state"])
    assert crewctl.requests("ListProjects") == [
        {"page_size": 100},
        {"page_size": 100, "page_token": "p2"},
    ]
    assert crewctl.requests("UpdateProject") == [
        {
            "project": {"project_id": "p-1", "assignments_per_task": 5},
            "update_mask": "assignmentsPerTask",
            "expected_revision": "4",
        }
    ]
    assert methods(crewctl)[-1] == "PauseProject"
    assert crewctl.requests()[-1] == {"project_id": "p-1"}

    same = applied(crewctl, FILE, ListProjects=TWO_PAGES)
    assert (same["action"], same["changed"]) == ("unchanged", [])
    assert methods(crewctl) == ["ListProjects", "ListProjects"]


def test_apply_creates_when_no_project_has_the_title_and_needs_pay_for_it(
    crewctl: Crewctl,
) -> None:
    created = applied(
        crewctl,
        FILE,
        ListProjects={"projects": [project(title="Other")]},
        CreateProject={"project": project(project_id="p-new", revision=1)},
    )
    assert created["action"] == "created"
    [sent] = crewctl.requests("CreateProject")
    fields = cast(ProjectFields, {"instructions": "", **parse_project(FILE).fields})
    assert sent["request_id"] == apply_request_id(fields)
    assert sent.get("instructions", "") == ""  # "" is protobuf's unset: not in its JSON

    refused = apply(crewctl, {"title": "New"}, ListProjects={"projects": []})
    assert refused.exit_code == ExitCode.USAGE and "add pay" in refused.stderr
    assert methods(crewctl) == ["ListProjects"]


def test_apply_refuses_to_guess_between_two_projects_of_one_title(crewctl: Crewctl) -> None:
    pages = [
        {"projects": [project()], "next_page_token": "p2"},
        {"projects": [project(project_id="p-2")]},
    ]
    result = apply(crewctl, FILE, ListProjects=pages)
    assert result.exit_code == ExitCode.USAGE
    assert "project_id" in result.stderr and "p-2" in result.stderr
    assert methods(crewctl) == ["ListProjects", "ListProjects"]


def test_apply_by_project_id_renames(crewctl: Crewctl) -> None:
    renamed = applied(
        crewctl,
        {**FILE, "project_id": "p-1", "title": "Derm"},
        GetProject={"project": project()},
        UpdateProject={"project": project(title="Derm", revision=5)},
    )
    assert renamed["changed"] == ["title"]
    assert (methods(crewctl)[0], crewctl.requests()[0]) == ("GetProject", {"project_id": "p-1"})


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


def tasks_file(crewctl: Crewctl, keys: list[str]) -> list[str]:
    """A tasks file of one line per key, and the arguments that submit it to project p."""
    lines = "".join(json.dumps({"id": key}) + "\n" for key in keys)
    (crewctl.cwd / "t.jsonl").write_text(lines)
    return ["task", "submit", "--project", "p", "--file", "t.jsonl", "--key-field", "id"]


def made(*keys: str) -> dict[str, Any]:
    """SubmitTasks' answer: a task t-KEY for each key."""
    return {"tasks": [{"task_id": f"t-{key}", "idempotency_key": key} for key in keys]}


def submitted(crewctl: Crewctl) -> list[list[str]]:
    """The keys of each SubmitTasks batch received, in order."""
    return [[t["idempotency_key"] for t in r["tasks"]] for r in crewctl.requests("SubmitTasks")]


FIVE = ["k1", "k2", "k3", "k4", "k5"]
IN_TWOS = [made("k1", "k2"), made("k3", "k4"), made("k5")]


def test_task_submit_reports_the_first_and_last_task_and_the_progress(crewctl: Crewctl) -> None:
    args = [*tasks_file(crewctl, FIVE), "--batch-size", "2"]
    done = crewctl.json(*args, SubmitTasks=IN_TWOS)
    assert done == {
        "project_id": "p",
        "tasks": 5,
        "new": 5,  # the answers have no created_at: none was made before this run
        "already_there": 0,
        "batches": 3,
        "first_task_id": "t-k1",
        "last_task_id": "t-k5",
    }
    assert submitted(crewctl) == [["k1", "k2"], ["k3", "k4"], ["k5"]]
    assert {r["project_id"] for r in crewctl.requests("SubmitTasks")} == {"p"}

    crewctl.env["TTY_COMPATIBLE"] = "1"  # stderr as a terminal: the progress bar shows
    shown = crewctl.run(*args, SubmitTasks=IN_TWOS)
    assert shown.exit_code == 0, shown.stderr
    assert "Submitting" in shown.stderr and "5/5" in shown.stderr


def test_a_refused_batch_stops_the_run_and_says_how_to_finish_it(crewctl: Crewctl) -> None:
    refused = Refusal(
        "INVALID_ARGUMENT", "tasks[1]: payload too large", "INVALID_ARGUMENT", {"field": "tasks[1]"}
    )
    args = [*tasks_file(crewctl, FIVE), "--batch-size", "2"]
    result = crewctl.run(*args, SubmitTasks=[made("k1", "k2"), refused])
    assert result.exit_code == ExitCode.REFUSED
    assert "Batch 2 (lines 3-4) was refused; the 2 tasks before it are in" in result.stderr
    assert "run the same command again" in result.stderr
    assert "INVALID_ARGUMENT: tasks[1]: payload too large" in result.stderr
    assert submitted(crewctl) == [["k1", "k2"], ["k3", "k4"]]  # the run stops there


def test_task_submit_prints_no_progress_bar_when_not_on_a_terminal(crewctl: Crewctl) -> None:
    args = tasks_file(crewctl, ["0", "1", "2"])
    result = crewctl.run("--json", *args, SubmitTasks=made("0", "1", "2"))
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["tasks"] == 3 and result.stderr == ""
    assert submitted(crewctl) == [["0", "1", "2"]]

    crewctl.env.update(TTY_COMPATIBLE=None, FORCE_COLOR=None)  # whatever runs the tests
    human = crewctl.run(*args, SubmitTasks=made("0", "1", "2"))
    assert (human.exit_code, human.stderr) == (0, "")


# --- offers, completion, TLS ------------------------------------------------------------


def test_the_offers_stream_becomes_events_in_order(crewctl: Crewctl) -> None:
    offer = {
        "task_id": "t-1",
        "project_id": "p-1",
        "title": "Derm",
        "free_slots": 2,
        "pay_terms": project()["pay_terms"],
    }
    withdrawn = {"task_id": "t-0", "reason": "WITHDRAWAL_REASON_FILLED"}
    crewctl.caller, crewctl.env = "contractor", {}
    result = crewctl.run(
        "--json",
        "offers",
        "stream",
        "--snapshot-only",
        StreamOffers=[
            {"changes": {"changes": [{"offered": offer}, {"withdrawn": withdrawn}]}},
            {"snapshot_end": {"offers": 1}},
        ],
    )
    assert result.exit_code == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(e["type"], e["task_id"], e["reason"], e["offers"]) for e in events] == [
        ("offered", "t-1", None, 0),
        ("withdrawn", "t-0", "filled", 0),
        ("snapshot_end", "", None, 1),
    ]
    assert events[0]["offer"] is not None and events[0]["offer"]["free_slots"] == 2
    assert methods(crewctl) == ["StreamOffers"] and crewctl.requests() == [{}]


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_scripts_call_crewctl_back(shell: str) -> None:
    script = completion_script(cli, shell)
    assert "_CREWCTL_COMPLETE" in script and f"{shell}_complete" in script
    assert CliRunner().invoke(cli, ["completion", shell]).stdout.strip() == script.strip()


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> LocalCerts:
    return local_certs.ensure(tmp_path_factory.mktemp("certs"))


def test_tls_settings_reach_every_channel_and_a_half_setting_is_a_usage_error(
    crewctl: Crewctl, certs: LocalCerts
) -> None:
    # The stand-ins speak plaintext: a call over TLS fails its handshake and never arrives.
    listed: dict[str, Any] = {"ListProjects": {"projects": []}}
    assert crewctl.run("project", "list", **listed).exit_code == 0
    assert methods(crewctl) == ["ListProjects"]
    crewctl.env["CREWLINE_TLS_CA_FILE"] = str(certs.directory / "ca.pem")
    over_tls = crewctl.run("project", "list", **listed)
    assert over_tls.exit_code == ExitCode.UNAVAILABLE and "Tls handshake failed" in over_tls.stderr
    assert crewctl.servers.received == []

    health = crewctl.run("--json", "health", Check={"status": "SERVING"})  # every service
    assert health.exit_code == ExitCode.UNHEALTHY
    services = json.loads(health.stdout)["services"]
    assert {(s["service"], s["liveness"]) for s in services} == {
        ("dispatcher", "UNREACHABLE"),
        ("matcher", "UNREACHABLE"),
        ("ledger", "UNREACHABLE"),
    }
    assert crewctl.servers.received == []

    crewctl.env["CREWLINE_TLS_CERT_FILE"] = str(certs.directory / "client.pem")
    half = crewctl.run("project", "list", **listed)
    assert half.exit_code == ExitCode.USAGE and "CREWLINE_TLS_KEY_FILE" in half.stderr
    assert crewctl.servers.received == []


def test_a_tls_file_that_cannot_be_read_is_a_usage_error_naming_it(crewctl: Crewctl) -> None:
    crewctl.env["CREWLINE_TLS_CA_FILE"] = str(crewctl.cwd / "missing-ca.pem")
    result = crewctl.run("project", "list", ListProjects={"projects": []})
    assert result.exit_code == ExitCode.USAGE, result.exception
    assert "CREWLINE_TLS_CA_FILE" in result.stderr and "missing-ca.pem" in result.stderr
    assert crewctl.servers.received == []


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

    failure = CrewlineError(
        "no", code=grpc.StatusCode[code], reason=reason, service="matcher", address="a"
    )
    error = from_rpc(failure, credential_hint=CONTRACTOR_TOKEN_HINT)
    assert error.exit_code == exit_code and hint in error.message
