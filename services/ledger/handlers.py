"""What the ledger does, one function per query and event.

The routing table at the bottom answers "what reacts to X?".
"""

from __future__ import annotations

import uuid
from functools import partial

import asyncpg
from google.protobuf.message import Message

from crewline.auth.principal import Kind, Principal
from crewline.consumer import EventContext, Handler
from crewline.errors import InvalidArgument, NotFound
from crewline.log import get_logger
from crewline.money import Money
from crewline.protobuf import money_from_pb
from crewline.v1 import events_pb2
from ledger.adapters import protobuf as pb
from ledger.adapters import repository as repo
from ledger.deps import Deps
from ledger.domain.model import BooksReport, account_of, pay_for_accepted_work

log = get_logger(__name__)


async def on_submission_accepted(
    conn: asyncpg.Connection,
    event: events_pb2.SubmissionAccepted,
    ctx: EventContext,
    *,
    deps: Deps,
) -> None:
    """Pay accepted work once: the source key makes a second booking impossible."""
    txn = pay_for_accepted_work(
        submission_id=event.submission_id,
        client_id=event.client_id,
        contractor_id=event.contractor_id,
        reward=money_from_pb(event.reward),
        transaction_id=uuid.uuid4(),
        now=deps.clock.now(),
    )
    if not await repo.post(conn, txn):
        log.info("pay_already_posted", submission_id=event.submission_id)
        return
    credit = txn.entries[-1]
    await deps.publisher.publish(conn, pb.pay_posted(txn, credit, event.submission_id))


async def get_balance(
    account_id: str | None, caller: Principal, deps: Deps
) -> tuple[str, list[Money]]:
    """An account's balances. Clients and contractors see only their own account
    (another's answers NOT_FOUND); operators name any account."""
    own = account_of(caller)
    if account_id is None:
        if own is None:
            raise InvalidArgument("account_id", "is required for an operator")
        account_id = own
    elif caller.kind is not Kind.OPERATOR and account_id != own:
        raise NotFound(f"account {account_id} not found")
    async with deps.pool.acquire() as conn:
        return account_id, await repo.balances(conn, account_id)


async def verify_books(deps: Deps) -> BooksReport:
    async with deps.pool.acquire() as conn, conn.transaction(isolation="repeatable_read"):
        return await repo.books_report(conn)


def event_routes(deps: Deps) -> dict[type[Message], Handler]:
    return {events_pb2.SubmissionAccepted: partial(on_submission_accepted, deps=deps)}
