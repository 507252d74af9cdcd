"""crewctl's task commands against the stand-in dispatcher (get, list, cancel, add-slots,
lifetime), the usage errors that call nothing, and the command tree."""

from __future__ import annotations

import click
import pytest
from crewctl_golden.harness import Crewctl
from crewctl_task_data import (
    AT,
    DETAILS,
    KEY,
    TASK,
    TASK_ID,
    called,
    client_crewctl,
    human,
    task_answer,
    task_pages,
)
from grpc_standin import Refusal

from crewline.ctl.errors import ExitCode
from crewline.ctl.main import cli

crewctl = pytest.fixture(client_crewctl, name="crewctl")


def test_task_get_shows_the_task_and_its_submissions(crewctl: Crewctl) -> None:
    out = crewctl.json("task", "get", TASK_ID, GetTask=DETAILS)
    assert out["task"] == TASK and out["submissions"][0]["submission_id"] == "s-1"
    assert crewctl.requests() == [{"task_id": TASK_ID}]
    assert called(crewctl) == [("dispatcher", "crewline.v1.TaskService/GetTask", f"Bearer {KEY}")]
    text = human(crewctl, "task", "get", TASK_ID, GetTask=DETAILS)
    assert "Submissions" in text and "pending_review" in text and "row-17" in text
    assert crewctl.authorizations() == [f"Bearer {KEY}"]


def test_task_get_cuts_a_long_payload_in_the_table_only(crewctl: Crewctl) -> None:
    long_task = task_answer(payload_json="x" * 5000)
    table = human(crewctl, "task", "get", TASK_ID, GetTask=long_task)
    flat = "".join(table.replace("│", " ").split())  # the table folds long values
    assert "5000characters;--jsonshowsall" in flat and "x" * 5000 not in flat
    out = crewctl.json("task", "get", TASK_ID, GetTask=long_task)
    assert out["task"]["payload_json"] == "x" * 5000


def test_task_list_sends_its_filters_and_reads_every_page_with_all(crewctl: Crewctl) -> None:
    three = task_pages(3)
    page = crewctl.json(
        "task", "list", "--project", "p-1", "--status", "IN_PROGRESS", ListTasks=three
    )
    assert page["next_page_token"] == "1" and page["tasks"] == [TASK]
    assert crewctl.requests() == [{"project_id": "p-1", "status": "TASK_STATUS_IN_PROGRESS"}]
    every = crewctl.json("task", "list", "--all", "--page-size", "200", ListTasks=three)
    assert len(every["tasks"]) == 3 and every["next_page_token"] == ""
    assert crewctl.requests() == [
        {"page_size": 200},
        {"page_size": 200, "page_token": "1"},
        {"page_size": 200, "page_token": "2"},
    ]
    assert "More: --page-token 1" in human(crewctl, "task", "list", ListTasks=three)


@pytest.mark.parametrize(
    "args",
    [
        ("task", "list", "--status", "running"),
        ("task", "list", "--page-size", "501"),
        ("task", "add-slots", TASK_ID, "0"),
        ("task", "add-slots", TASK_ID, "1001"),
        ("task", "lifetime", TASK_ID),
        ("task", "lifetime", TASK_ID, "--expires-at", "2026-05-01T12:00:00Z", "--extend-by", "1h"),
        ("task", "lifetime", TASK_ID, "--expires-at", "2026-05-01T12:00:00"),
        ("task", "lifetime", TASK_ID, "--extend-by", "0"),
        ("task", "lifetime", TASK_ID, "--extend-by", "soon"),
        ("claim", "heartbeat", "c-1"),
        ("claim", "heartbeat", "c-1", "--worked", "-5"),
        ("claim", "heartbeat", "c-1", "--worked", "ages"),
        ("claim", "list", "--status", "live"),
        ("claim", "list", "--page-size", "101"),
    ],
    ids=" ".join,
)
def test_bad_arguments_are_usage_errors_and_call_nothing(crewctl: Crewctl, args: list[str]) -> None:
    result = crewctl.run(*args)
    assert result.exit_code == ExitCode.USAGE, (result.stdout, result.stderr)
    assert crewctl.requests() == []


def test_task_cancel_sends_the_reason_given(crewctl: Crewctl) -> None:
    cancelled = task_answer(status="TASK_STATUS_CANCELLED", cancelled_at=AT)
    assert crewctl.json("task", "cancel", TASK_ID, CancelTask=cancelled)["status"] == "cancelled"
    assert crewctl.requests() == [{"task_id": TASK_ID}]
    crewctl.json("task", "cancel", TASK_ID, "--reason", "duplicate", CancelTask=cancelled)
    assert crewctl.requests() == [{"task_id": TASK_ID, "reason": "duplicate"}]


def test_add_slots_makes_a_request_id_and_prints_it_for_a_retry(crewctl: Crewctl) -> None:
    out = crewctl.json("task", "add-slots", TASK_ID, "2", AddSlots=task_answer(slots=4))
    [sent] = crewctl.requests()
    request_id = sent["request_id"]
    assert sent == {"request_id": request_id, "task_id": TASK_ID, "slots": 2}
    assert request_id.startswith("crewctl-") and out["request_id"] == request_id
    assert out["task"]["slots"] == 4
    text = human(
        crewctl, "task", "add-slots", TASK_ID, "2", "--request-id", "r-7", AddSlots=task_answer()
    )
    assert crewctl.requests() == [{"request_id": "r-7", "task_id": TASK_ID, "slots": 2}]
    assert "Request id: r-7" in text


def test_add_slots_that_fails_says_how_to_retry_with_the_same_request_id(
    crewctl: Crewctl,
) -> None:
    down = Refusal("UNAVAILABLE", "no")
    result = crewctl.run("task", "add-slots", TASK_ID, "2", AddSlots=down)
    assert result.exit_code == ExitCode.UNAVAILABLE
    request_ids = {sent["request_id"] for sent in crewctl.requests("AddSlots")}
    [request_id] = request_ids  # the SDK's retries, if any, repeat it
    assert f"crewctl task add-slots {TASK_ID} 2 --request-id {request_id}" in result.stderr


def test_lifetime_sends_the_time_given_in_utc(crewctl: Crewctl) -> None:
    crewctl.json(
        "task",
        "lifetime",
        TASK_ID,
        "--expires-at",
        "2026-05-01T14:00:00+02:00",
        UpdateTaskLifetime=task_answer(),
    )
    assert crewctl.requests() == [{"task_id": TASK_ID, "expires_at": "2026-05-01T12:00:00Z"}]


def test_lifetime_extend_by_reads_the_task_and_moves_its_end(crewctl: Crewctl) -> None:
    moved = task_answer(expires_at="2026-01-10T05:04:05Z")
    out = crewctl.json(
        "task",
        "lifetime",
        TASK_ID,
        "--extend-by",
        "1d2h",
        GetTask=DETAILS,
        UpdateTaskLifetime=moved,
    )
    assert [method for _, method, _ in called(crewctl)] == [
        "crewline.v1.TaskService/GetTask",
        "crewline.v1.TaskService/UpdateTaskLifetime",
    ]
    assert crewctl.requests("UpdateTaskLifetime") == [
        {"task_id": TASK_ID, "expires_at": "2026-01-10T05:04:05Z"}  # 2026-01-09T03:04:05Z + 26 h
    ]
    assert out["expires_at"] == "2026-01-10T05:04:05Z"


def test_every_new_command_is_in_the_tree() -> None:
    def names(group: click.Group) -> set[str]:
        return set(group.commands)

    root = cli
    assert {"task", "watch", "claim"} <= names(root)
    task, claim, project = (root.commands[n] for n in ("task", "claim", "project"))
    assert isinstance(task, click.Group) and isinstance(claim, click.Group)
    assert isinstance(project, click.Group)
    assert names(task) == {"get", "list", "cancel", "add-slots", "lifetime", "submit"}
    assert names(claim) == {"create", "get", "list", "heartbeat", "release", "submit"}
    assert {"pause", "resume", "close"} <= names(project)
