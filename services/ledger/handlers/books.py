"""Reading the books, and correcting them: balances, statements, earnings, Verify,
reversals. Who may call each is the access policy in ``entrypoints/grpc_api.py``;
which account a client or contractor may read is decided here (their own)."""

from __future__ import annotations

import uuid

from crewline import validate
from crewline.auth.principal import Principal
from crewline.errors import NotFound
from crewline.money import Money
from crewline.paging import decode_token, encode_token, page_size, split_page, token_uint
from ledger.adapters import books, journal
from ledger.deps import Deps
from ledger.domain import postings
from ledger.domain.earnings import Earnings, readable_contractor
from ledger.domain.model import (
    BooksReport,
    JournalTransaction,
    StatementEntry,
    readable_account,
)

STATEMENT_PAGE = 50
STATEMENT_PAGE_MAX = 500


async def get_balance(
    account_id: str | None, caller: Principal, deps: Deps
) -> tuple[str, list[Money]]:
    """An account's balances, one per currency."""
    account = readable_account(account_id, caller)
    async with deps.pool.acquire() as conn:
        return account, await books.balances(conn, account)


async def list_statement(
    account_id: str | None,
    caller: Principal,
    deps: Deps,
    *,
    size: int = 0,
    page_token: str = "",
) -> tuple[str, list[StatementEntry], str]:
    """A page of an account's entries, newest first, each with the balance after it;
    the account, the entries, and the next page's token ("" after the last)."""
    account = readable_account(account_id, caller)
    limit = page_size(size, default=STATEMENT_PAGE, maximum=STATEMENT_PAGE_MAX)
    before = _entry_of(page_token) if page_token else None
    async with deps.pool.acquire() as conn:
        entries = await books.statement(conn, account, before=before, limit=limit + 1)
    page, last = split_page(entries, limit)
    return account, page, encode_token(str(last.entry_id)) if last else ""


def _entry_of(token: str) -> int:
    [text] = decode_token(token, parts=1)
    return token_uint(text)


async def get_earnings(contractor_id: str | None, caller: Principal, deps: Deps) -> Earnings:
    contractor = readable_contractor(contractor_id, caller)
    async with deps.pool.acquire() as conn:
        return await books.earnings(conn, contractor)


async def verify_books(deps: Deps) -> BooksReport:
    async with deps.pool.acquire() as conn, conn.transaction(isolation="repeatable_read"):
        report = await books.books_report(conn, now=deps.clock.now())
    deps.metrics.verified(report)
    return report


async def reverse(transaction_id: str, memo: str, deps: Deps) -> JournalTransaction:
    """Correct a transaction by a new one that negates it (at most once: a second call
    returns the first reversal). The original stays as it was."""
    original_id = validate.uuid_id(transaction_id, field="transaction_id")
    validate.text(memo, field="memo", max_length=500)
    async with deps.pool.acquire() as conn, conn.transaction():
        original = await journal.transaction(conn, original_id)
        if original is None:
            raise NotFound(f"transaction {transaction_id} not found")
        txn = postings.reversal(
            original, transaction_id=uuid.uuid4(), now=deps.clock.now(), memo=memo
        )
        if not await journal.post(conn, txn):
            earlier = await journal.transaction_by_source(conn, txn.source)
            assert earlier is not None
            return earlier
    deps.metrics.posted(txn.kind)  # committed
    return txn
