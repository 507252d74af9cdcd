from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from crewline.errors import InvalidArgument
from crewline.money import Money
from crewline.pay_terms import Basis, PayTerms
from dispatcher.domain import model
from dispatcher.domain.model import TaskStatus
from dispatcher.domain.projects import Project

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
PROJECT = Project(
    project_id=str(uuid.uuid4()),
    client_id="acme",
    title="Dermatology ratings",
    instructions="Rate the answer.",
    requirements=(),
    pay_terms=PayTerms(basis=Basis.PER_SUBMISSION, rate=Money("USD", 1250), version=1),
    assignments_per_task=3,
    claim_timeout_seconds=3600,
    task_lifetime_seconds=86_400,
    auto_accept_delay_seconds=3600,
    priority=40,
    max_claims_per_contractor=0,
    revision=1,
    created_at=NOW,
    updated_at=NOW,
)
GOOD = dict(
    idempotency_key="case-1",
    payload_json='{"case": 1}',
    payload_bytes=None,
    slots=0,
    priority=None,
    lifetime_seconds=0,
    field="task",
)


def spec(**overrides: object) -> model.TaskSpec:
    return model.task_spec(**{**GOOD, **overrides})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ({"idempotency_key": ""}, "task.idempotency_key"),
        ({"idempotency_key": "x" * 129}, "task.idempotency_key"),
        ({"idempotency_key": "has space"}, "task.idempotency_key"),
        ({"payload_json": None}, "task.payload"),
        ({"payload_json": ""}, "task.payload_json"),
        ({"payload_json": "{not json"}, "task.payload_json"),
        ({"payload_json": "[" * 100_000}, "task.payload_json"),
        ({"payload_json": "[" * 30_000 + "]" * 30_000}, "task.payload_json"),
        ({"payload_json": '"' + "é" * 32_768 + '"'}, "task.payload_json"),
        ({"payload_json": None, "payload_bytes": b""}, "task.payload_bytes"),
        ({"payload_json": None, "payload_bytes": b"x" * 65_537}, "task.payload_bytes"),
        ({"slots": -1}, "task.slots"),
        ({"slots": 1001}, "task.slots"),
        ({"priority": -1}, "task.priority"),
        ({"priority": 101}, "task.priority"),
        ({"lifetime_seconds": 59}, "task.lifetime_seconds"),
        ({"lifetime_seconds": 365 * 86_400 + 1}, "task.lifetime_seconds"),
    ],
)
def test_bad_task_names_its_field(override: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        spec(**override)
    assert err.value.field == field
    assert str(err.value).startswith(f"{field}: ")


def test_payloads_up_to_64_kib_are_taken() -> None:
    spec(payload_json='"' + "x" * (65_536 - 2) + '"')
    spec(payload_json=None, payload_bytes=b"\x00" * 65_536)


def test_task_takes_the_projects_defaults_unless_it_sets_its_own() -> None:
    task = model.Task.publish(spec(), project=PROJECT, task_id=uuid.uuid4(), now=NOW)
    assert (task.slots, task.priority, task.expires_at) == (3, 40, NOW + timedelta(days=1))
    assert (task.client_id, task.project_id) == (PROJECT.client_id, PROJECT.project_id)
    own = spec(slots=1, priority=0, lifetime_seconds=600)
    task = model.Task.publish(own, project=PROJECT, task_id=uuid.uuid4(), now=NOW)
    assert (task.slots, task.priority, task.expires_at) == (1, 0, NOW + timedelta(minutes=10))
    assert task.updated_at == task.created_at == NOW


def test_same_task_has_same_fingerprint_and_any_change_alters_it() -> None:
    base = spec().fingerprint("p")
    assert spec().fingerprint("p") == base
    assert spec().fingerprint("other-project") != base
    for change in (
        {"slots": 2},
        {"priority": 0},
        {"lifetime_seconds": 600},
        {"payload_json": '{"case": 2}'},
        {"payload_json": None, "payload_bytes": b'{"case": 1}'},
    ):
        assert spec(**change).fingerprint("p") != base, change


def batch(*specs: model.TaskSpec) -> model.SubmitTasks:
    return model.submit_tasks(client_id="acme", project_id=PROJECT.project_id, tasks=specs)


def test_batch_holds_1_to_1000_tasks() -> None:
    for size in (0, 1001):
        with pytest.raises(InvalidArgument) as err:
            batch(*(spec(idempotency_key=f"k{i}") for i in range(size)))
        assert err.value.field == "tasks"
    assert len(batch(*(spec(idempotency_key=f"k{i}") for i in range(1000))).tasks) == 1000


def test_a_key_repeated_in_a_batch_is_one_task_unless_the_tasks_differ() -> None:
    one = spec(idempotency_key="a")
    cmd = batch(one, spec(idempotency_key="b"), one)
    assert list(cmd.distinct()) == ["a", "b"]
    with pytest.raises(InvalidArgument) as err:
        batch(one, spec(idempotency_key="b"), spec(idempotency_key="a", slots=2))
    assert err.value.field == "tasks[2].idempotency_key"


def test_project_id_of_a_batch_must_be_a_project_id() -> None:
    with pytest.raises(InvalidArgument) as err:
        model.submit_tasks(client_id="acme", project_id="derm", tasks=[spec()])
    assert err.value.field == "project_id"


def test_answer_returns_earlier_tasks_and_refuses_a_key_reused_for_another_task() -> None:
    a, b = spec(idempotency_key="a"), spec(idempotency_key="b")
    cmd = batch(a, b, a)
    planned = {
        k: model.Task.publish(s, project=PROJECT, task_id=uuid.uuid4(), now=NOW)
        for k, s in cmd.distinct().items()
    }
    earlier_b = model.Task.publish(b, project=PROJECT, task_id=uuid.uuid4(), now=NOW)
    same = {"b": (earlier_b, b.fingerprint(PROJECT.project_id))}
    assert cmd.answer(planned, same) == [planned["a"], earlier_b, planned["a"]]
    different = {"b": (earlier_b, spec(idempotency_key="b", slots=9).fingerprint("x"))}
    with pytest.raises(InvalidArgument) as err:
        cmd.answer(planned, different)
    assert err.value.field == "tasks[1].idempotency_key"


def test_task_completes_when_every_slot_has_accepted_work() -> None:
    task = model.Task.publish(spec(slots=2), project=PROJECT, task_id=uuid.uuid4(), now=NOW)
    later = NOW + timedelta(hours=1)
    once = task.accept_one(now=later)
    assert (once.accepted_count, once.status, once.updated_at) == (1, TaskStatus.OPEN, later)
    twice = once.accept_one(now=later)
    assert (twice.accepted_count, twice.status) == (2, TaskStatus.COMPLETED)
    with pytest.raises(ValueError, match="more accepted work than slots"):
        twice.accept_one(now=later)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"page_size": 501}, "page_size"),
        ({"page_size": -1}, "page_size"),
        ({"page_token": "not-a-token"}, "page_token"),
        ({"project_id": "a b"}, "project_id"),
    ],
)
def test_bad_task_listing_names_its_field(changes: dict[str, object], field: str) -> None:
    args: dict[str, object] = {"client_id": "acme", "page_size": 0, "page_token": ""}
    with pytest.raises(InvalidArgument) as err:
        model.list_tasks(**{**args, **changes})  # type: ignore[arg-type]
    assert err.value.field == field


def test_task_listing_defaults_to_100_and_resumes_from_a_tasks_cursor() -> None:
    task = model.Task.publish(spec(), project=PROJECT, task_id=uuid.uuid4(), now=NOW)
    query = model.list_tasks(client_id="acme", page_size=0, page_token=task.cursor.token())
    assert query.page_size == 100
    assert (query.after, query.after_task_id) == (task.cursor, task.task_id)
