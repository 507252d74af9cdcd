"""The SDK's typed Offer and Claim of an unpaid exam's question: ``unpaid``, no pay
terms and nothing earned, and ``pay`` and ``str()`` say unpaid where paid work shows
its terms."""

from __future__ import annotations

from crewline.client import build
from crewline.client import results as r
from crewline.v1 import claim_pb2
from crewline.v1 import work_service_pb2 as work_api

TERMS = build.per_submission(build.usd(1250))


def test_an_unpaid_offer_says_unpaid_and_a_paid_one_its_terms() -> None:
    unpaid = r.Offer.from_pb(work_api.Offer(task_id="t-1", title="Exam", unpaid=True))
    assert unpaid.unpaid and unpaid.pay_terms is None
    assert unpaid.pay == "unpaid" and ": unpaid," in str(unpaid)
    paid = r.Offer.from_pb(work_api.Offer(task_id="t-2", title="Derm", pay_terms=TERMS))
    assert not paid.unpaid and paid.pay_terms is not None
    assert paid.pay == str(paid.pay_terms) and "unpaid" not in str(paid)
    bare = r.Offer.from_pb(work_api.Offer(task_id="t-3"))
    assert bare.pay == "no pay terms"


def test_an_unpaid_claim_shows_no_pay_and_earns_nothing() -> None:
    message = work_api.Claim(
        claim_id="c-1",
        task_id="t-1",
        status=work_api.CLAIM_STATUS_SUBMITTED,
        review=claim_pb2.REVIEW_STATE_ACCEPTED,
        unpaid=True,
    )
    claim = r.Claim.from_pb(message)
    assert claim.unpaid and claim.pay_terms is None and claim.earned is None
    assert claim.pay == "unpaid"
    assert str(claim) == "claim c-1 on t-1: SUBMITTED, review ACCEPTED, unpaid"

    message.unpaid = False
    message.pay_terms.CopyFrom(TERMS)
    message.earned.CopyFrom(build.usd(1250))
    paid = r.Claim.from_pb(message)
    assert not paid.unpaid and paid.pay == str(paid.pay_terms)
    assert str(paid).endswith("review ACCEPTED, earned $12.50 USD")


def test_unpaid_defaults_to_false_for_results_built_by_hand() -> None:
    built = r.Offer(
        task_id="t", project_id="p", title="T", instructions="", pay_terms=None,
        free_slots=1, priority=0, published_at=None, expires_at=None,
    )  # fmt: skip
    assert built.unpaid is False and built.pay == "no pay terms"
