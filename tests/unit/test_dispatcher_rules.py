from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from crewline.errors import InvalidArgument
from dispatcher.domain import model
from dispatcher.domain.model import TaskStatus

GOOD = dict(
    request_id="req-1",
    client_id="acme",
    project_id="derm-ratings",
    slots=2,
    currency="USD",
    amount_minor=1250,
    instructions="Rate the answer.",
)


def cmd(**overrides: object) -> model.SubmitTask:
    return model.submit_task(**{**GOOD, **overrides})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ({"request_id": ""}, "request_id"),
        ({"request_id": "x" * 129}, "request_id"),
        ({"client_id": "has space"}, "client_id"),
        ({"client_id": "acme\n"}, "client_id"),
        ({"project_id": ""}, "project_id"),
        ({"slots": 0}, "slots"),
        ({"slots": 1001}, "slots"),
        ({"currency": "usd"}, "reward.currency_code"),
        ({"currency": "USD\n"}, "reward.currency_code"),
        ({"currency": ""}, "reward.currency_code"),
        ({"amount_minor": 0}, "reward.amount_minor"),
        ({"amount_minor": -5}, "reward.amount_minor"),
        ({"instructions": "x" * 20_001}, "instructions"),
        ({"instructions": "rate\x00this"}, "instructions"),
    ],
)
def test_bad_task_request_names_the_field(override: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        cmd(**override)
    assert err.value.field == field
    assert str(err.value).startswith(f"{field}: ")


def test_same_request_has_same_fingerprint_and_any_change_alters_it() -> None:
    base = cmd().fingerprint()
    assert cmd().fingerprint() == base
    for change in ({"slots": 3}, {"amount_minor": 1251}, {"instructions": "other"}):
        assert cmd(**change).fingerprint() != base


def test_request_id_reused_for_a_different_task_is_refused() -> None:
    original = cmd()
    model.check_same_request(original.fingerprint(), cmd())  # same request: fine
    with pytest.raises(InvalidArgument) as err:
        model.check_same_request(original.fingerprint(), cmd(slots=5))
    assert err.value.field == "request_id"


def test_task_completes_when_every_slot_has_accepted_work() -> None:
    task = model.Task.publish(cmd(slots=2), task_id=uuid.uuid4(), now=datetime.now(UTC))
    once = task.accept_one()
    assert (once.accepted_count, once.status) == (1, TaskStatus.OPEN)
    twice = once.accept_one()
    assert (twice.accepted_count, twice.status) == (2, TaskStatus.COMPLETED)
    with pytest.raises(ValueError, match="more accepted work than slots"):
        twice.accept_one()
