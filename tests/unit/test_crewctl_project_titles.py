"""crewctl names projects by their titles where the contractor's claims carry them:
in earnings (read from the same claims as the work awaiting review) and in claim views,
against the stand-in servers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from click.testing import CliRunner
from crewctl_golden.harness import Crewctl
from crewctl_golden.records import CLAIM, EARNINGS, PROJECT_ID, SUBMITTED_CLAIM
from grpc_standin import StandIns

from crewline.ctl.main import cli

RADIOLOGY = "9b2d7e41-0c3a-4f58-8e6d-2a1b3c4d5e6f"
UNCLAIMED = "1d0e5c7b-3a2f-4b19-9c8d-7e6f5a4b3c2d"  # paid, but no claim of theirs names it
PAID_IN_THREE = {
    **EARNINGS,
    "by_project": [
        {**EARNINGS["by_project"][0], "key": key} for key in (PROJECT_ID, RADIOLOGY, UNCLAIMED)
    ],
}
ACCEPTED = {**SUBMITTED_CLAIM, "review": "REVIEW_STATE_ACCEPTED"}
TWO_PAGES = [
    {"claims": [{**ACCEPTED, "claim_id": "c-1"}], "next_page_token": "p2"},
    {
        "claims": [
            {
                **ACCEPTED,
                "claim_id": "c-2",
                "project_id": RADIOLOGY,
                "project_title": "Chest X-rays",
            }
        ]
    },
]


@pytest.fixture(scope="module")
def servers() -> Iterator[StandIns]:
    with StandIns() as started:
        yield started


def test_earnings_name_each_project_from_the_contractors_claims_on_every_page(
    servers: StandIns,
) -> None:
    contractor = Crewctl(servers, caller="contractor")

    own = contractor.json("earnings", GetEarnings=PAID_IN_THREE, ListMyClaims=TWO_PAGES)
    read = contractor.requests("ListMyClaims")
    shown = contractor.run("earnings", GetEarnings=PAID_IN_THREE, ListMyClaims=TWO_PAGES)

    titles = [(line["key"], line["title"]) for line in own["by_project"]]
    assert titles == [
        (PROJECT_ID, "Dermatology ratings"),
        (RADIOLOGY, "Chest X-rays"),
        (UNCLAIMED, None),
    ]
    assert [r.get("page_token", "") for r in read] == ["", "p2"]
    assert all(r["status"] == "CLAIM_STATUS_SUBMITTED" and r["page_size"] == 100 for r in read)
    assert "Dermatology ratings" in shown.stdout and "Chest X-rays" in shown.stdout
    assert all("title" not in line for line in own["by_week"] + own["total"])


def test_an_operators_view_of_earnings_leaves_titles_null_and_says_why(
    servers: StandIns,
) -> None:
    operator = Crewctl(servers, caller="operator")

    theirs = operator.json("earnings", "--contractor", "dr-lee", GetEarnings=PAID_IN_THREE)
    help_text = CliRunner().invoke(cli, ["earnings", "--help"], prog_name="crewctl").output

    assert [line["title"] for line in theirs["by_project"]] == [None, None, None]
    assert operator.requests("ListMyClaims") == []
    assert "title null" in " ".join(help_text.split())


def test_claim_views_show_the_projects_title(servers: StandIns) -> None:
    contractor = Crewctl(servers, caller="contractor")

    got = contractor.json("claim", "get", "c-1", GetClaim={"claim": CLAIM})
    listed = contractor.run("claim", "list", ListMyClaims={"claims": [CLAIM]})

    assert got["project_title"] == "Dermatology ratings"
    assert "Dermatology ratings" in listed.stdout
