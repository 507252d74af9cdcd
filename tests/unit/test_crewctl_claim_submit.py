"""crewctl claim submit against the stand-in matcher: the result and the time worked
(--worked, or --segments, or neither), and the usage errors of bad segments."""

from __future__ import annotations

import json

import pytest
from crewctl_golden.harness import Crewctl
from crewctl_review_data import (
    AT,
    CLAIM,
    CLAIM_PB,
    TOKEN,
    USD,
    b64,
    callers,
    client_and_operator,
    human,
    write,
)
from grpc_standin import Answer

from crewline.ctl.errors import ExitCode

crewctl = pytest.fixture(client_and_operator, name="crewctl")


def test_submit_work_carries_the_result_and_the_time_worked(crewctl: Crewctl) -> None:
    crewctl.env["CREWLINE_CREDENTIAL"] = TOKEN  # a contractor's command
    answer = write(crewctl, "answer.txt", "answer")
    submitted: dict[str, Answer] = {"SubmitWork": {"claim": {}}}
    crewctl.json("claim", "submit", "c-1", "--result-file", answer, "--worked", "40m", **submitted)
    assert crewctl.requests() == [
        {"claim_id": "c-1", "result": b64(b"answer"), "worked_seconds": "2400"}
    ]
    segments = write(
        crewctl,
        "segments.json",
        json.dumps([{"started_at": AT, "ended_at": "2026-01-02T03:44:05.500Z"}]),
    )
    crewctl.json(
        "claim", "submit", "c-1", "--result-file", answer, "--segments", segments, **submitted
    )
    [sent] = crewctl.requests()
    assert "worked_seconds" not in sent  # 0: the segments say it
    assert sent["segments"] == [{"started_at": AT, "ended_at": "2026-01-02T03:44:05.500Z"}]


def test_claim_submit_sends_the_result_and_the_time_worked(crewctl: Crewctl) -> None:
    crewctl.env["CREWLINE_CREDENTIAL"] = TOKEN  # a contractor's command
    result_file = crewctl.cwd / "answer.bin"
    result_file.write_bytes(b'{"rating": 4}\xff')
    submitted: dict[str, Answer] = {"SubmitWork": {"claim": CLAIM_PB}}
    out = crewctl.json(
        "claim", "submit", "c-1", "--result-file", str(result_file), "--worked", "40m",
        **submitted,
    )  # fmt: skip
    assert out == CLAIM and out["pending"] == USD(2000) and out["review"] == "pending"
    assert crewctl.requests() == [
        {"claim_id": "c-1", "result": b64(b'{"rating": 4}\xff'), "worked_seconds": "2400"}
    ]
    assert callers(crewctl) == [("matcher", f"Bearer {TOKEN}")]  # the caller's own credential

    segments = write(
        crewctl,
        "segments.json",
        json.dumps(
            [
                {"started_at": "2026-01-02T05:00:00+02:00", "ended_at": "2026-01-02T03:30:00Z"},
                {"started_at": "2026-01-02T03:40:00.25Z", "ended_at": "2026-01-02T04:00:00Z"},
            ]
        ),
    )
    result = crewctl.run(
        "--json", "claim", "submit", "c-1", "--result-file", "-", "--segments", segments,
        input="ok", **submitted,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert crewctl.requests() == [
        {
            "claim_id": "c-1",
            "result": b64(b"ok"),
            "segments": [  # in UTC; worked_seconds 0: the segments say it
                {"started_at": "2026-01-02T03:00:00Z", "ended_at": "2026-01-02T03:30:00Z"},
                {"started_at": "2026-01-02T03:40:00.250Z", "ended_at": "2026-01-02T04:00:00Z"},
            ],
        }
    ]
    text = human(crewctl, "claim", "submit", "c-1", "--result-file", "-", **submitted)
    assert "20.00 USD" in text and "pending" in text
    # Neither --worked nor --segments: the last heartbeat's report counts.
    assert crewctl.requests() == [{"claim_id": "c-1"}]


@pytest.mark.parametrize(
    ("segments", "message"),
    [
        ("not json", "not JSON"),
        ('{"started_at": "x"}', "JSON array"),
        ('[{"started_at": "2026-01-02T03:00:00Z"}]', "segments[0].ended_at is missing"),
        (
            '[{"started_at": "2026-01-02T03:00:00Z", "ended_at": "2026-01-02T03:30:00Z"},'
            ' {"started_at": "2026-01-02T03:40:00Z", "ended_at": "2026-01-02T04:00:00"}]',
            "segments[1].ended_at",
        ),
    ],
)
def test_bad_segments_are_a_usage_error_naming_the_segment(
    crewctl: Crewctl, segments: str, message: str
) -> None:
    path = write(crewctl, "s.json", segments)
    result = crewctl.run("claim", "submit", "c-1", "--result-file", "-", "--segments", path)
    assert result.exit_code == ExitCode.USAGE and message in result.output
    assert crewctl.requests() == []


def test_worked_and_segments_together_or_a_zero_duration_are_refused(crewctl: Crewctl) -> None:
    path = write(crewctl, "s.json", "[]")
    both = crewctl.run(
        "claim", "submit", "c-1", "--result-file", "-", "--worked", "1h", "--segments", path
    )
    assert both.exit_code == ExitCode.USAGE and "not both" in both.output
    zero = crewctl.run("claim", "submit", "c-1", "--result-file", "-", "--worked", "0")
    assert zero.exit_code == ExitCode.USAGE and crewctl.requests() == []
