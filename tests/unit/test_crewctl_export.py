"""crewctl submission export against the stand-in dispatcher: each row joined to its task
(its key and payload), the result as JSON where it is JSON, pay only where it was posted,
JSON Lines or CSV, and each task read once."""

from __future__ import annotations

import base64
import csv
import io
import json
from typing import Any

import pytest
from click.testing import CliRunner
from crewctl_golden.harness import Crewctl
from crewctl_golden.records import usd
from grpc_standin import StandIns

from crewline.ctl.main import cli


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _sub(n: int, status: str, result: bytes, task: str = "t-1") -> dict[str, Any]:
    return {
        "submission_id": f"s-{n}",
        "task_id": task,
        "project_id": "p-1",
        "contractor_id": "dr-lee",
        "status": f"SUBMISSION_STATUS_{status}",
        "result": _b64(result),
        "earned": usd(1250),  # what the work earns when accepted, whatever its status
    }


ACCEPTED = _sub(1, "ACCEPTED", b'{"rating": 4}')
PENDING = _sub(2, "PENDING_REVIEW", b"plain words")
REJECTED = _sub(3, "REJECTED", b"\x00\xff")
TASK = {"task_id": "t-1", "idempotency_key": "row-17", "payload_json": '{"image": "a.png"}'}
OTHER_TASK = {"task_id": "t-2", "idempotency_key": "row-18", "payload_bytes": _b64(b"\xff")}


@pytest.fixture
def crewctl(servers: StandIns) -> Crewctl:
    return Crewctl(servers, caller="client")


def _rows(crewctl: Crewctl, *argv: str, **answers: Any) -> list[dict[str, Any]]:
    result = crewctl.run("submission", "export", *argv, **answers)
    assert result.exit_code == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_rows_carry_the_tasks_key_and_payload_and_the_result_as_json(crewctl: Crewctl) -> None:
    accepted, pending, rejected = _rows(
        crewctl,
        "--task",
        "t-1",
        ListSubmissions={"submissions": [ACCEPTED, PENDING, REJECTED]},
        GetTask={"task": TASK},
    )

    assert (accepted["task_key"], accepted["payload"]) == ("row-17", {"image": "a.png"})
    assert (accepted["result"], accepted["result_text"]) == ({"rating": 4}, None)
    assert (pending["result"], pending["result_text"]) == (None, "plain words")
    assert (rejected["result_text"], rejected["result_base64"]) == (None, _b64(b"\x00\xff"))
    assert "earned" not in accepted


def test_only_accepted_work_shows_what_it_was_paid(crewctl: Crewctl) -> None:
    rows = _rows(
        crewctl,
        "--task",
        "t-1",
        ListSubmissions={"submissions": [ACCEPTED, PENDING, REJECTED]},
        GetTask={"task": TASK},
    )

    assert [row["paid"] for row in rows] == [{"currency": "USD", "amount_minor": 1250}, None, None]


def test_each_task_is_read_once_a_projects_all_together(crewctl: Crewctl) -> None:
    late = _sub(4, "ACCEPTED", b"{}", task="t-2")  # its task was made after the list was read
    rows = _rows(
        crewctl,
        "--project",
        "p-1",
        ListSubmissions=[
            {"submissions": [ACCEPTED, PENDING], "next_page_token": "2"},
            {"submissions": [REJECTED, late]},
        ],
        ListTasks={"tasks": [TASK]},
        GetTask={"task": OTHER_TASK},
    )

    assert [row["task_key"] for row in rows] == ["row-17"] * 3 + ["row-18"]
    assert rows[3]["payload_base64"] == _b64(b"\xff") and rows[3]["payload"] is None
    assert crewctl.requests("ListTasks") == [{"project_id": "p-1", "page_size": 500}]
    assert crewctl.requests("GetTask") == [{"task_id": "t-2"}]


def test_nothing_to_export_reads_no_task(crewctl: Crewctl) -> None:
    assert _rows(crewctl, "--project", "p-1", ListSubmissions={}) == []
    assert crewctl.requests("ListTasks") == []


def test_csv_has_a_header_and_nested_values_as_json_text(crewctl: Crewctl) -> None:
    result = crewctl.run(
        "submission",
        "export",
        "--task",
        "t-1",
        "--format",
        "csv",
        ListSubmissions={"submissions": [ACCEPTED, REJECTED]},
        GetTask={"task": TASK},
    )

    assert result.exit_code == 0, result.stderr
    accepted, rejected = csv.DictReader(io.StringIO(result.stdout))
    assert accepted["task_key"] == "row-17"
    assert json.loads(accepted["payload"]) == {"image": "a.png"}
    assert json.loads(accepted["result"]) == {"rating": 4}
    assert json.loads(accepted["paid"]) == {"currency": "USD", "amount_minor": 1250}
    assert (rejected["paid"], rejected["result"]) == ("", "")
    assert rejected["result_base64"] == _b64(b"\x00\xff")


def test_the_help_names_the_formats_and_why_there_is_no_parquet() -> None:
    shown = CliRunner().invoke(cli, ["submission", "export", "--help"], prog_name="crewctl")

    assert "[jsonl|csv]" in shown.output and "No Parquet" in shown.output


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_csv_text_a_spreadsheet_would_run_as_a_formula_starts_with_a_quote(
    crewctl: Crewctl, start: str
) -> None:
    formula = f'{start}HYPERLINK("http://x")'
    sub = {**_sub(5, "REJECTED", formula.encode()), "feedback": formula}
    result = crewctl.run(
        "submission", "export", "--task", "t-1", "--format", "csv",
        ListSubmissions={"submissions": [sub, PENDING]}, GetTask={"task": TASK},
    )  # fmt: skip

    assert result.exit_code == 0, result.stderr
    quoted, plain = csv.DictReader(io.StringIO(result.stdout, newline=""))
    assert (quoted["result_text"], quoted["feedback"]) == (f"'{formula}", f"'{formula}")
    assert plain["result_text"] == "plain words"


def test_the_help_says_formula_text_is_quoted_in_csv() -> None:
    shown = CliRunner().invoke(cli, ["submission", "export", "--help"], prog_name="crewctl")

    assert "gets a leading '" in " ".join(shown.output.split())


@pytest.mark.parametrize("result", [b"NaN", b'{"score": Infinity}', b"[-Infinity]"])
def test_nan_and_infinity_go_out_as_text_keeping_each_line_valid_json(
    crewctl: Crewctl, result: bytes
) -> None:
    sub = _sub(6, "PENDING_REVIEW", result)
    out = crewctl.run(
        "submission", "export", "--task", "t-1", ListSubmissions={"submissions": [sub]},
        GetTask={"task": TASK},
    )  # fmt: skip

    assert out.exit_code == 0, out.stderr
    row = json.loads(out.stdout, parse_constant=lambda name: pytest.fail(f"bare {name}"))
    assert (row["result"], row["result_text"]) == (None, result.decode())
