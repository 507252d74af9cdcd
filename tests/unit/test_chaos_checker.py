"""The chaos checker on a small run written out by hand (chaos_run_data): every invariant
holds on it, each planted defect is caught, and a failure names what is wrong."""

from __future__ import annotations

import dataclasses
import uuid
from pathlib import Path

import chaos_run_data as run
import pytest
from google.protobuf.message import Message

from chaos import planting
from chaos.checker import INVARIANTS, Verdict, check, format_verdicts
from chaos.checks.pay import earned, platform_fee
from chaos.effects import claim_order, deadline_effects
from chaos.model import (
    BooksFigures,
    ClaimRow,
    Op,
    Posting,
    State,
    WatchedEvent,
    read_state,
    write_state,
)
from chaos.selftest import PLANTERS, format_selftest, selftest
from chaos.state import watched_event
from crewline.events import wrap
from crewline.paging import encode_token
from crewline.v1 import events_pb2
from crewline.v1 import task_service_pb2 as task_api


def verdict_of(name: str, ops: list[Op], state: State) -> Verdict:
    return next(v for v in check(ops, state) if v.name == name)


def failing(name: str, ops: list[Op], state: State) -> Verdict:
    found = verdict_of(name, ops, state)
    print(format_verdicts([found]))
    assert not found.holds, found
    return found


def test_every_invariant_holds_on_a_consistent_run() -> None:
    verdicts = check(run.history(), run.state())
    print(format_verdicts(verdicts))
    assert [v.name for v in verdicts] == list(INVARIANTS)
    assert [v.name for v in verdicts if not v.holds] == []
    figures = {v.name: v.figures for v in verdicts}
    assert figures["paid_once"] == {
        "pay": 3,
        "settlements": 1,
        "bonuses": 1,
        "referrals": 1,
    } | dict.fromkeys(["unpaid", "paid_twice", "wrong_amount", "without_cause"], 0)
    assert figures["balances"]["fees_minor"] == 104
    assert figures["balances"]["referrals_minor"] == 25000
    assert figures["claims_end_once"]["project_closed"] == 1
    assert figures["watch"]["events"] == 29
    assert figures["no_lost_writes"]["lost"] == figures["no_lost_writes"]["uncaused"] == 0


def test_the_selftest_catches_each_planted_defect() -> None:
    caught = selftest(run.history(), run.state())
    print(format_selftest(caught))
    assert [name for name, _ in caught] == list(INVARIANTS)
    assert [name for name, hit in caught if not hit] == []


def test_the_selftest_plants_what_an_empty_run_lacks() -> None:
    state = State(taken_at=run.TAKEN_AT, fee_bps=2000, referral_bonus_minor=25000)
    caught = selftest([], state)
    print(format_selftest(caught))
    assert all(hit for _, hit in caught), caught


def test_what_the_selftest_plants_keeps_every_invariant() -> None:
    ops: list[Op] = []
    books = BooksFigures(
        balanced=True,
        transactions=0,
        accepted_submissions=0,
        unpaid=0,
        paid_twice=0,
        rejected_paid=0,
    )
    state = State(taken_at=run.TAKEN_AT, fee_bps=2000, referral_bonus_minor=25000, books=books)
    planting.accepted_work(ops, state)
    planting.granted_claim(ops, state)
    planting.watched_client(state)
    assert [v.name for v in check(ops, state) if not v.holds] == []


def test_each_planter_is_about_its_own_invariant_only() -> None:
    for planter in PLANTERS:
        ops, state = run.history(), run.state()
        planter.plant(ops, state)
        wrong = [v.name for v in check(ops, state) if not v.holds]
        assert planter.invariant in wrong, planter
        # Claims beyond slots and a lost claim row leave traces other invariants see too.
        if planter.invariant not in ("slots", "no_lost_writes"):
            assert wrong == [planter.invariant], (planter, wrong)


# --- failures, and the ids they name --------------------------------------------------


def test_pay_for_rejected_work_is_paid_without_cause() -> None:
    ops, state = run.history(), run.state()
    state.postings.append(
        Posting(
            transaction_id="txn-x",
            source="submission:c2",
            kind="pay",
            entries={"client:lab1": -240, "contractor:x2": 200, "platform:fees": 40},
        )
    )
    found = failing("paid_once", ops, state)
    assert found.ids == ["without_cause: submission:c2 (pay txn-x)"]


def test_a_settlement_of_the_wrong_amount_fails() -> None:
    ops, state = run.history(), run.state()
    settled = next(p for p in state.postings if p.source == "settlement:c7")
    settled.entries = {"client:lab2": -109, "contractor:x3": 91, "platform:fees": 18}
    found = failing("paid_once", ops, state)
    assert found.figures["wrong_amount"] == 1
    assert "settlement:c7: due" in found.ids[0]


def test_hourly_pay_is_rounded_up_at_least_one_second_and_capped() -> None:
    assert earned(basis="hourly", rate_minor=1000, max_paid_seconds=60, worked=1) == 1
    assert earned(basis="hourly", rate_minor=1000, max_paid_seconds=60, worked=0) == 1
    assert earned(basis="hourly", rate_minor=7200, max_paid_seconds=60, worked=45) == 90
    assert earned(basis="hourly", rate_minor=7200, max_paid_seconds=60, worked=600) == 120
    assert earned(basis="per_submission", rate_minor=250, max_paid_seconds=0, worked=99) == 250
    assert platform_fee(1, 2000) == 1 and platform_fee(0, 2000) == 0


def test_a_balance_off_by_a_cent_names_its_account() -> None:
    ops, state = run.history(), run.state()
    state.balances["client:lab2"] -= 1
    found = failing("balances", ops, state)
    assert found.ids == ["mismatched: client:lab2: expected -288, found -289 (-1)"]


def test_slots_follow_the_outbox_order_not_the_clocks() -> None:
    ops, state = run.history(), run.state()
    released, next_one = (c for c in state.claims if c.claim_id in ("c3", "c4"))
    assert released.ended_at is not None
    next_one.granted_at = released.ended_at - 1
    assert verdict_of("slots", ops, state).holds  # granted after the release, by the outbox
    next_one.granted_seq = 4  # before the release's ClaimEnded (5): two held one slot
    found = failing("slots", ops, state)
    assert found.ids == ["over_slots: task t2: 2 claims held 1 slots"]


def test_without_the_outbox_order_the_clocks_decide() -> None:
    ops, state = run.history(), run.state()
    state.claims = [dataclasses.replace(c, granted_seq=None, ended_seq=None) for c in state.claims]
    assert verdict_of("slots", ops, state).holds
    c4 = next(c for c in state.claims if c.claim_id == "c4")
    c4.granted_at = run.T0 + 19  # c3 was released at T0 + 20
    assert "over_slots: task t2" in failing("slots", ops, state).ids[0]


def test_two_claims_of_one_contractor_on_a_task_fail() -> None:
    ops, state = run.history(), run.state()
    c2 = next(c for c in state.claims if c.claim_id == "c2")
    c2.contractor_id = "x1"
    assert failing("slots", ops, state).ids == ["two_claims: task t1 contractor x1: 2 claims"]


def test_a_released_claim_that_says_it_expired_disagrees_with_the_history() -> None:
    ops, state = run.history(), run.state()
    c3 = next(c for c in state.claims if c.claim_id == "c3")
    c3.end_reason = "expired"
    found = failing("claims_end_once", ops, state)
    assert found.ids == ["disagrees: claim c3 ended expired; ['release:ok'] allow ['released']"]


def test_a_cut_claim_must_end_with_its_cut() -> None:
    ops, state = run.history(), run.state()
    c7 = next(c for c in state.claims if c.claim_id == "c7")
    c7.end_reason = "expired"
    found = failing("claims_end_once", ops, state)
    assert found.ids == ["inconsistent: claim c7: cut project_closed, ended expired"]


def test_a_claim_still_live_after_the_run_fails() -> None:
    ops, state = run.history(), run.state()
    c5 = next(c for c in state.claims if c.claim_id == "c5")
    c5.status, c5.end_reason, c5.ended_at = "active", None, None
    found = failing("claims_end_once", ops, state)
    assert found.figures["still_active"] == 1
    assert "still_active: claim c5 (task t3)" in found.ids


def test_an_overdue_clock_fails_and_one_within_the_grace_does_not() -> None:
    ops, state = run.history(), run.state()
    lifetime = next(d for d in state.deadlines if d.kind == "task_lifetime")
    lifetime.due_at = run.TAKEN_AT - 1
    assert verdict_of("deadlines_once", ops, state).holds
    lifetime.due_at = run.TAKEN_AT - 60
    found = failing("deadlines_once", ops, state)
    assert found.ids == ["overdue: task_lifetime t1 (generation 1) due 60.0 s before the end"]


def test_a_watch_gap_a_repeat_and_a_live_event_out_of_order_fail() -> None:
    ops, state = run.history(), run.state()
    lab1 = state.watch_replay["lab1"]
    lab1[4:6] = [lab1[5], lab1[5]]  # seq 5 gone, seq 6 twice
    state.watched_live["lab2"] = [state.watch_replay["lab2"][i] for i in (0, 2, 1)]
    found = failing("watch", ops, state)
    assert found.ids[:2] == ["gap: client lab1 seqs 5..5", "repeated: client lab1 seq 6"]
    assert found.figures["live_differs"] == 2  # lab1 saw seq 5 live; lab2 went back
    assert "missing_event: client lab1: 0 work_submitted of c1" in found.ids


def test_a_live_watch_that_skipped_or_stopped_short_fails() -> None:
    ops, state = run.history(), run.state()
    replay = state.watch_replay["lab1"]
    state.watched_live["lab1"] = [e for e in replay if e.seq % 2 and e.seq < len(replay)]
    found = failing("watch", ops, state)
    assert found.figures["live_skipped"] == len(replay) // 2 - 1
    assert found.figures["live_short"] == 1


def test_a_client_nobody_watched_live_is_checked_on_its_replay_alone() -> None:
    ops, state = run.history(), run.state()
    del state.watched_live["lab1"]
    assert verdict_of("watch", ops, state).holds


def test_open_dead_letters_and_unsent_outbox_rows_fail() -> None:
    ops, state = run.history(), run.state()
    state.open_dead_letters["matcher"] = 2
    state.unsent_outbox["dispatcher"] = 1
    found = failing("dead_letters", ops, state)
    assert found.ids == ["open_dead_letters: matcher: 2", "unsent_outbox: dispatcher: 1"]


def test_an_acknowledged_acceptance_that_is_not_there_is_lost() -> None:
    ops, state = run.history(), run.state()
    c1 = next(s for s in state.submissions if s.submission_id == "c1")
    c1.status, c1.accepted_by = "pending_review", None
    found = failing("no_lost_writes", ops, state)
    assert found.ids == ["lost: accept #32 client_id=lab1 submission_id=c1"]


def test_a_claim_no_operation_asked_for_is_uncaused() -> None:
    ops, state = run.history(), run.state()
    ghost = dataclasses.replace(state.claims[0], claim_id="ghost", request_id="r-ghost")
    state.claims.append(ghost)
    found = failing("no_lost_writes", ops, state)
    assert found.ids == ["uncaused: claim ghost"]


def test_a_task_of_an_indefinite_submit_may_exist_once_but_not_twice() -> None:
    ops, state = run.history(), run.state()
    t6 = next(t for t in state.tasks if t.task_id == "t6")
    state.tasks.append(dataclasses.replace(t6, task_id="t6-again"))
    found = failing("tasks_once", ops, state)
    assert found.ids == ["key_twice: client lab1 key k6: 2 tasks"]


def test_a_failure_shows_twenty_ids_and_counts_the_rest() -> None:
    ops, state = run.history(), run.state()
    state.deadline_effects = {f"TaskExpired:t{n}": 2 for n in range(25)}
    text = format_verdicts([verdict_of("deadlines_once", ops, state)])
    print(text)
    lines = text.splitlines()
    assert lines[0].startswith("deadlines_once  FAILS  deadlines=14 fired=9 effects=50")
    assert len(lines) == 1 + 20 + 1 and lines[-1] == "    ... and 5 more"


# --- reading the services ---------------------------------------------------------------


def envelope(payload: Message) -> bytes:
    wrapped = wrap(payload, producer="test", correlation_id="c", event_id=uuid.uuid4())
    return bytes(wrapped.SerializeToString())


def lapse(claim: str, at: int) -> bytes:
    event = events_pb2.LeaseElapsed(claim_id=claim, task_id="t")
    event.deadline_at.FromSeconds(at)
    return envelope(event)


def test_deadline_effects_count_each_firing_of_a_clock() -> None:
    rows = [
        lapse("c1", 100),
        lapse("c1", 200),  # re-armed by a heartbeat: its second firing
        lapse("c2", 100),
        lapse("c2", 100),  # the same firing published twice
        envelope(events_pb2.TaskChanged(task_id="t1", lifecycle=events_pb2.TASK_LIFECYCLE_EXPIRED)),
        envelope(
            events_pb2.TaskChanged(task_id="t2", lifecycle=events_pb2.TASK_LIFECYCLE_CANCELLED)
        ),
        envelope(
            events_pb2.SubmissionAccepted(
                submission_id="s1", accepted_by=events_pb2.ACCEPTED_BY_AUTO_ACCEPT
            )
        ),
        envelope(
            events_pb2.SubmissionAccepted(
                submission_id="s2", accepted_by=events_pb2.ACCEPTED_BY_CLIENT
            )
        ),
    ]
    assert deadline_effects(rows) == {
        "LeaseElapsed:c1:1": 1,
        "LeaseElapsed:c1:2": 1,
        "LeaseElapsed:c2:1": 2,
        "TaskExpired:t1": 1,
        "SubmissionAccepted:s1": 1,
    }


def test_claim_order_takes_each_claims_first_grant_and_end() -> None:
    rows = [
        (10, envelope(events_pb2.ClaimGranted(claim_id="c1"))),
        (11, envelope(events_pb2.ClaimExtended(claim_id="c1"))),
        (12, envelope(events_pb2.ClaimEnded(claim_id="c1"))),
        (13, envelope(events_pb2.ClaimGranted(claim_id="c2"))),
    ]
    order = claim_order(rows)
    assert (order.granted, order.ended) == ({"c1": 10, "c2": 13}, {"c1": 12})


@pytest.mark.parametrize(
    ("field", "message", "claim_id"),
    [
        ("task_changed", task_api.Task(task_id="t1"), ""),
        ("work_submitted", events_pb2.WorkSubmitted(claim_id="c1"), "c1"),
        ("submission_accepted", events_pb2.SubmissionAccepted(submission_id="c2"), "c2"),
        ("bonus_granted", events_pb2.BonusGranted(bonus_id="b", submission_id="c3"), "c3"),
    ],
)
def test_a_watch_event_is_read_by_its_cursor_kind_and_ids(
    field: str, message: object, claim_id: str
) -> None:
    event = task_api.WatchEvent(cursor=encode_token("w", "42"), task_id="t1")
    getattr(event, field).CopyFrom(message)
    assert watched_event(event) == WatchedEvent(seq=42, kind=field, task_id="t1", claim_id=claim_id)


def test_claim_rows_keep_their_order_fields_through_json(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    write_state(path, run.state())
    again = read_state(path)
    assert again == run.state()
    assert isinstance(again.claims[0], ClaimRow) and again.claims[0].granted_seq == 1


def test_a_cancellation_needs_a_cancel_or_a_close_of_its_project() -> None:
    ops, state = run.history(), run.state()
    assert verdict_of("no_lost_writes", ops, state).holds  # t4: its project was closed
    closes = [op for op in ops if op.f == "close_project"]
    found = failing("no_lost_writes", [op for op in ops if op not in closes], state)
    assert "uncaused: cancellation of task t4" in found.ids
