"""crewctl offers stream: the stream's changes as events, in order."""

from __future__ import annotations

import json

import pytest
from crewctl_file_data import (
    client_crewctl,
    methods,
    project,
)
from crewctl_golden.harness import Crewctl

crewctl = pytest.fixture(client_crewctl, name="crewctl")


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
