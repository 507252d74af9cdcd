"""crewctl's values: enum words, the status choices, durations, times with a zone, and
--all joining every page."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from crewline.ctl.claims import CLAIM_STATUSES
from crewline.ctl.pages import read_pages
from crewline.ctl.params import parse_duration, parse_instant
from crewline.ctl.pb import enum_number, enum_word, enum_words
from crewline.ctl.tasks import TASK_STATUSES
from crewline.v1 import task_service_pb2 as task_api
from crewline.v1 import work_service_pb2 as work_api


def test_enum_values_are_lower_case_words_without_their_prefix() -> None:
    status = task_api.TaskStatus.DESCRIPTOR
    assert enum_word(status, task_api.TASK_STATUS_IN_PROGRESS) == "in_progress"
    assert enum_word(status, task_api.TASK_STATUS_UNSPECIFIED) is None
    assert enum_word(status, 99) == "99"  # newer than this crewctl: shown, not dropped
    assert enum_number(status, "in-progress") == task_api.TASK_STATUS_IN_PROGRESS


def test_the_status_choices_are_the_protos_statuses() -> None:
    assert set(TASK_STATUSES) == set(enum_words(task_api.TaskStatus.DESCRIPTOR))
    assert CLAIM_STATUSES == tuple(enum_words(work_api.ClaimStatus.DESCRIPTOR))


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90", 90), ("90s", 90), ("30m", 1800), ("2h", 7200), ("1d", 86_400), ("1h30m", 5400)],
)
def test_durations_are_seconds_or_a_number_with_a_unit(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["-5", "1.5h", "2 weeks", "h", "", "367d", "90x", "²", "٣s"])
def test_negative_absurd_or_unreadable_durations_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


def test_a_duration_in_other_digits_is_refused_as_not_a_duration() -> None:
    with pytest.raises(ValueError, match="'²' is not a duration"):
        parse_duration("²")


def test_times_need_a_zone_and_keep_their_offset() -> None:
    assert parse_instant("2026-05-01T14:00:00+02:00").astimezone(UTC) == datetime(
        2026, 5, 1, 12, tzinfo=UTC
    )
    assert parse_instant("2026-05-01T12:00:00.123456789Z").microsecond == 123456
    for bad in ("2026-05-01T12:00:00", "2026-05-01", "tomorrow"):
        with pytest.raises(ValueError):
            parse_instant(bad)


def test_every_page_is_read_and_joined_with_all() -> None:
    pages = {"": (["a"], "1"), "1": (["b"], "2"), "2": (["c"], "")}

    def fetch(token: str) -> dict[str, Any]:
        items, following = pages[token]
        return {"things": items, "next_page_token": following}

    assert read_pages(fetch, "things", "", every=False) == {
        "things": ["a"],
        "next_page_token": "1",
    }
    assert read_pages(fetch, "things", "1", every=True) == {
        "things": ["b", "c"],
        "next_page_token": "",
    }
