from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from crewline import paging
from crewline.errors import FailedPrecondition, InvalidArgument
from crewline.events import wrap
from crewline.money import Money
from crewline.pay_terms import Basis, PayTerms
from crewline.protobuf import timestamp
from crewline.v1 import claim_pb2, events_pb2, money_pb2
from matcher.domain import commands, grants, offers
from matcher.domain.claims import Claim
from matcher.domain.commands import SubmitWork, WorkSegment
from matcher.domain.statuses import ClaimStatus, EndReason, ProjectState, ReviewState, TaskLifecycle
from matcher.domain.tasks import TaskState

TASK = str(uuid.uuid4())


GRANTED = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
PER_SUBMISSION = PayTerms(basis=Basis.PER_SUBMISSION, rate=Money("USD", 500), version=1)
HOURLY = PayTerms(basis=Basis.HOURLY, rate=Money("USD", 3600), max_paid_seconds=7200, version=1)


def make_claim(
    status: ClaimStatus = ClaimStatus.ACTIVE,
    *,
    terms: PayTerms = PER_SUBMISSION,
    timeout: int = 600,
) -> Claim:
    deadline, maximum = grants.lease(granted_at=GRANTED, claim_timeout_seconds=timeout, terms=terms)
    return Claim(
        claim_id=uuid.uuid4(),
        task_id=uuid.UUID(TASK),
        contractor_id="ann",
        request_id="r1",
        project_id=str(uuid.uuid4()),
        client_id="acme",
        status=status,
        terms=terms,
        version=1,
        granted_at=GRANTED,
        lease_seconds=timeout,
        deadline_at=deadline,
        max_deadline_at=maximum,
    )


def after(seconds: float) -> datetime:
    return GRANTED + timedelta(seconds=seconds)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"request_id": "", "contractor_id": "ann", "task_id": TASK}, "request_id"),
        ({"request_id": "r", "contractor_id": "", "task_id": TASK}, "contractor_id"),
        ({"request_id": "r", "contractor_id": "ann", "task_id": "nope"}, "task_id"),
        ({"request_id": "r", "contractor_id": "ann", "task_id": ""}, "task_id"),
    ],
)
def test_bad_claim_request_names_the_field(kwargs: dict[str, str], field: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        commands.claim_task(**kwargs)
    assert err.value.field == field


def test_oversized_result_is_refused() -> None:
    with pytest.raises(InvalidArgument) as err:
        commands.submit_work(
            claim_id=str(uuid.uuid4()),
            contractor_id="ann",
            result=b"x" * (commands.MAX_RESULT_BYTES + 1),
        )
    assert err.value.field == "result"


def test_page_size_zero_means_default_and_too_big_is_refused() -> None:
    assert commands.list_offers(contractor_id="ann", page_size=0).page_size == 50
    with pytest.raises(InvalidArgument) as err:
        commands.list_offers(contractor_id="ann", page_size=101)
    assert err.value.field == "page_size"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"max_offers": 1001, "project_id": ""}, "max_offers"),
        ({"max_offers": -1, "project_id": ""}, "max_offers"),
        ({"max_offers": 0, "project_id": "not-a-project"}, "project_id"),
    ],
)
def test_bad_stream_request_names_the_field(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        commands.stream_offers(**kwargs)  # type: ignore[arg-type]
    assert err.value.field == field


def test_refusals_carry_their_reason_and_code() -> None:
    task = uuid.uuid4()
    codes = {
        outcome: (grants.refusal(outcome, task).code, grants.refusal(outcome, task).reason)
        for outcome in (
            "NOT_FOUND",
            "NOT_QUALIFIED",
            "BLOCKED",
            "ALREADY_CLAIMED",
            "AT_CLAIM_LIMIT",
            "NO_FREE_SLOT",
            "TASK_CLOSED",
        )
    }
    assert codes == {
        "NOT_FOUND": ("NOT_FOUND", "NOT_FOUND"),
        "NOT_QUALIFIED": ("PERMISSION_DENIED", "NOT_QUALIFIED"),
        "BLOCKED": ("PERMISSION_DENIED", "BLOCKED"),
        "ALREADY_CLAIMED": ("ALREADY_EXISTS", "ALREADY_CLAIMED"),
        "AT_CLAIM_LIMIT": ("FAILED_PRECONDITION", "AT_CLAIM_LIMIT"),
        "NO_FREE_SLOT": ("FAILED_PRECONDITION", "NO_FREE_SLOT"),
        "TASK_CLOSED": ("FAILED_PRECONDITION", "TASK_CLOSED"),
    }


def test_submitting_an_active_claim_moves_it_and_bumps_its_version() -> None:
    claim = make_claim()
    now = after(90)
    done = claim.submit(now=now)
    assert (done.status, done.version, done.submitted_at) == (ClaimStatus.SUBMITTED, 2, now)
    assert (done.end_reason, done.ended_at) == (EndReason.SUBMITTED, now)
    assert (done.review, done.feedback, done.segments) == (ReviewState.PENDING, "", ())


def test_submitting_twice_returns_the_submitted_claim_unchanged() -> None:
    done = make_claim().submit(now=after(1))
    assert done.submit(now=after(2)) is done


def test_submitted_work_is_repeated_only_as_it_was() -> None:
    done = make_claim().submit(now=after(30), worked=20)

    def again(result: bytes, worked: int | None = None) -> SubmitWork:
        return SubmitWork(
            claim_id=done.claim_id, contractor_id="ann", result=result, worked_seconds=worked
        )

    assert done.resubmitted(again(b"5"), kept=b"5") is done
    assert done.resubmitted(again(b"5", worked=20), kept=b"5") is done
    for other in (again(b"6"), again(b"5", worked=21)):
        with pytest.raises(FailedPrecondition) as err:
            done.resubmitted(other, kept=b"5")
        assert err.value.reason == "ALREADY_SUBMITTED"


def test_a_submission_at_or_after_the_deadline_is_refused_as_expired() -> None:
    claim = make_claim(timeout=600)
    assert claim.submit(now=after(599.999)).status is ClaimStatus.SUBMITTED
    with pytest.raises(FailedPrecondition) as err:
        claim.submit(now=after(600))
    assert err.value.reason == "CLAIM_EXPIRED"


def test_an_ended_claim_refusal_reasons() -> None:
    expired = make_claim().expire(now=after(600), fired_for=after(600), task_over=False)
    assert expired is not None
    with pytest.raises(FailedPrecondition) as err:
        expired.heartbeat(now=after(700), worked=0)
    assert err.value.reason == "CLAIM_EXPIRED"
    with pytest.raises(FailedPrecondition) as err:
        expired.submit(now=after(700))
    assert err.value.reason == "CLAIM_EXPIRED"
    released = make_claim().release(now=after(10))
    with pytest.raises(FailedPrecondition) as err:
        released.submit(now=after(20))
    assert err.value.reason == "CLAIM_ENDED"
    with pytest.raises(FailedPrecondition) as err:
        make_claim().submit(now=after(10)).release(now=after(20))
    assert err.value.reason == "CLAIM_ENDED"


def test_the_lease_maximum_is_four_timeouts_or_the_paid_hours_plus_one() -> None:
    deadline, maximum = grants.lease(granted_at=GRANTED, claim_timeout_seconds=600, terms=HOURLY)
    assert (deadline, maximum) == (after(600), after(7200 + 600))
    deadline, maximum = grants.lease(
        granted_at=GRANTED, claim_timeout_seconds=3600, terms=PER_SUBMISSION
    )
    assert (deadline, maximum) == (after(3600), after(4 * 3600))


def test_a_heartbeat_moves_the_deadline_by_the_timeout_up_to_the_maximum() -> None:
    claim = make_claim(timeout=600)  # maximum: 2400 s after the grant
    beat = claim.heartbeat(now=after(500), worked=400)
    assert (beat.deadline_at, beat.worked_seconds, beat.version) == (after(1100), 400, 2)
    assert beat.heartbeat(now=after(500), worked=400) is beat  # the same report: no change
    capped = beat
    for at in (1000, 1500, 2000):
        capped = capped.heartbeat(now=after(at), worked=at - 100)
    assert capped.deadline_at == after(2400) == capped.max_deadline_at
    with pytest.raises(FailedPrecondition) as err:
        capped.heartbeat(now=after(2100), worked=2000)
    assert err.value.reason == "LEASE_AT_MAXIMUM"


def test_a_heartbeat_after_the_deadline_is_refused_as_expired() -> None:
    with pytest.raises(FailedPrecondition) as err:
        make_claim(timeout=600).heartbeat(now=after(600), worked=0)
    assert err.value.reason == "CLAIM_EXPIRED"


@pytest.mark.parametrize("worked", [401, 10_000_000])
def test_worked_seconds_beyond_the_time_live_are_refused(worked: int) -> None:
    with pytest.raises(InvalidArgument) as err:
        make_claim().heartbeat(now=after(400), worked=worked)
    assert err.value.field == "worked_seconds"


def test_worked_seconds_may_not_go_down_nor_be_negative() -> None:
    beat = make_claim().heartbeat(now=after(300), worked=200)
    with pytest.raises(InvalidArgument) as err:
        beat.heartbeat(now=after(400), worked=100)
    assert err.value.field == "worked_seconds"
    with pytest.raises(InvalidArgument) as err:
        commands.heartbeat_claim(claim_id=str(uuid.uuid4()), contractor_id="ann", worked_seconds=-1)
    assert err.value.field == "worked_seconds"


def test_a_cut_claim_refuses_heartbeats_with_the_cut_reason_but_takes_work() -> None:
    cut = replace(make_claim(), cut=EndReason.TASK_CANCELLED)
    with pytest.raises(FailedPrecondition) as err:
        cut.heartbeat(now=after(10), worked=5)
    assert err.value.reason == "TASK_CANCELLED"
    assert cut.submit(now=after(10)).status is ClaimStatus.SUBMITTED


def test_expiry_needs_a_passed_or_unmoved_deadline() -> None:
    claim = make_claim(timeout=600)
    assert claim.expire(now=after(599), fired_for=after(300), task_over=False) is None
    # The clock fired for the very deadline the claim holds: it has passed, whatever
    # our clock says (it may lag the dispatcher's a little). Never ended before it.
    ended = claim.expire(now=after(599), fired_for=after(600), task_over=False)
    assert ended is not None and ended.ended_at == after(600)
    assert ended.end_reason is EndReason.EXPIRED and ended.status is ClaimStatus.ENDED
    # A heartbeat moved the deadline: the clock's old firing changes nothing.
    moved = claim.heartbeat(now=after(500), worked=0)
    assert moved.expire(now=after(600), fired_for=after(600), task_over=False) is None
    assert moved.expire(now=after(1100), fired_for=after(1100), task_over=False) is not None
    # Submitted first: the expiry finds nothing to end.
    assert (
        claim.submit(now=after(1)).expire(now=after(700), fired_for=after(600), task_over=False)
        is None
    )


def test_a_lapsed_claim_ends_with_the_cut_reason_or_the_task_lifetime() -> None:
    claim = make_claim()
    lapsed = claim.expire(now=after(600), fired_for=after(600), task_over=True)
    assert lapsed is not None and lapsed.end_reason is EndReason.TASK_EXPIRED
    cut = replace(claim, cut=EndReason.PROJECT_PAUSED)
    lapsed = cut.expire(now=after(600), fired_for=after(600), task_over=True)
    assert lapsed is not None and lapsed.end_reason is EndReason.PROJECT_PAUSED


def test_a_released_cut_claim_ends_with_the_cut_reason_and_a_repeat_changes_nothing() -> None:
    cut = replace(make_claim(), cut=EndReason.TASK_CANCELLED)
    released = cut.release(now=after(10))
    assert (released.status, released.end_reason) == (ClaimStatus.ENDED, EndReason.TASK_CANCELLED)
    assert released.release(now=after(20)) is released
    with pytest.raises(FailedPrecondition) as err:
        released.submit(now=after(20))
    assert err.value.reason == "CLAIM_ENDED"
    # A cut claim that lapsed was not released: releasing it is refused as expired.
    lapsed = cut.expire(now=after(600), fired_for=after(600), task_over=False)
    assert lapsed is not None and lapsed.end_reason is EndReason.TASK_CANCELLED
    with pytest.raises(FailedPrecondition) as err:
        lapsed.release(now=after(700))
    assert err.value.reason == "CLAIM_EXPIRED"


def test_only_a_cut_hourly_claim_with_time_reported_is_settled() -> None:
    hourly = make_claim(terms=HOURLY)  # $36.00 an hour: one cent a second
    beat = hourly.heartbeat(now=after(301), worked=301)
    cut = replace(beat, cut=EndReason.TASK_CANCELLED)
    lapsed = cut.expire(now=after(2000), fired_for=after(2000), task_over=False)
    assert lapsed is not None and lapsed.settlement == Money("USD", 301)
    uncut = beat.expire(now=after(2000), fired_for=after(2000), task_over=False)
    assert uncut is not None and uncut.settlement is None  # ordinary expiry settles nothing
    nothing = replace(hourly, cut=EndReason.TASK_CANCELLED).release(now=after(5))
    assert nothing.settlement is None  # nothing reported
    per_submission = replace(make_claim(), cut=EndReason.PROJECT_CLOSED, worked_seconds=60)
    ended = per_submission.release(now=after(61))
    assert ended.settlement is None
    capped = replace(hourly, cut=EndReason.PROJECT_PAUSED, worked_seconds=9000).release(
        now=after(1)
    )
    assert capped.settlement == Money("USD", 7200)  # at most max_paid_seconds


def test_the_rate_rounds_up_to_a_whole_minor_unit() -> None:
    terms = PayTerms(basis=Basis.HOURLY, rate=Money("USD", 1000), max_paid_seconds=3600)
    claim = replace(make_claim(terms=terms), cut=EndReason.TASK_CANCELLED, worked_seconds=7)
    assert claim.release(now=after(10)).settlement == Money("USD", 2)  # 1.94 -> 2


def test_a_task_is_claimable_while_live_in_its_lifetime_and_its_project_active() -> None:
    live = TaskState(
        task_id=uuid.uuid4(),
        lifecycle=TaskLifecycle.LIVE,
        expires_at=after(100),
        project_state=ProjectState.ACTIVE,
    )
    assert live.claimable(after(99)) and not live.over(after(99))
    assert not live.claimable(after(100)) and live.over(after(100))
    assert not replace(live, project_state=ProjectState.PAUSED).claimable(after(1))
    assert not replace(live, lifecycle=TaskLifecycle.CANCELLED).claimable(after(1))
    assert replace(live, lifecycle=TaskLifecycle.EXPIRED).over(after(1))


def test_list_claims_parses_filters_and_round_trips_its_cursor() -> None:
    token = commands.claim_cursor(GRANTED, uuid.UUID(TASK))
    query = commands.list_claims(
        contractor_id="ann",
        page_size=0,
        page_token=token,
        status=ClaimStatus.ENDED,
        task_id=TASK,
    )
    assert query.after == (GRANTED, uuid.UUID(TASK)) and query.page_size == 50
    for bad, field in (
        ({"page_token": "nonsense"}, "page_token"),
        ({"page_token": paging.PageCursor(GRANTED, "x").token()}, "page_token"),
        ({"task_id": "nope"}, "task_id"),
        ({"project_id": "nope"}, "project_id"),
        ({"page_size": 101}, "page_size"),
    ):
        with pytest.raises(InvalidArgument) as err:
            commands.list_claims(contractor_id="ann", **{"page_size": 10, **bad})  # type: ignore[arg-type]
        assert err.value.field == field


def test_repeated_claim_request_must_name_the_same_task() -> None:
    claim = make_claim()
    same = commands.claim_task(request_id="r1", contractor_id="ann", task_id=TASK)
    assert claim.answers(same) is claim
    other = commands.claim_task(request_id="r1", contractor_id="ann", task_id=str(uuid.uuid4()))
    with pytest.raises(InvalidArgument) as err:
        claim.answers(other)
    assert err.value.field == "request_id"


def test_the_largest_result_allowed_still_fits_in_one_kafka_record() -> None:
    work = events_pb2.WorkSubmitted(
        claim_id=str(uuid.uuid4()),
        task_id=TASK,
        contractor_id="c" * 128,
        reward=money_pb2.Money(currency_code="USD", amount_minor=10**12),
        result=b"x" * commands.MAX_RESULT_BYTES,
        segments=[
            claim_pb2.WorkSegment(
                started_at=timestamp(after(2 * i)), ended_at=timestamp(after(2 * i + 1.5))
            )
            for i in range(commands.MAX_SEGMENTS)
        ],
        worked_seconds=10**9,
        granted_at=timestamp(GRANTED),
        client_id="c" * 128,
    )
    envelope = wrap(work, producer="matcher", correlation_id="c" * 128)
    assert len(envelope.SerializeToString()) < 1_000_000  # Kafka's default limit is 1 MiB


def test_page_token_round_trips_and_a_forged_one_names_the_field() -> None:
    cursor = offers.OfferCursor(80, datetime.now(UTC), uuid.uuid4())
    query = commands.list_offers(contractor_id="ann", page_size=10, page_token=cursor.token())
    assert query.after == cursor
    at = cursor.published_at.isoformat()
    forged_tokens = (
        "nonsense",
        "bm90fGF8dG9rZW4=",
        cursor.token()[:-4],
        paging.encode_token(str(2**31), at, str(cursor.task_id)),  # wider than the column
        paging.encode_token("-1", at, str(cursor.task_id)),
        paging.encode_token("80", at, "x"),
    )
    for forged in forged_tokens:
        with pytest.raises(InvalidArgument) as err:
            commands.list_offers(contractor_id="ann", page_size=10, page_token=forged)
        assert err.value.field == "page_token"


# --- time worked -----------------------------------------------------------------------


def segments(*spans: tuple[float, float]) -> list[tuple[datetime | None, datetime | None]]:
    return [(after(a), after(b)) for a, b in spans]


def submit_cmd(**kwargs: object) -> commands.SubmitWork:
    return commands.submit_work(
        claim_id=TASK,
        contractor_id="ann",
        result=b"r",
        **kwargs,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"worked_seconds": -1}, "worked_seconds"),
        ({"worked_seconds": 5, "segments": segments((0, 10))}, "worked_seconds"),
        ({"segments": [(None, after(5))]}, "segments[0].started_at"),
        ({"segments": [(after(0), after(5)), (after(6), None)]}, "segments[1].ended_at"),
        ({"segments": segments((0, 10), (20, 20))}, "segments[1].ended_at"),
        ({"segments": segments((0, 10), (30, 25))}, "segments[1].ended_at"),
        ({"segments": segments((0, 10), (20, 30), (5, 12))}, "segments[2].started_at"),
        ({"segments": segments((20, 30), (0, 21))}, "segments[0].started_at"),
        ({"segments": segments(*[(i, i + 1) for i in range(1001)])}, "segments"),
    ],
)
def test_bad_time_worked_names_the_field(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        submit_cmd(**kwargs)
    assert err.value.field == field


def test_segments_may_touch_and_come_in_any_order() -> None:
    cmd = submit_cmd(segments=segments((60, 120), (0, 60), (200, 230.5)))
    assert cmd.worked_seconds is None and len(cmd.segments) == 3
    assert commands.tracked_seconds(cmd.segments) == 150  # 150.5 s, rounded down
    assert submit_cmd(worked_seconds=0).worked_seconds is None  # 0: not given


def test_segments_must_lie_within_the_claims_life() -> None:
    claim = make_claim()
    early = commands.work_segments([(GRANTED - timedelta(seconds=1), after(10))])
    with pytest.raises(InvalidArgument) as err:
        claim.submit(now=after(100), segments=early)
    assert err.value.field == "segments[0].started_at"
    future = commands.work_segments(segments((0, 10), (50, 100.001)))
    with pytest.raises(InvalidArgument) as err:
        claim.submit(now=after(100), segments=future)
    assert err.value.field == "segments[1].ended_at"
    whole = commands.work_segments(segments((0, 100)))
    assert claim.submit(now=after(100), segments=whole).worked_seconds == 100


def test_worked_seconds_may_not_exceed_the_time_live() -> None:
    claim = make_claim()
    assert claim.submit(now=after(99.5), worked=100).worked_seconds == 100  # rounded up
    with pytest.raises(InvalidArgument) as err:
        claim.submit(now=after(99.5), worked=101)
    assert err.value.field == "worked_seconds"


def test_with_neither_the_last_heartbeat_report_counts() -> None:
    beat = make_claim(terms=HOURLY).heartbeat(now=after(300), worked=240)
    done = beat.submit(now=after(400))
    assert done.worked_seconds == 240 and done.earned == Money("USD", 240)
    given = beat.submit(now=after(400), worked=100)  # an explicit figure replaces it
    assert given.worked_seconds == 100 and given.earned == Money("USD", 100)
    tracked = beat.submit(now=after(400), segments=commands.work_segments(segments((10, 70))))
    assert tracked.worked_seconds == 60 and tracked.segments == (WorkSegment(after(10), after(70)),)


def test_hourly_earnings_are_the_frozen_rate_up_to_the_cap() -> None:
    claim = make_claim(terms=HOURLY, timeout=3 * 3600)  # $36/h, paid up to 2 h
    assert claim.submit(now=after(9000), worked=1800).earned == Money("USD", 1800)
    assert claim.submit(now=after(9000), worked=9000).earned == Money("USD", 7200)
    per_submission = make_claim(timeout=3 * 3600)
    assert per_submission.submit(now=after(9000), worked=9000).earned == Money("USD", 500)


def test_a_review_is_kept_accepted_is_final_and_an_override_wins() -> None:
    done = make_claim().submit(now=after(10))
    assert make_claim().reviewed(ReviewState.ACCEPTED, feedback="", at=after(11)) is None
    rejected = done.reviewed(ReviewState.REJECTED, feedback="off topic", at=after(20))
    assert rejected is not None
    assert (rejected.review, rejected.feedback, rejected.reviewed_at) == (
        ReviewState.REJECTED,
        "off topic",
        after(20),
    )
    assert rejected.version == done.version  # the lease and state did not change
    assert rejected.reviewed(ReviewState.REJECTED, feedback="off topic", at=after(30)) is None
    overridden = rejected.reviewed(ReviewState.ACCEPTED, feedback="", at=after(40))
    assert overridden is not None and (overridden.review, overridden.feedback) == (
        ReviewState.ACCEPTED,
        "",
    )
    for later in (ReviewState.REJECTED, ReviewState.ACCEPTED, ReviewState.PENDING):
        assert overridden.reviewed(later, feedback="again", at=after(50)) is None
    assert done.reviewed(ReviewState.PENDING, feedback="", at=after(50)) is None


def test_request_segments_out_of_range_or_unset_name_the_field() -> None:
    from google.protobuf.timestamp_pb2 import Timestamp

    from matcher.adapters import protobuf as pb

    good = claim_pb2.WorkSegment(started_at=timestamp(after(0)), ended_at=timestamp(after(5)))
    half = claim_pb2.WorkSegment(started_at=timestamp(after(6)))
    assert pb.segments_from_pb([good, half]) == [(after(0), after(5)), (after(6), None)]
    broken = claim_pb2.WorkSegment(started_at=Timestamp(seconds=10**15), ended_at=Timestamp())
    with pytest.raises(InvalidArgument) as err:
        pb.segments_from_pb([good, broken])
    assert err.value.field == "segments[1].started_at"
    with pytest.raises(InvalidArgument) as err:  # too many: refused before any is read
        pb.segments_from_pb([broken] + [good] * commands.MAX_SEGMENTS)
    assert err.value.field == "segments"
