"""crewctl task submit: the JSON Lines tasks file (every bad line named), its batches,
and a run against the stand-in dispatcher (progress, a refused batch)."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from click.testing import CliRunner
from crewctl_file_data import (
    client_crewctl,
)
from crewctl_golden.harness import Crewctl
from grpc_standin import Refusal

from crewline.ctl.errors import CtlError, ExitCode
from crewline.ctl.main import cli
from crewline.ctl.task_file import Line, batches, read_tasks

crewctl = pytest.fixture(client_crewctl, name="crewctl")


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


# --- task submit, against stand-in servers --------------------------------------------


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


def test_a_task_made_before_the_run_began_counts_as_already_there(crewctl: Crewctl) -> None:
    before = datetime.now(UTC) - timedelta(milliseconds=50)
    later = datetime.now(UTC) + timedelta(seconds=60)  # made during the run, by its clock

    def text(at: datetime) -> str:
        return at.isoformat().replace("+00:00", "Z")

    answer = made("fresh", "old")
    answer["tasks"][0]["created_at"] = text(later)
    answer["tasks"][1]["created_at"] = text(before)
    done = crewctl.json(*tasks_file(crewctl, ["fresh", "old"]), SubmitTasks=answer)

    assert (done["new"], done["already_there"]) == (1, 1)


def test_the_help_says_how_new_and_already_there_are_counted() -> None:
    shown = CliRunner().invoke(cli, ["task", "submit", "--help"], prog_name="crewctl")

    assert "counted by each task's creation time" in " ".join(shown.output.split())
