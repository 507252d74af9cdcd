"""crewctl submission review: a decisions file read line by line (each malformed line
says what is wrong; amounts are exact; a bonus's key derives from it) and applied in
order against the stand-in dispatcher, the refused lines listed and the rest applied."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from crewctl_golden.harness import Crewctl
from crewctl_golden.records import SUBMISSION
from crewctl_review_data import (
    KEY,
    REVIEWED,
    SUB_ID,
    USD,
    callers,
    calls,
    client_and_operator,
    human,
    refused,
    sent_money,
    write,
)

from crewline.ctl.decisions import bonus_key, parse_decision
from crewline.ctl.errors import ExitCode

crewctl = pytest.fixture(client_and_operator, name="crewctl")


# --- reading a decision ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("not json", "not JSON"),
        ("[1]", "expected a JSON object"),
        ('{"decision": "accept"}', '"submission_id" is required'),
        (f'{{"submission_id": "{SUB_ID}", "decision": "maybe"}}', '"decision" must be one of'),
        (f'{{"submission_id": "{SUB_ID}", "decision": "reject"}}', '"feedback" is required'),
        (
            f'{{"submission_id": "{SUB_ID}", "decision": "bonus",'
            ' "bonus": {"currency": "USD", "reason": "r"}}',
            '"bonus.amount" is required',
        ),
        (
            f'{{"submission_id": "{SUB_ID}", "decision": "bonus",'
            ' "bonus": {"amount": "0.005", "currency": "USD", "reason": "r"}}',
            "more than 2 decimals",
        ),
        (
            f'{{"submission_id": "{SUB_ID}", "decision": "bonus",'
            ' "bonus": {"amount": "-1", "currency": "USD", "reason": "r"}}',
            "greater than zero",
        ),
        (
            f'{{"submission_id": "{SUB_ID}", "decision": "accept", "override_rejection": 1}}',
            "true or false",
        ),
    ],
)
def test_a_malformed_decision_says_what_is_wrong(line: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_decision(1, line)


def test_decision_amounts_are_exact_and_keys_derived_from_the_bonus() -> None:
    float_amount = parse_decision(
        1,
        f'{{"submission_id": "{SUB_ID}", "decision": "bonus",'
        ' "bonus": {"amount": 0.1, "currency": "usd", "reason": "tidy"}}',
    ).bonus
    assert float_amount is not None
    assert float_amount.amount == USD(10)  # 0.1, not 0.1000000000000000055...
    assert float_amount.key == bonus_key(SUB_ID, USD(10), "tidy")
    assert float_amount.key != bonus_key(SUB_ID, USD(11), "tidy")
    assert float_amount.key.startswith("review-") and len(float_amount.key) <= 128
    given = parse_decision(
        2,
        f'{{"submission_id": "{SUB_ID}", "decision": "bonus",'
        ' "bonus": {"amount": "3", "currency": "JPY", "reason": "r", "key": "mine"}}',
    ).bonus
    assert given is not None
    assert (given.amount, given.key) == ({"currency": "JPY", "amount_minor": 3}, "mine")


@pytest.mark.parametrize(
    ("bonus", "message"),
    [
        ("5", '"bonus" must be an object'),
        ({"amount": "5", "currency": "USD"}, '"bonus.reason" is required'),
        ({"amount": 5.555, "currency": "USD", "reason": "x"}, "bonus.amount"),
        ({"currency": "USD", "reason": "x"}, '"bonus.amount" is required'),
    ],
)
def test_a_malformed_bonus_in_an_accept_names_its_field(bonus: Any, message: str) -> None:
    line = json.dumps({"submission_id": "s", "decision": "accept", "bonus": bonus})
    with pytest.raises(ValueError, match=re.escape(message)):
        parse_decision(1, line)


# --- applying a decisions file --------------------------------------------------------


def decisions(*lines: dict[str, Any]) -> str:
    return "".join(json.dumps(line) + "\n" for line in lines)


DECISIONS = decisions(
    {"submission_id": "s-1", "decision": "accept", "feedback": "Great"},
    {"submission_id": "s-2", "decision": "reject", "feedback": "Off topic"},
    {
        "submission_id": "s-3",
        "decision": "bonus",
        "bonus": {"amount": "5.00", "currency": "USD", "reason": "Tidy"},
    },
    {"submission_id": "s-4", "decision": "accept", "override_rejection": True},
)


def test_a_decisions_file_is_applied_in_order_and_a_rerun_sends_the_same(
    crewctl: Crewctl,
) -> None:
    path = write(crewctl, "decisions.jsonl", DECISIONS + "\n")
    summary = crewctl.json("submission", "review", "--decisions", path, **REVIEWED)
    results = summary.pop("results")
    assert summary == {"decisions": 4, "accepted": 2, "rejected": 1, "bonuses": 1, "failed": []}
    assert [(r["line"], r["decision"], r["outcome"]) for r in results] == [
        (1, "accept", "applied"),
        (2, "reject", "applied"),
        (3, "bonus", "applied"),
        (4, "accept", "applied"),
    ]
    first = calls(crewctl)
    assert [method for method, _ in first] == [
        "AcceptSubmission",
        "RejectSubmission",
        "GrantBonus",
        "AcceptSubmission",
    ]
    assert first[2][1]["amount"] == sent_money(500)
    assert first[3][1] == {"submission_id": "s-4", "override_rejection": True}
    assert set(callers(crewctl)) == {("dispatcher", f"Bearer {KEY}")}
    crewctl.json("submission", "review", "--decisions", path, **REVIEWED)
    assert calls(crewctl) == first  # the same requests, the bonus with the same key
    text = human(crewctl, "submission", "review", "--decisions", "-")  # stdin, empty
    assert "decisions" in text and crewctl.requests() == []


def test_an_accept_with_a_bonus_grants_both_and_reports_the_line(crewctl: Crewctl) -> None:
    bonus = {"amount": "2.50", "currency": "usd", "reason": "Fast"}
    path = write(
        crewctl,
        "d.jsonl",
        decisions(
            {"submission_id": "s-1", "decision": "accept", "feedback": "Ok", "bonus": bonus},
            {"submission_id": "s-2", "decision": "reject", "feedback": "No"},
        ),
    )
    result = crewctl.run(
        "--json", "submission", "review", "--file", path,
        **{**REVIEWED, "RejectSubmission": refused("FAILED_PRECONDITION", "ALREADY_ACCEPTED")},
    )  # fmt: skip

    assert result.exit_code == ExitCode.REFUSED
    summary = json.loads(result.stdout)
    sent = calls(crewctl)
    assert [method for method, _ in sent] == ["AcceptSubmission", "GrantBonus", "RejectSubmission"]
    assert sent[1][1] == {
        "submission_id": "s-1",
        "idempotency_key": bonus_key("s-1", USD(250), "Fast"),
        "amount": sent_money(250),
        "reason": "Fast",
    }
    first, second = summary["results"]
    assert (first["decision"], first["outcome"], first["error"]) == (
        "accept+bonus",
        "applied",
        None,
    )
    assert (second["decision"], second["outcome"]) == ("reject", "failed")
    assert "ALREADY_ACCEPTED" in second["error"]
    assert (summary["accepted"], summary["bonuses"], summary["rejected"]) == (1, 1, 0)


def test_a_malformed_decisions_file_applies_nothing(crewctl: Crewctl) -> None:
    bad = (
        DECISIONS
        + '{"submission_id": "s-5", "decision": "bonus", "bonus": {"amount": "1"}}\nnope\n'
    )
    result = crewctl.run("submission", "review", "--decisions", write(crewctl, "d.jsonl", bad))
    assert result.exit_code == ExitCode.USAGE
    assert "line 5" in result.stderr and "line 6" in result.stderr
    assert "nothing was applied" in result.stderr and crewctl.requests() == []


def test_refused_decisions_are_listed_and_the_rest_applied(crewctl: Crewctl) -> None:
    path = write(crewctl, "d.jsonl", DECISIONS)
    result = crewctl.run(
        "--json", "submission", "review", "--decisions", path,
        **{**REVIEWED, "RejectSubmission": refused("FAILED_PRECONDITION", "ALREADY_ACCEPTED")},
    )  # fmt: skip
    assert result.exit_code == ExitCode.REFUSED
    summary = json.loads(result.stdout)
    assert (summary["accepted"], summary["rejected"], summary["bonuses"]) == (2, 0, 1)
    (failed,) = summary["failed"]
    assert (failed["line"], failed["submission_id"], failed["decision"]) == (2, "s-2", "reject")
    assert "ALREADY_ACCEPTED" in failed["error"]
    assert [request["submission_id"] for request in crewctl.requests()] == [
        "s-1",
        "s-2",
        "s-3",
        "s-4",
    ]


def test_a_decisions_run_stops_when_the_stack_is_away(crewctl: Crewctl) -> None:
    result = crewctl.run(
        "submission", "review", "--decisions", write(crewctl, "d", DECISIONS),
        **{**REVIEWED, "RejectSubmission": refused("UNAVAILABLE")},
    )  # fmt: skip
    assert result.exit_code == ExitCode.UNAVAILABLE
    assert "Stopped at line 2 after 1 decisions" in result.stderr
    sent = calls(crewctl)
    assert sent[0] == ("AcceptSubmission", {"submission_id": "s-1", "feedback": "Great"})
    # The refused line may be sent again by the SDK's retries, and no line after it.
    assert {(method, r["submission_id"]) for method, r in sent[1:]} == {("RejectSubmission", "s-2")}


# --- the one documented shape of a bonus ----------------------------------------------


def test_a_bonus_decision_in_the_documented_shape_grants_the_bonus(
    as_client: Crewctl, tmp_path: Path
) -> None:
    line = {
        "submission_id": "s-1",
        "decision": "bonus",
        "bonus": {"amount": "1.00", "currency": "USD", "reason": "Fast", "key": "k-1"},
    }
    (tmp_path / "d.jsonl").write_text(json.dumps(line) + "\n")
    granted = {"bonus": {**SUBMISSION["bonuses"][0], "idempotency_key": "k-1"}}

    summary = as_client.json(
        "submission",
        "review",
        "--file",
        "d.jsonl",
        GrantBonus={**granted, "submission": SUBMISSION},
    )

    assert summary["bonuses"] == 1 and summary["results"][0]["decision"] == "bonus"
    [sent] = as_client.requests("GrantBonus")
    assert sent["amount"] == {"currency_code": "USD", "amount_minor": "100"}
    assert sent["idempotency_key"] == "k-1"


def test_bonus_fields_beside_the_decision_are_refused_saying_where_they_go(
    as_client: Crewctl, tmp_path: Path
) -> None:
    line = {"submission_id": "s", "decision": "bonus", "amount": "1", "currency": "USD"}
    (tmp_path / "d.jsonl").write_text(json.dumps(line) + "\n")

    result = as_client.run("submission", "review", "--file", "d.jsonl")

    assert result.exit_code == ExitCode.USAGE
    assert '"amount" belongs under "bonus"' in result.stderr
    assert as_client.requests() == []
