"""crewctl's review commands against the stand-in dispatcher: submission list, get,
accept, reject, bonus and export; what each sends, with which credential, and prints."""

from __future__ import annotations

import json

import pytest
from crewctl_golden.harness import Crewctl
from crewctl_review_data import (
    KEY,
    REVIEWED,
    SUB_ID,
    SUBMISSION,
    SUBMISSION_PB,
    callers,
    client_and_operator,
    human,
    pages,
    refused,
    sent_money,
)

from crewline.ctl.errors import ExitCode

crewctl = pytest.fixture(client_and_operator, name="crewctl")


def test_review_requests_carry_the_filters_feedback_override_and_money(
    crewctl: Crewctl,
) -> None:
    crewctl.json(
        "submission", "list", "--project", "p-1", "--status", "rejected", "--page-size", "10",
        "--page-token", "t", ListSubmissions={"submissions": [{"submission_id": SUB_ID}]},
    )  # fmt: skip
    assert crewctl.requests() == [
        {
            "project_id": "p-1",
            "status": "SUBMISSION_STATUS_REJECTED",
            "page_size": 10,
            "page_token": "t",
        }
    ]
    crewctl.json(
        "submission", "accept", SUB_ID, "--feedback", "fine after all", "--override-rejection",
        **REVIEWED,
    )  # fmt: skip
    assert crewctl.requests() == [
        {"submission_id": SUB_ID, "feedback": "fine after all", "override_rejection": True}
    ]
    crewctl.json("submission", "reject", SUB_ID, "--feedback", "why", **REVIEWED)
    assert crewctl.requests() == [{"submission_id": SUB_ID, "feedback": "why"}]
    out = crewctl.json(
        "submission", "bonus", SUB_ID, "5.50", "USD", "--reason", "great", "--key", "k-1",
        **REVIEWED,
    )  # fmt: skip
    assert out["bonus"]["bonus_id"] == "b-1"
    assert crewctl.requests() == [
        {
            "submission_id": SUB_ID,
            "idempotency_key": "k-1",
            "amount": sent_money(550),
            "reason": "great",
        }
    ]


def test_submission_list_needs_a_project_or_a_task_and_reads_every_page(
    crewctl: Crewctl,
) -> None:
    for args in ((), ("--project", "p-1", "--task", "t-1")):
        result = crewctl.run("submission", "list", *args)
        assert result.exit_code == ExitCode.USAGE and "--project or --task" in result.output
        assert crewctl.requests() == []
    every = crewctl.json(
        "submission", "list", "--project", "p-1", "--status", "REJECTED", "--all",
        ListSubmissions=pages(3),
    )  # fmt: skip
    assert [s["submission_id"] for s in every["submissions"]] == ["s-1", "s-2", "s-3"]
    first = {"project_id": "p-1", "status": "SUBMISSION_STATUS_REJECTED"}
    assert crewctl.requests() == [
        first,
        {**first, "page_token": "1"},
        {**first, "page_token": "2"},
    ]
    assert set(callers(crewctl)) == {("dispatcher", f"Bearer {KEY}")}  # the client's API key
    table = human(crewctl, "submission", "list", "--task", "t-1", ListSubmissions=pages(3))
    flat = "".join(table.replace("│", " ").split())  # the table folds long values
    assert "12.50" in flat and "More: --page-token 1" in table
    assert crewctl.requests() == [{"task_id": "t-1"}]


def test_accept_reject_and_get_pass_what_was_given(crewctl: Crewctl) -> None:
    accepted = crewctl.json("submission", "accept", SUB_ID, "--override-rejection", **REVIEWED)
    assert accepted["status"] == "accepted"
    assert crewctl.requests() == [{"submission_id": SUB_ID, "override_rejection": True}]
    crewctl.json("submission", "accept", SUB_ID, "--feedback", "Nice", **REVIEWED)
    assert crewctl.requests() == [{"submission_id": SUB_ID, "feedback": "Nice"}]
    rejected = crewctl.json("submission", "reject", SUB_ID, "--feedback", "Off topic", **REVIEWED)
    assert rejected["feedback"] == "Off topic"
    assert crewctl.requests() == [{"submission_id": SUB_ID, "feedback": "Off topic"}]
    missing = crewctl.run("submission", "reject", SUB_ID)
    assert missing.exit_code == ExitCode.USAGE and "--feedback" in missing.output
    assert crewctl.requests() == []
    found = {"submission": SUBMISSION_PB}
    assert crewctl.json("submission", "get", SUB_ID, GetSubmission=found) == SUBMISSION
    text = human(crewctl, "submission", "get", SUB_ID, GetSubmission=found)
    assert "12.50 USD" in text and "auto_accept_at" in text
    assert crewctl.requests() == [{"submission_id": SUB_ID}]


def test_a_refused_review_says_what_to_do_next(crewctl: Crewctl) -> None:
    result = crewctl.run(
        "submission", "accept", SUB_ID, AcceptSubmission=refused("FAILED_PRECONDITION", "REJECTED")
    )
    assert result.exit_code == ExitCode.REFUSED
    assert "--override-rejection" in result.stderr and "REJECTED" in result.stderr
    late = crewctl.run(
        "submission", "accept", SUB_ID, "--override-rejection",
        AcceptSubmission=refused("FAILED_PRECONDITION", "REVERT_WINDOW_OVER"),
    )  # fmt: skip
    assert "stands for good" in late.stderr


def test_a_bonus_is_exact_in_minor_units_and_keyed(crewctl: Crewctl) -> None:
    out = crewctl.json(
        "submission", "bonus", SUB_ID, "12.50", "usd", "--reason", "Thorough", **REVIEWED
    )
    [sent] = crewctl.requests()
    key = sent.pop("idempotency_key")
    assert sent == {"submission_id": SUB_ID, "amount": sent_money(1250), "reason": "Thorough"}
    assert key.startswith("crewctl-") and out["bonus"]["idempotency_key"] == key
    text = human(
        crewctl, "submission", "bonus", SUB_ID, "3", "JPY", "--reason", "r", "--key", "k-7",
        **REVIEWED,
    )  # fmt: skip
    [sent] = crewctl.requests()
    assert (sent["idempotency_key"], sent["amount"]) == ("k-7", sent_money(3, "JPY"))
    assert "Idempotency key: k-7" in text and "never paid twice" in text
    for amount, currency in (
        ("0.5", "JPY"),
        ("0", "USD"),
        ("-2", "USD"),
        ("ten", "USD"),
        ("1", "US"),
    ):
        bad = crewctl.run("submission", "bonus", SUB_ID, amount, currency, "--reason", "r")
        assert bad.exit_code == ExitCode.USAGE, (amount, currency)
        assert crewctl.requests() == []
    down = crewctl.run(
        "submission", "bonus", SUB_ID, "1", "USD", "--reason", "r", "--key", "k-8",
        GrantBonus=refused("UNAVAILABLE"),
    )  # fmt: skip
    assert down.exit_code == ExitCode.UNAVAILABLE and "--key k-8" in down.stderr


def test_export_writes_every_submission_as_json_lines(crewctl: Crewctl) -> None:
    task = {"task_id": "t-1", "idempotency_key": "row-1", "payload_json": '{"n": 1}'}
    result = crewctl.run(
        "submission", "export", "--project", "p-1",
        ListSubmissions=pages(3), ListTasks={"tasks": [task]},
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [x["submission_id"] for x in lines] == ["s-1", "s-2", "s-3"]
    assert lines[0]["result"] == {"rating": 4} and lines[0]["paid"] is None  # pending
    assert "Exported 3 submissions" in result.stderr
    assert crewctl.requests("ListSubmissions") == [  # the largest pages
        {"project_id": "p-1", "page_size": 500},
        {"project_id": "p-1", "page_size": 500, "page_token": "1"},
        {"project_id": "p-1", "page_size": 500, "page_token": "2"},
    ]
    assert crewctl.requests("ListTasks") == [{"project_id": "p-1", "page_size": 500}]
