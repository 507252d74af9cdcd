"""Earned only once work is accepted, and work awaiting review apart: in submissions, a
contractor's claims and earnings, against the stand-in servers."""

from __future__ import annotations

from crewctl_golden.harness import Crewctl
from crewctl_golden.records import (
    CLAIM_ID,
    EARNINGS,
    PENDING,
    REJECTED,
    SUBMISSION,
    SUBMITTED_CLAIM,
    usd,
)
from grpc_standin import StandIns


def test_earned_shows_only_on_accepted_work_and_pending_work_says_if_accepted(
    as_client: Crewctl,
) -> None:
    earns = usd(1250)  # the server's figure: what the work is paid when accepted

    def get(submission: dict[str, object]) -> dict[str, object]:
        return as_client.json("submission", "get", "s", GetSubmission={"submission": submission})

    rejected, pending = get({**REJECTED, "earned": earns}), get({**PENDING, "earned": earns})
    accepted = get(SUBMISSION)
    listed = {"submissions": [{**PENDING, "earned": earns}]}
    shown = as_client.run("submission", "list", "--project", "p", ListSubmissions=listed)

    paid = {"currency": "USD", "amount_minor": 1250}
    assert (rejected["earned"], rejected["pending"]) == (None, None)
    assert (pending["earned"], pending["pending"]) == (None, paid)
    assert (accepted["earned"], accepted["pending"]) == (paid, None)
    assert "12.50 USD if accepted" in shown.stdout


def test_a_contractors_rejected_claim_shows_nothing_earned(servers: StandIns) -> None:
    crewctl = Crewctl(servers, caller="contractor")
    rejected = {**SUBMITTED_CLAIM, "review": "REVIEW_STATE_REJECTED"}

    claim = crewctl.json("claim", "get", CLAIM_ID, GetClaim={"claim": rejected})
    waiting = crewctl.run("claim", "get", CLAIM_ID, GetClaim={"claim": SUBMITTED_CLAIM})

    assert (claim["earned"], claim["pending"]) == (None, None)
    assert "20.00 USD if accepted" in waiting.stdout


def test_earnings_show_work_awaiting_review_apart_from_what_was_paid(
    servers: StandIns,
) -> None:
    contractor = Crewctl(servers, caller="contractor")
    reviewed = {**SUBMITTED_CLAIM, "claim_id": "c-2", "review": "REVIEW_STATE_REJECTED"}
    claims = {"claims": [SUBMITTED_CLAIM, reviewed]}

    own = contractor.json("earnings", GetEarnings=EARNINGS, ListMyClaims=claims)
    shown = contractor.run("earnings", GetEarnings=EARNINGS, ListMyClaims=claims)
    operator = Crewctl(servers, caller="operator")
    theirs = operator.json("earnings", "--contractor", "dr-lee", GetEarnings=EARNINGS)

    assert own["pending"] == [{"currency": "USD", "amount_minor": 2000}]
    assert own["pending_submissions"] == 1 and own["total"][0]["paid"]["amount_minor"] == 1750
    assert "Awaiting review" in shown.stdout and "on 1 submission" in shown.stdout
    assert (theirs["pending"], theirs["pending_submissions"]) == (None, None)
    assert operator.requests("ListMyClaims") == []
