"""What operators list: ``crewctl contractor list``, ``client list``, ``bonus list`` and
``payout list``; and ``payout run --dry-run``'s preview. Each list is paged as the
others are: one page, ``--page-token`` for the next, ``--all`` for every page."""

from __future__ import annotations

import click

from crewline.ctl.app import State, example, pass_state
from crewline.ctl.output import print_record, print_rows
from crewline.ctl.pages import Paging, paging_options, print_more
from crewline.ctl.projects import money_text
from crewline.ctl.records.listings import (
    BatchPage,
    BonusPage,
    ClientPage,
    ContractorPage,
    PayoutPreviewRecord,
    batch_page,
    bonus_page,
    client_page,
    contractor_page,
)

# --- contractors -------------------------------------------------------------------------


def print_contractors(page: ContractorPage) -> None:
    rows = [{**c, "domains": ", ".join(c["domains"])} for c in page["contractors"]]
    columns = ("contractor_id", "display_name", "domains", "active", "blocked")
    print_rows("Contractors", rows, columns)
    print_more(page)


@click.command(
    "list",
    epilog=example(
        "crewctl contractor list --qualification domain.dermatology --active",
        "crewctl --json contractor list --blocked --all",
    ),
)
@click.option("--qualification", default="", help="Only those holding this qualification.")
@click.option(
    "--blocked/--not-blocked",
    default=None,
    help="Only those with (or without) a block in force. Default: both.",
)
@click.option(
    "--active/--inactive",
    default=None,
    help="Only active (or deactivated) contractors. Default: both.",
)
@paging_options(most=500, server_default=50)
@pass_state
def list_contractors(
    state: State,
    qualification: str,
    blocked: bool | None,
    active: bool | None,
    paging: Paging,
) -> None:
    """Contractors by id, with whether a block is in force; filters combine."""
    with state.operator() as operator:
        page = paging.read(
            lambda size, token: contractor_page(
                operator.list_contractors_page(
                    qualification=qualification,
                    blocked=blocked,
                    active=active,
                    page_size=size,
                    page_token=token,
                )
            ),
            "contractors",
        )
    state.emit(page, print_contractors)


# --- clients -----------------------------------------------------------------------------


def print_clients(page: ClientPage) -> None:
    columns = ("client_id", "display_name", "active_api_keys", "created_at")
    print_rows("Clients", page["clients"], columns)
    print_more(page)


@click.command("list", epilog=example("crewctl client list", "crewctl --json client list --all"))
@paging_options(most=500, server_default=50)
@pass_state
def list_clients(state: State, paging: Paging) -> None:
    """Clients by id, each with its count of API keys not revoked."""
    with state.operator() as operator:
        page = paging.read(
            lambda size, token: client_page(
                operator.list_clients_page(page_size=size, page_token=token)
            ),
            "clients",
        )
    state.emit(page, print_clients)


# --- bonuses -----------------------------------------------------------------------------


@click.group("bonus", epilog=example("crewctl bonus list --client acme-labs"))
def bonus() -> None:
    """Bonuses clients granted on submissions: list them. Operators only (a client grants
    one with `crewctl submission bonus`)."""


def print_bonuses(page: BonusPage) -> None:
    rows = [{**b, "amount": money_text(b["amount"])} for b in page["bonuses"]]
    columns = ("granted_at", "client_id", "contractor_id", "amount", "reason", "submission_id")
    print_rows("Bonuses", rows, columns)
    print_more(page)


@bonus.command(
    "list",
    epilog=example(
        "crewctl bonus list",
        "crewctl --json bonus list --client acme-labs --project"
        " 6f1c2a4e-8b1d-4f7e-9a51-3d2b7c9e0f12 --all",
    ),
)
@click.option("--client", "client_id", default="", help="Only this client's bonuses.")
@click.option("--project", "project_id", default="", help="Only on this project's submissions.")
@paging_options(most=500, server_default=50)
@pass_state
def list_bonuses(state: State, client_id: str, project_id: str, paging: Paging) -> None:
    """Bonuses newest first, each with its submission, task, project, client and
    contractor, and the client's idempotency key."""
    with state.operator() as operator:
        page = paging.read(
            lambda size, token: bonus_page(
                operator.list_bonuses_page(
                    client_id=client_id,
                    project_id=project_id,
                    page_size=size,
                    page_token=token,
                )
            ),
            "bonuses",
        )
    state.emit(page, print_bonuses)


# --- payout batches ----------------------------------------------------------------------


def print_batches(page: BatchPage) -> None:
    rows = [
        {**b, "threshold": money_text(b["threshold"]), "total": money_text(b["total"])}
        for b in page["batches"]
    ]
    columns = ("batch_id", "created_at", "threshold", "payout_count", "total", "completed_at")
    print_rows("Payout batches", rows, columns)
    print_more(page)


@click.command("list", epilog=example("crewctl payout list", "crewctl --json payout list --all"))
@paging_options(most=500, server_default=50)
@pass_state
def list_batches(state: State, paging: Paging) -> None:
    """Payout batches newest first, each with its count and total (`crewctl payout get
    BATCH_ID` shows its payouts). A batch without completed_at was cut short: running
    it again with the same id and threshold finishes it."""
    with state.operator() as operator:
        page = paging.read(
            lambda size, token: batch_page(
                operator.list_payout_batches_page(page_size=size, page_token=token)
            ),
            "batches",
        )
    state.emit(page, print_batches)


def print_preview(preview: PayoutPreviewRecord) -> None:
    rows = [{**p, "amount": money_text(p["amount"])} for p in preview["payouts"]]
    print_rows("Would pay (nothing was paid)", rows, ("contractor_id", "amount", "account_id"))
    shown = {k: v for k, v in preview.items() if k != "payouts"}
    shown["threshold"] = money_text(preview["threshold"])
    shown["total"] = money_text(preview["total"])
    print_record("Dry run", {**shown, "payouts": len(preview["payouts"])})
