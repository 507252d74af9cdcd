"""The SDK's time flags: a submission carries its ReviewFlags typed (kind, evidence and the
numbers behind them), says so in one line, and the submission lists ask for flagged work
only when told to."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from grpc_standin import StandIns

from crewline.client import Endpoints, FlagKind, ReviewFlag, Submission, sync
from crewline.v1 import events_pb2
from crewline.v1 import task_service_pb2 as task_api

EVIDENCE = (
    "worked 60 s; the project's last 20 timed submissions took a median of 600 s"
    " (median absolute deviation 60 s); z = 0.6745 x (60 - 600) / 60 = -6.07, at or below -3"
)
FAST = {
    "kind": "FLAG_KIND_FAST",
    "evidence": EVIDENCE,
    "worked_seconds": "60",
    "median_seconds": 600.0,
    "mad_seconds": 60.0,
    "scale_seconds": 60.0,
    "z_score": -6.07,
    "sample_size": 20,
}
OVERLAP = {
    "kind": "FLAG_KIND_IMPLAUSIBLE_TIME",
    "evidence": "tracked 3600 s, of which 900 s also on 2 other hourly claims",
    "worked_seconds": "3600",
    "overlap_seconds": "900",
    "overlapping_claims": 2,
}


def test_a_fast_flag_reads_its_kind_evidence_and_numbers() -> None:
    message = events_pb2.ReviewFlag(
        kind=events_pb2.FLAG_KIND_FAST,
        evidence=EVIDENCE,
        worked_seconds=60,
        median_seconds=600,
        mad_seconds=0,
        scale_seconds=60,
        z_score=-6.07,
        sample_size=20,
    )
    flag = ReviewFlag.from_pb(message)
    assert flag.kind is FlagKind.FAST and flag.kind.to_pb() == events_pb2.FLAG_KIND_FAST
    assert (flag.median_seconds, flag.mad_seconds, flag.scale_seconds) == (600, 0, 60)
    assert (flag.z_score, flag.sample_size, flag.worked_seconds) == (-6.07, 20, 60)
    assert (flag.overlap_seconds, flag.overlapping_claims) == (0, 0)
    assert flag.raw is message
    assert str(flag) == f"FAST: {EVIDENCE}"
    assert repr(flag).startswith("ReviewFlag(kind=FAST, worked_seconds=60, evidence=")
    assert len(repr(flag)) < 120  # the evidence cut short


def test_a_kind_newer_than_the_sdk_is_none_and_keeps_its_evidence() -> None:
    flag = ReviewFlag.from_pb(events_pb2.ReviewFlag(kind=99, evidence="something new"))
    assert flag.kind is None and flag.raw.kind == 99
    assert str(flag) == "UNKNOWN: something new"


def test_a_submission_carries_its_flags_in_order_and_says_it_is_flagged() -> None:
    message = task_api.Submission(
        submission_id="s-1",
        task_id="t-1",
        contractor_id="dr-lee",
        status=task_api.SUBMISSION_STATUS_PENDING_REVIEW,
        flags=[
            events_pb2.ReviewFlag(kind=events_pb2.FLAG_KIND_FAST, evidence="fast"),
            events_pb2.ReviewFlag(kind=events_pb2.FLAG_KIND_IMPLAUSIBLE_TIME, evidence="twice"),
        ],
    )
    flagged = Submission.from_pb(message)
    assert [f.kind for f in flagged.flags] == [FlagKind.FAST, FlagKind.IMPLAUSIBLE_TIME]
    assert [f.evidence for f in flagged.flags] == ["fast", "twice"]
    assert str(flagged) == (
        "submission s-1 on t-1 by dr-lee: PENDING_REVIEW, flagged FAST and IMPLAUSIBLE_TIME"
    )
    plain = Submission.from_pb(task_api.Submission(submission_id="s-2"))
    assert plain.flags == () and "flagged" not in str(plain)


@pytest.fixture
def client(servers: StandIns) -> Iterator[Any]:
    endpoints = Endpoints(dispatcher=servers.address("dispatcher"))
    with sync.Client(credential="crwk_k1_secret", endpoints=endpoints) as found:
        yield found


def test_a_page_of_flagged_work_is_asked_for_and_read_typed(
    servers: StandIns, client: sync.Client
) -> None:
    servers.play(
        {
            "ListSubmissions": [
                {"submissions": [{"submission_id": "s-1", "flags": [FAST, OVERLAP]}]},
                {"submissions": [{"submission_id": "s-2"}]},
            ]
        }
    )
    page = client.list_submissions_page(project_id="p-1", flagged_only=True)
    client.list_submissions_page(project_id="p-1")
    flagged, every = (received.request for received in servers.received)
    assert flagged == {"project_id": "p-1", "flagged_only": True}
    assert "flagged_only" not in every  # false is the default: all work
    fast, overlap = page.items[0].flags
    assert fast.kind is FlagKind.FAST and fast.z_score == -6.07 and fast.sample_size == 20
    assert overlap.kind is FlagKind.IMPLAUSIBLE_TIME
    assert (overlap.overlap_seconds, overlap.overlapping_claims) == (900, 2)


def test_every_page_of_the_iterator_asks_for_flagged_work_only(
    servers: StandIns, client: sync.Client
) -> None:
    servers.play(
        {
            "ListSubmissions": [
                {
                    "submissions": [{"submission_id": "s-1", "flags": [FAST]}],
                    "next_page_token": "p2",
                },
                {"submissions": [{"submission_id": "s-3", "flags": [OVERLAP]}]},
            ]
        }
    )
    found = list(client.submissions(task_id="t-1", flagged_only=True, page_size=1))
    assert [s.submission_id for s in found] == ["s-1", "s-3"]
    sent = [received.request for received in servers.received]
    assert [r.get("flagged_only") for r in sent] == [True, True]
    assert [r.get("page_token") for r in sent] == [None, "p2"]
