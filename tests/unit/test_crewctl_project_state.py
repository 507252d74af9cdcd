"""crewctl project pause, resume and close against the stand-in dispatcher, and the
state in project list."""

from __future__ import annotations

import json

import pytest
from crewctl_golden.harness import Crewctl
from crewctl_task_data import (
    KEY,
    PROJECT,
    called,
    client_crewctl,
    human,
    project_answer,
)

crewctl = pytest.fixture(client_crewctl, name="crewctl")


@pytest.mark.parametrize(
    ("command", "method", "state"),
    [("pause", "PauseProject", "paused"), ("resume", "ResumeProject", "active")],
)
def test_pause_and_resume_return_the_project(
    crewctl: Crewctl, command: str, method: str, state: str
) -> None:
    answers = {method: project_answer(state)}
    assert crewctl.json("project", command, "p-1", **answers) == {**PROJECT, "state": state}
    assert called(crewctl) == [("dispatcher", f"crewline.v1.TaskService/{method}", f"Bearer {KEY}")]
    assert crewctl.requests() == [{"project_id": "p-1"}]
    assert state in human(crewctl, "project", command, "p-1", **answers)


def test_close_asks_first_unless_yes(crewctl: Crewctl) -> None:
    closed = project_answer("closed")
    declined = crewctl.run("project", "close", "p-1", input="n\n", CloseProject=closed)
    assert declined.exit_code == 1 and crewctl.requests() == []
    assert "for good" in declined.stderr
    agreed = crewctl.run("--json", "project", "close", "p-1", input="y\n", CloseProject=closed)
    assert agreed.exit_code == 0 and json.loads(agreed.stdout)["state"] == "closed"
    assert crewctl.requests("CloseProject") == [{"project_id": "p-1"}]
    assert crewctl.json("project", "close", "p-1", "--yes", CloseProject=closed)["state"] == (
        "closed"
    )
    assert crewctl.requests("CloseProject") == [{"project_id": "p-1"}]


def test_project_list_shows_the_state(crewctl: Crewctl) -> None:
    paused = {"projects": [project_answer("paused")["project"]]}
    assert "paused" in human(crewctl, "project", "list", ListProjects=paused)
