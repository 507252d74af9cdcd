"""crewctl and an unpaid exam's question: its offers (list and stream) and its claim
(get, its record) say unpaid where a paid task shows its pay, and never fail for want
of pay terms. Against the stand-in matcher, with the contractor's token."""

from __future__ import annotations

import json
from typing import Any

import pytest
from crewctl_golden.harness import Crewctl
from crewctl_task_data import CLAIM_PB, TERMS_PB, TOKEN, claim_answer, client_crewctl, human

crewctl = pytest.fixture(client_crewctl, name="crewctl")

PAID: dict[str, Any] = {
    "task_id": "t-paid",
    "title": "Derm",
    "free_slots": 2,
    "pay_terms": TERMS_PB,
}
UNPAID: dict[str, Any] = {"task_id": "t-exam", "title": "Exam", "free_slots": 1, "unpaid": True}
NO_TERMS = {k: v for k, v in CLAIM_PB.items() if k != "pay_terms"}


def as_contractor(crewctl: Crewctl) -> Crewctl:
    crewctl.env["CREWLINE_CREDENTIAL"] = TOKEN
    return crewctl


def test_the_offers_table_says_unpaid_where_a_paid_offer_shows_its_pay(crewctl: Crewctl) -> None:
    text = human(as_contractor(crewctl), "offers", "list", ListOffers={"offers": [UNPAID, PAID]})
    exam = next(line for line in text.splitlines() if "t-exam" in line)
    paid = next(line for line in text.splitlines() if "t-paid" in line)
    assert "unpaid" in exam and "USD" not in exam
    assert "30.00 USD/h" in paid and "unpaid" not in paid


def test_offers_json_holds_unpaid_and_no_pay_terms(crewctl: Crewctl) -> None:
    result = as_contractor(crewctl).run(
        "--json", "offers", "list", ListOffers={"offers": [UNPAID, PAID]}
    )
    assert result.exit_code == 0, result.stderr
    exam, paid = json.loads(result.stdout)["offers"]
    assert (exam["unpaid"], exam["pay_terms"]) == (True, None)
    assert paid["unpaid"] is False and paid["pay_terms"]["amount_minor"] == 3000


def test_the_offers_stream_says_unpaid(crewctl: Crewctl) -> None:
    text = human(
        as_contractor(crewctl),
        "offers",
        "stream",
        "--snapshot-only",
        StreamOffers=[
            {"changes": {"changes": [{"offered": UNPAID}, {"offered": PAID}]}},
            {"snapshot_end": {"offers": 2}},
        ],
    )
    lines = text.splitlines()
    assert any("task=t-exam" in line and "pay=unpaid" in line for line in lines), text
    assert any("task=t-paid" in line and "pay=30.00 USD/h" in line for line in lines), text


def test_claim_get_of_an_unpaid_claim_says_unpaid_and_earned_nothing(crewctl: Crewctl) -> None:
    answer = {
        "claim": {
            **NO_TERMS,
            "unpaid": True,
            "status": "CLAIM_STATUS_SUBMITTED",
            "review": "REVIEW_STATE_ACCEPTED",
        }
    }
    text = human(as_contractor(crewctl), "claim", "get", "c-1", GetClaim=answer)
    assert "unpaid (the work is not paid)" in text and "nothing: unpaid" in text
    assert "USD" not in text
    paid = human(crewctl, "claim", "get", "c-1", GetClaim=claim_answer())
    assert "30.00 USD per hour" in paid and "unpaid (" not in paid


def test_a_claim_without_pay_terms_that_is_not_unpaid_still_prints(crewctl: Crewctl) -> None:
    result = as_contractor(crewctl).run("claim", "get", "c-1", GetClaim={"claim": NO_TERMS})
    assert result.exit_code == 0, result.stderr
    record = json.loads(
        crewctl.run("--json", "claim", "get", "c-1", GetClaim={"claim": NO_TERMS}).stdout
    )
    assert (record["pay_terms"], record["unpaid"]) == (None, False)
