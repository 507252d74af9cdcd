"""What the ledger does, one function per query and event.

The routing table at the bottom answers "what reacts to X?".
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import asyncpg

from crewline import outbox
from crewline.consumer import EventContext, Handler
from crewline.events import PAY_TOPIC
from crewline.log import get_logger
from crewline.money import Money
from crewline.protobuf import money_from_pb
from crewline.v1 import events_pb2
from ledger.adapters import protobuf as pb
from ledger.adapters import repository as repo
from ledger.domain.model import BooksReport, pay_for_accepted_work

SERVICE = "ledger"

log = get_logger(__name__)


async def on_submission_accepted(
    conn: asyncpg.Connection, event: events_pb2.SubmissionAccepted, ctx: EventContext
) -> None:
    """Pay accepted work once: the source key makes a second booking impossible."""
    txn = pay_for_accepted_work(
        submission_id=event.submission_id,
        client_id=event.client_id,
        contractor_id=event.contractor_id,
        reward=money_from_pb(event.reward),
        transaction_id=uuid.uuid4(),
        now=datetime.now(UTC),
    )
    if not await repo.post(conn, txn):
        log.info("pay_already_posted", submission_id=event.submission_id)
        return
    credit = txn.entries[-1]
    await outbox.enqueue(
        conn,
        topic=PAY_TOPIC,
        key=credit.account_id,
        payload=pb.pay_posted(txn, credit, event.submission_id),
        producer=SERVICE,
    )


async def get_balance(account_id: str, *, pool: asyncpg.Pool) -> list[Money]:
    async with pool.acquire() as conn:
        return await repo.balances(conn, account_id)


async def verify_books(*, pool: asyncpg.Pool) -> BooksReport:
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read"):
        return await repo.books_report(conn)


EVENT_ROUTES: dict[type, Handler] = {
    events_pb2.SubmissionAccepted: on_submission_accepted,
}
