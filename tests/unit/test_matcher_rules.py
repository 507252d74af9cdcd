from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from crewline.errors import FailedPrecondition, InvalidArgument
from crewline.events import wrap
from crewline.money import Money
from crewline.pay_terms import Basis, PayTerms
from crewline.v1 import events_pb2, money_pb2
from matcher.domain import model
from matcher.domain.model import Claim, ClaimStatus

TASK = str(uuid.uuid4())


def make_claim(status: ClaimStatus = ClaimStatus.ACTIVE) -> Claim:
    return Claim(
        claim_id=uuid.uuid4(),
        task_id=uuid.UUID(TASK),
        contractor_id="ann",
        request_id="r1",
        project_id=str(uuid.uuid4()),
        status=status,
        terms=PayTerms(basis=Basis.PER_SUBMISSION, rate=Money("USD", 500), version=1),
        version=1,
        granted_at=datetime.now(UTC),
    )


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
        model.claim_task(**kwargs)
    assert err.value.field == field


def test_oversized_result_is_refused() -> None:
    with pytest.raises(InvalidArgument) as err:
        model.submit_work(
            claim_id=str(uuid.uuid4()),
            contractor_id="ann",
            result=b"x" * (model.MAX_RESULT_BYTES + 1),
        )
    assert err.value.field == "result"


def test_page_size_zero_means_default_and_too_big_is_refused() -> None:
    assert model.list_offers(contractor_id="ann", page_size=0).page_size == 50
    with pytest.raises(InvalidArgument) as err:
        model.list_offers(contractor_id="ann", page_size=101)
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
        model.stream_offers(**kwargs)  # type: ignore[arg-type]
    assert err.value.field == field


def test_refusals_carry_their_reason_and_code() -> None:
    task = uuid.uuid4()
    codes = {
        outcome: (model.refusal(outcome, task).code, model.refusal(outcome, task).reason)
        for outcome in (
            "NOT_FOUND",
            "NOT_QUALIFIED",
            "BLOCKED",
            "ALREADY_CLAIMED",
            "AT_CLAIM_LIMIT",
            "NO_FREE_SLOT",
        )
    }
    assert codes == {
        "NOT_FOUND": ("NOT_FOUND", "NOT_FOUND"),
        "NOT_QUALIFIED": ("PERMISSION_DENIED", "NOT_QUALIFIED"),
        "BLOCKED": ("PERMISSION_DENIED", "BLOCKED"),
        "ALREADY_CLAIMED": ("ALREADY_EXISTS", "ALREADY_CLAIMED"),
        "AT_CLAIM_LIMIT": ("FAILED_PRECONDITION", "AT_CLAIM_LIMIT"),
        "NO_FREE_SLOT": ("FAILED_PRECONDITION", "NO_FREE_SLOT"),
    }


def test_submitting_an_active_claim_moves_it_and_bumps_its_version() -> None:
    claim = make_claim()
    now = datetime.now(UTC)
    done = claim.submit(now=now)
    assert (done.status, done.version, done.submitted_at) == (ClaimStatus.SUBMITTED, 2, now)


def test_submitting_twice_returns_the_submitted_claim_unchanged() -> None:
    done = make_claim().submit(now=datetime.now(UTC))
    assert done.submit(now=datetime.now(UTC)) is done


def test_a_claim_in_any_other_state_refuses_work() -> None:
    claim = make_claim()
    odd = Claim(**{**claim.__dict__, "status": "expired"})  # a state this skeleton lacks yet
    with pytest.raises(FailedPrecondition):
        odd.submit(now=datetime.now(UTC))


def test_repeated_claim_request_must_name_the_same_task() -> None:
    claim = make_claim()
    same = model.claim_task(request_id="r1", contractor_id="ann", task_id=TASK)
    assert claim.answers(same) is claim
    other = model.claim_task(request_id="r1", contractor_id="ann", task_id=str(uuid.uuid4()))
    with pytest.raises(InvalidArgument) as err:
        claim.answers(other)
    assert err.value.field == "request_id"


def test_the_largest_result_allowed_still_fits_in_one_kafka_record() -> None:
    work = events_pb2.WorkSubmitted(
        claim_id=str(uuid.uuid4()),
        task_id=TASK,
        contractor_id="c" * 128,
        reward=money_pb2.Money(currency_code="USD", amount_minor=10**12),
        result=b"x" * model.MAX_RESULT_BYTES,
    )
    envelope = wrap(work, producer="matcher", correlation_id="c" * 128)
    assert len(envelope.SerializeToString()) < 1_000_000  # Kafka's default limit is 1 MiB


def test_page_token_round_trips_and_a_forged_one_names_the_field() -> None:
    cursor = model.OfferCursor(80, datetime.now(UTC), uuid.uuid4())
    query = model.list_offers(contractor_id="ann", page_size=10, page_token=cursor.token())
    assert query.after == cursor
    for forged in ("nonsense", "bm90fGF8dG9rZW4=", cursor.token()[:-4]):
        with pytest.raises(InvalidArgument) as err:
            model.list_offers(contractor_id="ann", page_size=10, page_token=forged)
        assert err.value.field == "page_token"
