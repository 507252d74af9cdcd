"""What the ledger posts from the events it consumes.

Each handler runs in the consumer's transaction (with up to 99 other events of its
partition). The source of each transaction makes a second posting impossible on its
own, whatever the inbox does: every handler here may see its event any number of
times, in any order against the others, and the books come out the same.
"""

from __future__ import annotations

import uuid

import asyncpg

from crewline.consumer import EventContext
from crewline.log import get_logger
from crewline.outbox import OutboxRow
from crewline.v1 import events_pb2
from ledger.adapters import journal
from ledger.adapters import protobuf as pb
from ledger.deps import Deps
from ledger.domain import postings
from ledger.domain.model import JournalTransaction, contractor_account
from ledger.domain.postings import Referral

log = get_logger(__name__)


def _pay_posted(deps: Deps, txn: JournalTransaction, contractor_id: str) -> OutboxRow:
    """PayPosted for the contractor's credit, ready for the posting's own statement."""
    credit = txn.credit_to(contractor_account(contractor_id))
    assert credit is not None
    return deps.publisher.prepare(pb.pay_posted(txn, credit))


async def on_submission_accepted(
    conn: asyncpg.Connection,
    event: events_pb2.SubmissionAccepted,
    ctx: EventContext,
    *,
    deps: Deps,
) -> None:
    """Pay accepted work once (however it was accepted, an override included), and the
    referral when this is the contractor's first accepted work and someone referred them.
    An unpaid exam's question is recorded as accepted, and nothing is posted."""
    now = deps.clock.now()
    work = pb.accepted_work(event, now=now)
    if work.unpaid:
        if not await journal.accept_unpaid(conn, work):
            log.info("unpaid_work_already_recorded", submission_id=work.submission_id)
        return
    txn = postings.pay(work, fee_bps=deps.settings.fee_bps, transaction_id=uuid.uuid4(), now=now)
    posted, referred_by = await journal.accept(
        conn, work, txn, _pay_posted(deps, txn, work.contractor_id)
    )
    if posted:
        deps.metrics.posted(txn.kind)
    else:
        log.info("pay_already_posted", submission_id=work.submission_id)
    if referred_by is not None:
        await _post_referral(
            conn, Referral(contractor_id=work.contractor_id, referred_by=referred_by), deps
        )


async def on_submission_rejected(
    conn: asyncpg.Connection,
    event: events_pb2.SubmissionRejected,
    ctx: EventContext,
    *,
    deps: Deps,
) -> None:
    """Nothing is posted; Verify checks that a rejection not overridden has no pay."""
    await journal.reject(conn, pb.rejected_work(event, now=deps.clock.now()))


async def on_bonus_granted(
    conn: asyncpg.Connection,
    event: events_pb2.BonusGranted,
    ctx: EventContext,
    *,
    deps: Deps,
) -> None:
    granted = pb.granted_bonus(event)
    txn = postings.bonus(
        granted, fee_bps=deps.settings.fee_bps, transaction_id=uuid.uuid4(), now=deps.clock.now()
    )
    if await journal.post(conn, txn, _pay_posted(deps, txn, granted.contractor_id)):
        deps.metrics.posted(txn.kind)
    else:
        log.info("bonus_already_posted", bonus_id=granted.bonus_id)


async def on_claim_settled(
    conn: asyncpg.Connection,
    event: events_pb2.ClaimSettled,
    ctx: EventContext,
    *,
    deps: Deps,
) -> None:
    settled = pb.settlement(event)
    txn = postings.settlement(
        settled, fee_bps=deps.settings.fee_bps, transaction_id=uuid.uuid4(), now=deps.clock.now()
    )
    if await journal.post(conn, txn, _pay_posted(deps, txn, settled.contractor_id)):
        deps.metrics.posted(txn.kind)
    else:
        log.info("settlement_already_posted", claim_id=settled.claim_id)


async def on_contractor_changed(
    conn: asyncpg.Connection,
    event: events_pb2.ContractorChanged,
    ctx: EventContext,
    *,
    deps: Deps,
) -> None:
    """Learn who referred a contractor; if their work was accepted already, the
    referral is due now (else the first acceptance posts it)."""
    referral = pb.referral(event)
    if referral is not None and await journal.learn_referral(conn, referral):
        await _post_referral(conn, referral, deps)


async def _post_referral(conn: asyncpg.Connection, referral: Referral, deps: Deps) -> None:
    txn = postings.referral(
        referral,
        bonus=deps.settings.referral_bonus,
        transaction_id=uuid.uuid4(),
        now=deps.clock.now(),
    )
    if txn is None:
        return
    if await journal.post(conn, txn, _pay_posted(deps, txn, referral.referred_by)):
        deps.metrics.posted(txn.kind)
    else:
        log.info("referral_already_posted", contractor_id=referral.contractor_id)
