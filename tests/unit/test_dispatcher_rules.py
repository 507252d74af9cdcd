from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from crewline import paging
from crewline.errors import FailedPrecondition, InvalidArgument
from crewline.money import Money
from crewline.paging import PageCursor
from crewline.pay_terms import Basis, PayTerms
from crewline.settings import SettingsError
from crewline.v1 import task_service_pb2
from dispatcher.adapters import lifecycle_pb
from dispatcher.adapters import protobuf as dispatcher_pb
from dispatcher.domain import bonuses, lifecycle, model, review
from dispatcher.domain.projects import Project
from dispatcher.domain.tasks import Lifecycle, Task, TaskStatus
from dispatcher.settings import DispatcherSettings

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
    task = Task.publish(spec(), project=PROJECT, task_id=uuid.uuid4(), now=NOW)
    assert (task.slots, task.priority, task.expires_at) == (3, 40, NOW + timedelta(days=1))
    assert (task.client_id, task.project_id) == (PROJECT.client_id, PROJECT.project_id)
    own = spec(slots=1, priority=0, lifetime_seconds=600)
    task = Task.publish(own, project=PROJECT, task_id=uuid.uuid4(), now=NOW)
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
        k: Task.publish(s, project=PROJECT, task_id=uuid.uuid4(), now=NOW)
        for k, s in cmd.distinct().items()
    }
    earlier_b = Task.publish(b, project=PROJECT, task_id=uuid.uuid4(), now=NOW)
    same = {"b": (earlier_b, b.fingerprint(PROJECT.project_id))}
    assert cmd.answer(planned, same) == [planned["a"], earlier_b, planned["a"]]
    different = {"b": (earlier_b, spec(idempotency_key="b", slots=9).fingerprint("x"))}
    with pytest.raises(InvalidArgument) as err:
        cmd.answer(planned, different)
    assert err.value.field == "tasks[1].idempotency_key"


def test_task_completes_when_every_slot_has_accepted_work() -> None:
    task = Task.publish(spec(slots=2), project=PROJECT, task_id=uuid.uuid4(), now=NOW)
    later = NOW + timedelta(hours=1)
    once = task.accept_one(now=later)
    assert (once.accepted_count, once.status, once.updated_at) == (1, TaskStatus.OPEN, later)
    twice = once.accept_one(now=later)
    assert (twice.accepted_count, twice.status) == (2, TaskStatus.COMPLETED)
    with pytest.raises(ValueError, match="more reviewed work than slots"):
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
    task = Task.publish(spec(), project=PROJECT, task_id=uuid.uuid4(), now=NOW)
    query = model.list_tasks(client_id="acme", page_size=0, page_token=task.cursor.token())
    assert query.page_size == 100
    assert (query.after, query.after_task_id) == (task.cursor, task.task_id)


# --- a task's life -----------------------------------------------------------------------


def task(slots: int = 2) -> Task:
    return Task.publish(spec(slots=slots), project=PROJECT, task_id=uuid.uuid4(), now=NOW)


LATER = NOW + timedelta(minutes=5)


def test_claims_and_work_move_the_status_and_every_change_is_a_revision() -> None:
    t = task(slots=2)
    one = t.claim_granted(now=LATER)
    assert (one.status, one.live_claims, one.claimed_count) == (TaskStatus.OPEN, 1, 1)
    assert (one.revision, one.updated_at) == (2, LATER)
    two = one.claim_granted(now=LATER)
    assert two.status is TaskStatus.IN_PROGRESS
    freed = two.claim_ended(now=LATER)
    assert (freed.status, freed.live_claims) == (TaskStatus.OPEN, 1)
    work = freed.work_submitted(was_live=True, now=LATER)
    assert (work.status, work.live_claims, work.submitted_count) == (TaskStatus.OPEN, 0, 1)
    # A claim granted before live claims were counted: its work counts, no live claim less.
    old = work.work_submitted(was_live=False, now=LATER)
    assert (old.status, old.live_claims, old.submitted_count) == (TaskStatus.IN_PROGRESS, 0, 2)
    done = old.accept_one(now=LATER).accept_one(now=LATER)
    assert done.status is TaskStatus.COMPLETED
    assert done.revision == 8


def test_a_lifetime_ending_expires_a_task_with_a_free_slot() -> None:
    t = task(slots=2).claim_granted(now=NOW)
    over = t.lifetime_ended(now=LATER)
    assert (over.status, over.lifecycle, over.lifetime_over) == (
        TaskStatus.EXPIRED,
        Lifecycle.EXPIRED,
        True,
    )
    assert over.lifetime_ended(now=LATER) is over
    full = t.claim_granted(now=NOW).lifetime_ended(now=LATER)
    assert (full.status, full.lifecycle) == (TaskStatus.IN_PROGRESS, Lifecycle.EXPIRED)
    assert full.claim_ended(now=LATER).status is TaskStatus.EXPIRED  # the slot is not refilled
    cancelled = t.cancel(reason="", now=NOW)
    assert cancelled.lifetime_ended(now=LATER) is cancelled


def test_cancel_is_terminal_a_repeat_is_the_same_task_and_completed_work_cannot_be() -> None:
    t = task(slots=1)
    cancelled = t.cancel(reason="oops", now=LATER)
    assert (cancelled.status, cancelled.cancelled_at, cancelled.lifecycle) == (
        TaskStatus.CANCELLED,
        LATER,
        Lifecycle.CANCELLED,
    )
    assert cancelled.cancel(reason="again", now=LATER) is cancelled
    # Work already under way may still arrive and be accepted: it stays cancelled.
    late = cancelled.work_submitted(was_live=True, now=LATER).accept_one(now=LATER)
    assert late.status is TaskStatus.CANCELLED
    assert t.lifetime_ended(now=LATER).cancel(reason="", now=LATER).status is TaskStatus.CANCELLED
    done = t.claim_granted(now=NOW).work_submitted(was_live=True, now=NOW).accept_one(now=NOW)
    with pytest.raises(FailedPrecondition) as err:
        done.cancel(reason="", now=LATER)
    assert (err.value.reason, err.value.metadata["status"]) == ("TASK_FINISHED", "completed")


def test_slots_are_added_to_a_live_task_up_to_1000() -> None:
    t = task(slots=1).claim_granted(now=NOW)
    assert t.status is TaskStatus.IN_PROGRESS
    more = t.add_slots(2, now=LATER)
    assert (more.slots, more.status) == (3, TaskStatus.OPEN)
    assert more.pool_changes_from(t) and more.shows_change_from(t)
    with pytest.raises(InvalidArgument) as err:
        more.add_slots(998, now=LATER)
    assert err.value.field == "slots"
    assert more.add_slots(997, now=LATER).slots == 1000
    for finished in (t.cancel(reason="", now=NOW), task().lifetime_ended(now=NOW)):
        with pytest.raises(FailedPrecondition) as failed:
            finished.add_slots(1, now=LATER)
        assert failed.value.reason == "TASK_FINISHED"


def test_a_new_lifetime_is_checked_and_revives_an_expired_task() -> None:
    t = task()
    expired = t.lifetime_ended(now=NOW + timedelta(days=1))
    now = NOW + timedelta(days=2)
    revived = expired.relive(now + timedelta(hours=1), now=now, min_seconds=60)
    assert (revived.status, revived.lifetime_over, revived.lifecycle) == (
        TaskStatus.OPEN,
        False,
        Lifecycle.LIVE,
    )
    assert revived.pool_changes_from(expired)
    assert revived.relive(revived.expires_at, now=now, min_seconds=60) is revived
    for at in (now, now + timedelta(seconds=59), NOW + timedelta(days=365, seconds=1)):
        with pytest.raises(InvalidArgument) as err:
            t.relive(at, now=now, min_seconds=60)
        assert err.value.field == "expires_at"
    assert t.relive(now + timedelta(seconds=1), now=now, min_seconds=1).status is TaskStatus.OPEN
    assert t.relive(NOW + timedelta(days=365), now=now, min_seconds=60).revision == 2
    with pytest.raises(FailedPrecondition) as failed:
        t.cancel(reason="", now=NOW).relive(now + timedelta(hours=1), now=now, min_seconds=60)
    assert failed.value.reason == "TASK_FINISHED"


def test_only_status_slots_and_lifetime_are_news_to_a_watcher_and_the_pool() -> None:
    t = task(slots=2)
    counted = t.claim_granted(now=LATER)
    assert not counted.shows_change_from(t) and not counted.pool_changes_from(t)
    full = counted.claim_granted(now=LATER)
    assert full.shows_change_from(counted) and not full.pool_changes_from(counted)


def test_a_lifetime_of_its_own_is_at_least_the_given_minimum() -> None:
    assert spec(lifetime_seconds=1, min_seconds=1).lifetime_seconds == 1
    for bad in (-1, -(2**40), 1):
        with pytest.raises(InvalidArgument) as err:
            spec(lifetime_seconds=bad)
        assert err.value.field == "task.lifetime_seconds"


# --- client commands and the Watch cursor -------------------------------------------------


TASK_ID = str(uuid.uuid4())


@pytest.mark.parametrize(
    ("make", "field"),
    [
        (lambda: lifecycle.cancel_task(client_id="a", task_id="x", reason=""), "task_id"),
        (lambda: lifecycle.cancel_task(client_id="a", task_id=TASK_ID, reason="r" * 501), "reason"),
        (lambda: lifecycle.cancel_task(client_id="a", task_id=TASK_ID, reason="\x00"), "reason"),
        (
            lambda: lifecycle.add_slots(client_id="a", request_id="", task_id=TASK_ID, slots=1),
            "request_id",
        ),
        (
            lambda: lifecycle.add_slots(client_id="a", request_id="r", task_id=TASK_ID, slots=0),
            "slots",
        ),
        (
            lambda: lifecycle.add_slots(client_id="a", request_id="r", task_id=TASK_ID, slots=-5),
            "slots",
        ),
        (
            lambda: lifecycle.add_slots(client_id="a", request_id="r", task_id=TASK_ID, slots=1001),
            "slots",
        ),
        (
            lambda: lifecycle.update_task_lifetime(client_id="a", task_id=TASK_ID, expires_at=None),
            "expires_at",
        ),
        (lambda: lifecycle.watch(client_id="a", cursor="", project_id="a b"), "project_id"),
        (lambda: lifecycle.watch(client_id="a", cursor="not a cursor", project_id=""), "cursor"),
    ],
)
def test_bad_lifecycle_command_names_its_field(make: Any, field: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        make()
    assert err.value.field == field


def test_a_watch_cursor_is_the_number_it_holds() -> None:
    for seq in (0, 1, 2**62):
        cursor = lifecycle.watch_cursor(seq)
        assert lifecycle.watch(client_id="a", cursor=cursor, project_id="").after == seq
    assert lifecycle.watch(client_id="a", cursor="", project_id="p").after is None
    for token in (
        paging.encode_token("w", "²"),
        paging.encode_token("w", "9" * 19),
        paging.encode_token("w", str(2**63)),
        paging.encode_token("x", "1"),
        PageCursor(NOW, "1").token(),
    ):
        with pytest.raises(InvalidArgument) as err:
            lifecycle.watch(client_id="a", cursor=token, project_id="")
        assert err.value.field == "cursor"


@pytest.mark.parametrize(
    "expires_at",
    [None, Timestamp(seconds=-(10**12)), Timestamp(seconds=10**12), Timestamp(nanos=-1)],
)
def test_a_lifetime_request_without_a_real_time_names_expires_at(
    expires_at: Timestamp | None,
) -> None:
    req = task_service_pb2.UpdateTaskLifetimeRequest(task_id=TASK_ID)
    if expires_at is not None:
        req.expires_at.CopyFrom(expires_at)
    with pytest.raises(InvalidArgument) as err:
        lifecycle_pb.update_task_lifetime_command(req, client_id="acme")
    assert err.value.field == "expires_at"


@pytest.mark.parametrize(
    "since", [Timestamp(seconds=-(10**12)), Timestamp(seconds=10**12), Timestamp(nanos=-1)]
)
def test_a_task_listing_since_no_real_time_names_updated_since(since: Timestamp) -> None:
    req = task_service_pb2.ListTasksRequest(updated_since=since)
    with pytest.raises(InvalidArgument) as err:
        dispatcher_pb.list_tasks_query(req, client_id="acme")
    assert err.value.field == "updated_since"


def test_a_task_listing_since_a_real_time_keeps_it() -> None:
    req = task_service_pb2.ListTasksRequest(updated_since=Timestamp(seconds=1_700_000_000))
    query = dispatcher_pb.list_tasks_query(req, client_id="acme")
    assert query.updated_since == datetime.fromtimestamp(1_700_000_000, UTC)


# --- review and bonuses --------------------------------------------------------------------


def submission(**changes: Any) -> review.Submission:
    sub = review.Submission(
        submission_id=uuid.uuid4(),
        task_id=uuid.uuid4(),
        client_id="acme",
        project_id=PROJECT.project_id,
        contractor_id="ann",
        status=review.SubmissionStatus.PENDING_REVIEW,
        reward=Money("USD", 1250),
        submitted_at=NOW,
    )
    return replace(sub, **changes)


WINDOW = 30 * 86_400


def test_pending_work_is_accepted_or_rejected_once() -> None:
    sub = submission()
    accepted = sub.accept(feedback="great", override=False, now=LATER)
    assert (accepted.status, accepted.accepted_by, accepted.accepted_at, accepted.feedback) == (
        review.SubmissionStatus.ACCEPTED,
        review.AcceptedBy.CLIENT,
        LATER,
        "great",
    )
    assert accepted.accept(feedback="", override=True, now=LATER) is accepted
    assert accepted.auto_accept(now=LATER) is accepted
    with pytest.raises(FailedPrecondition) as err:
        accepted.reject(feedback="no", now=LATER, window_seconds=WINDOW)
    assert err.value.reason == "ALREADY_ACCEPTED"

    rejected = sub.reject(feedback="no", now=LATER, window_seconds=WINDOW)
    assert (rejected.status, rejected.rejected_at, rejected.revert_until) == (
        review.SubmissionStatus.REJECTED,
        LATER,
        LATER + timedelta(seconds=WINDOW),
    )
    assert rejected.reject(feedback="no", now=LATER, window_seconds=1) is rejected
    assert rejected.auto_accept(now=LATER) is rejected
    with pytest.raises(FailedPrecondition) as err:
        rejected.reject(feedback="other", now=LATER, window_seconds=WINDOW)
    assert err.value.reason == "ALREADY_REJECTED"
    auto = sub.auto_accept(now=LATER)
    assert (auto.accepted_by, auto.reviewed_at) == (review.AcceptedBy.AUTO_ACCEPT, LATER)


def test_a_rejection_is_overridden_only_on_request_and_within_its_window() -> None:
    rejected = submission().reject(feedback="no", now=NOW, window_seconds=WINDOW)
    end = NOW + timedelta(seconds=WINDOW)
    with pytest.raises(FailedPrecondition) as err:
        rejected.accept(feedback="", override=False, now=NOW)
    assert (err.value.reason, err.value.metadata["revert_until"]) == ("REJECTED", end.isoformat())
    overridden = rejected.accept(feedback="sorry", override=True, now=end)
    assert (overridden.status, overridden.accepted_by, overridden.revert_until) == (
        review.SubmissionStatus.ACCEPTED,
        review.AcceptedBy.OVERRIDE,
        None,
    )
    assert overridden.rejected_at == NOW  # kept, for the record
    with pytest.raises(FailedPrecondition) as err:
        rejected.accept(feedback="", override=True, now=end + timedelta(microseconds=1))
    assert err.value.reason == "REVERT_WINDOW_OVER"


def test_a_task_completes_when_every_slots_work_is_reviewed_and_can_be_given_more() -> None:
    t = task(slots=2).claim_granted(now=NOW).claim_granted(now=NOW)
    t = t.work_submitted(was_live=True, now=NOW).work_submitted(was_live=True, now=NOW)
    one = t.reject_one(now=LATER)
    assert (one.status, one.rejected_count, one.reviewed_count) == (TaskStatus.IN_PROGRESS, 1, 1)
    done = one.accept_one(now=LATER)
    assert (done.status, done.accepted_count, done.rejected_count) == (TaskStatus.COMPLETED, 1, 1)
    with pytest.raises(ValueError, match="more reviewed work than slots"):
        done.reject_one(now=LATER)
    overridden = done.accept_one(now=LATER, overriding=True)
    assert (overridden.status, overridden.accepted_count, overridden.rejected_count) == (
        TaskStatus.COMPLETED,
        2,
        0,
    )
    # A completed task takes more slots while its lifetime lasts, and is open again.
    more = done.add_slots(1, now=LATER)
    assert (more.status, more.slots) == (TaskStatus.OPEN, 3)
    with pytest.raises(FailedPrecondition) as failed:
        done.add_slots(1, now=done.expires_at)
    assert failed.value.reason == "TASK_FINISHED"


def test_a_page_of_submissions_stops_before_its_results_pass_3_mib() -> None:
    big = b"x" * (512 * 1024)
    subs = [submission(submitted_at=NOW + timedelta(seconds=i), result=big) for i in range(8)]
    query = review.list_submissions(
        client_id="acme", task_id=TASK_ID, project_id="", status=None, page_size=10, page_token=""
    )
    page, more = query.page(subs)
    assert len(page) == 6 and more == page[-1].cursor
    assert query.page(subs[:3]) == (subs[:3], None)
    small = replace(query, page_size=2)
    assert small.page(subs[:3]) == (subs[:2], subs[1].cursor)
    huge = [submission(result=b"x" * (4 * 1024 * 1024))]  # one always fits
    assert query.page(huge) == (huge, None)


def grant(**changes: Any) -> bonuses.GrantBonus:
    args: dict[str, Any] = dict(
        client_id="acme",
        submission_id=TASK_ID,
        idempotency_key="k",
        currency="USD",
        amount_minor=100,
        reason="careful",
    )
    return bonuses.grant_bonus(**{**args, **changes})


def test_a_bonus_is_derived_from_its_clients_key_and_repeats_only_the_same_request() -> None:
    cmd = grant()
    assert cmd.bonus_id == grant(amount_minor=5).bonus_id != grant(client_id="globex").bonus_id
    sub = submission(submission_id=uuid.UUID(TASK_ID))
    made = cmd.grant(sub, now=NOW)
    assert (made.bonus_id, made.amount, made.granted_at) == (cmd.bonus_id, Money("USD", 100), NOW)
    assert grant().repeats(made) is made
    for other in (
        grant(amount_minor=101),
        grant(reason="x"),
        grant(submission_id=str(uuid.uuid4())),
    ):
        with pytest.raises(InvalidArgument) as err:
            other.repeats(made)
        assert err.value.field == "idempotency_key"
    with pytest.raises(InvalidArgument) as err:
        grant(currency="EUR").grant(sub, now=NOW)
    assert err.value.field == "amount.currency_code"


def test_the_revert_window_setting_must_be_positive() -> None:
    assert DispatcherSettings.from_env({}).revert_window_seconds == 30 * 86_400
    for bad in ("0", "-1"):
        with pytest.raises(SettingsError):
            DispatcherSettings.from_env({"CREWLINE_DISPATCHER_REVERT_WINDOW_SECONDS": bad})
