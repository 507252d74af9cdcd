"""The books, on the ledger: ``crewctl ledger verify`` and ``crewctl payout ...``
(operators), ``crewctl statement`` (anyone, for what is theirs; ``crewctl earnings``:
``crewline.ctl.earnings``).

Operators' commands carry the operator credential. ``statement`` and ``earnings`` are
made as whoever the credential is: --credential, else $CREWLINE_CREDENTIAL (a client's
API key or a contractor's token: their own account), else the operator credential
(any account, named with --account or --contractor).
"""

from __future__ import annotations

import click

from crewline.ctl.app import State, example, pass_state
from crewline.ctl.errors import ExitCode
from crewline.ctl.listings import print_preview
from crewline.ctl.output import note, print_record, print_rows
from crewline.ctl.pages import Paging, paging_options, print_more
from crewline.ctl.projects import money_text
from crewline.ctl.records.ledger import (
    PayoutBatchRecord,
    StatementPage,
    VerifyRecord,
    batch_record,
    statement_record,
    verify_record,
)
from crewline.ctl.records.listings import preview_record
from crewline.ctl.records.submissions import money_pb
from crewline.ctl.submissions import money

_BATCH = "2026-w18"

# Counts of trouble in a verification: each must be 0.
TROUBLE = (
    "unbalanced_transaction_count",
    "mismatched_balance_count",
    "unpaid_count",
    "paid_twice_count",
    "rejected_with_pay_count",
)


def reconciled(report: VerifyRecord) -> bool:
    """The books balance, and every check found nothing wrong."""
    return report["balanced"] and not any(report[k] for k in TROUBLE)  # type: ignore[literal-required]


def duration_text(seconds: int) -> str:
    """7500 -> ``2h05m``; under an hour ``12m30s``."""
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"


# --- ledger verify ----------------------------------------------------------------------


def print_verify(report: VerifyRecord) -> None:
    shown: dict[str, object] = dict(report)
    shown["total_paid_to_contractors"] = (
        ", ".join(t for t in map(money_text, report["total_paid_to_contractors"]) if t) or None
    )
    shown["balanced"] = "yes" if report["balanced"] else "NO"
    print_record("Books", shown)


@click.group("ledger", epilog=example("crewctl ledger verify", "crewctl --json ledger verify"))
def ledger() -> None:
    """The books: verify that they reconcile. Operators only."""


@ledger.command(
    "verify",
    epilog=example("crewctl ledger verify", "crewctl --json ledger verify | jq .paid_twice_count"),
)
@pass_state
@click.pass_context
def verify(ctx: click.Context, state: State) -> None:
    """Recompute every balance from the journal and check the books.

    Checks that every transaction sums to zero per currency, that each stored balance
    equals the sum of its account's entries, that every accepted submission was paid
    exactly once and no rejected one at all; prints what it checked, with counts.
    Exits 7 unless everything reconciles (the report is printed either way).
    """
    with state.operator() as operator:
        report = verify_record(operator.verify_books().raw)
    state.emit(report, print_verify)
    if not reconciled(report):
        wrong = ", ".join(f"{k}={report[k]}" for k in TROUBLE if report[k])  # type: ignore[literal-required]
        note(f"The books do not reconcile: {wrong or 'not balanced'}")
        ctx.exit(ExitCode.UNRECONCILED)


# --- payouts ----------------------------------------------------------------------------


def print_batch(batch: PayoutBatchRecord) -> None:
    shown: dict[str, object] = {k: v for k, v in batch.items() if k != "payouts"}
    shown["threshold"] = money_text(batch["threshold"])
    shown["total"] = money_text(batch["total"])
    shown["payouts"] = len(batch["payouts"])
    print_record("Payout batch", shown)
    rows = [{**p, "amount": money_text(p["amount"])} for p in batch["payouts"]]
    print_rows("Payouts", rows, ("contractor_id", "amount", "status", "payout_id"))


@click.group(
    "payout",
    epilog=example(
        f"crewctl payout run {_BATCH} --threshold 50.00 USD", f"crewctl payout get {_BATCH}"
    ),
)
def payout() -> None:
    """Payout batches: contractors' balances moved out for payment. Operators only."""


@payout.command(
    "run",
    epilog=example(
        f"crewctl payout run {_BATCH} --threshold 50.00 USD",
        f"crewctl --json payout run {_BATCH} --threshold 0.01 USD | jq .total",
        "crewctl payout run --threshold 50.00 USD --dry-run",
    ),
)
@click.argument("batch_id", required=False)
@click.option(
    "--threshold",
    nargs=2,
    required=True,
    metavar="AMOUNT CURRENCY",
    help="Pay out every contractor balance of at least this, e.g. 50.00 USD.",
)
@click.option(
    "--dry-run",
    is_flag=True,
    help="Show what it would pay now, per contractor and in total; pay nothing.",
)
@pass_state
def run(state: State, batch_id: str | None, threshold: tuple[str, str], dry_run: bool) -> None:
    """Run the payout batch BATCH_ID (1-128 characters you choose, e.g. the week).

    Every contractor whose balance in that currency is at least the threshold is paid
    out in full, each all or nothing. The batch id makes it safe to run again, forever:
    the same id returns the same batch (with another threshold it is refused).
    --dry-run shows what a run would pay now and pays nothing (no BATCH_ID needed); it
    reserves nothing, so balances that change before the run change what it pays.

    Each payout is then in_flight: its amount has left the contractor's balance for the
    payouts:in_flight account, and is owed to them through the payment rail. Sending the
    money is done outside Crewline, from the batch (`crewctl payout get BATCH_ID`) with
    each payout_id as the reference; Crewline records no later step, so in_flight is a
    payout's only and final status.
    """
    value = money_pb(money(*threshold))
    if dry_run:
        with state.operator() as operator:
            preview = preview_record(operator.preview_payout_batch(threshold=value).raw)
        state.emit(preview, print_preview)
        return
    if not batch_id:
        raise click.UsageError("give the BATCH_ID to run (or --dry-run to see what it would pay)")
    with state.operator() as operator:
        batch = batch_record(operator.run_payout_batch(threshold=value, batch_id=batch_id).raw)
    state.emit(batch, print_batch)


@payout.command("get", epilog=example(f"crewctl payout get {_BATCH}"))
@click.argument("batch_id")
@pass_state
def get_batch(state: State, batch_id: str) -> None:
    """The payout batch BATCH_ID and its payouts."""
    with state.operator() as operator:
        batch = batch_record(operator.get_payout_batch(batch_id).raw)
    state.emit(batch, print_batch)


# --- statement --------------------------------------------------------------------------


def print_statement(page: StatementPage) -> None:
    rows = [
        {
            **e,
            "amount": money_text(e["amount"]),
            "balance_after": money_text(e["balance_after"]),
        }
        for e in page["entries"]
    ]
    columns = ("posted_at", "kind", "source", "amount", "balance_after", "reversal_of", "memo")
    print_rows(f"Statement of {page['account_id'] or 'your account'}", rows, columns)
    print_more(page)


@click.command(
    "statement",
    epilog=example(
        "crewctl statement",
        "crewctl statement --account contractor:dr-lee --all",
        "crewctl --json statement --account payouts:in_flight --page-size 100",
    ),
)
@click.option(
    "--account",
    "account_id",
    default="",
    help="Operators: any account, e.g. contractor:ID, client:ID, platform:fees,"
    " payouts:in_flight. Default: your own.",
)
@paging_options(most=500, server_default=None)
@pass_state
def statement(state: State, account_id: str, paging: Paging) -> None:
    """An account's entries, newest first, each with the balance after it.

    A client or a contractor sees their own account (their API key or token in
    --credential or $CREWLINE_CREDENTIAL); an operator any account (--account).
    """
    with state.ledger(someone_else=bool(account_id)) as reader:
        page = paging.read(
            lambda size, token: statement_record(
                reader.statement_page(account_id=account_id, page_size=size, page_token=token).raw
            ),
            "entries",
        )
    state.emit(page, print_statement)
