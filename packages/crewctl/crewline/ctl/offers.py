"""``crewctl offers list|stream``: the tasks a contractor may claim now, on the matcher,
with the contractor's token."""

from __future__ import annotations

import json

import click

from crewline.ctl.app import State, example, pass_state
from crewline.ctl.output import note, print_rows
from crewline.ctl.pages import Paging, paging_options, print_more
from crewline.ctl.projects import format_money
from crewline.ctl.records.claims import (
    OfferEvent,
    OfferPage,
    OfferRecord,
    offer_event_record,
    offer_page_record,
)

_PROJECT = "6f1c2a4e-8b1d-4f7e-9a51-3d2b7c9e0f12"


def pay_text(offer: OfferRecord) -> str:
    """``12.50 USD``, ``30.00 USD/h``; ``unpaid`` for an unpaid exam's question."""
    terms = offer["pay_terms"]
    if offer.get("unpaid") or terms is None:
        return "unpaid" if offer.get("unpaid") else "-"
    amount = format_money(terms["amount_minor"], terms["currency"])
    return f"{amount}/h" if terms["basis"] == "hourly" else amount


def print_page(page: OfferPage) -> None:
    rows = [{**o, "pay": pay_text(o)} for o in page["offers"]]
    columns = ("task_id", "title", "pay", "free_slots", "priority", "expires_at")
    print_rows("Offers", rows, columns)
    print_more(page)


def event_line(event: OfferEvent, *, last: bool = False) -> str:
    """One stream event as one line, for people; ``last``: the stream stops at the
    snapshot's end, so no live changes follow it."""
    offer = event["offer"]
    if event["type"] == "offered" and offer is not None:
        return (
            f"offered    task={offer['task_id']}  pay={pay_text(offer)}"
            f"  free_slots={offer['free_slots']}  priority={offer['priority']}  {offer['title']}"
        )
    if event["type"] == "withdrawn":
        return f"withdrawn  task={event['task_id']}  reason={event['reason'] or '-'}"
    if event["type"] == "snapshot_end":
        return f"-- {event['offers']} offers now{'' if last else '; live changes follow'} --"
    return f"-- {event['type']} --"


@click.group(
    "offers",
    epilog=example(
        "crewctl offers list",
        f"crewctl offers stream --project {_PROJECT}",
        "crewctl --json offers stream --snapshot-only | jq -r .task_id",
    ),
)
def offers() -> None:
    """The tasks a contractor may claim now, with the contractor's token.

    The credential is a contractor token (--credential or $CREWLINE_CREDENTIAL). Claim
    one with `crewctl claim create TASK_ID`.
    """


@offers.command("list", epilog=example("crewctl offers list", "crewctl --json offers list --all"))
@click.option("--project", "project_id", default="", help="Only this project's tasks.")
@paging_options(most=100, server_default=50)
@pass_state
def list_(state: State, project_id: str, paging: Paging) -> None:
    """The offers now, highest priority first, then oldest first."""
    with state.contractor() as contractor:
        page = paging.read(
            lambda size, token: offer_page_record(
                contractor.list_offers_page(project_id=project_id, page_size=size, page_token=token)
            ),
            "offers",
        )
    state.emit(page, print_page)


@offers.command(
    "stream",
    epilog=example(
        "crewctl offers stream",
        "crewctl --json offers stream --snapshot-only",
        "crewctl offers stream --limit 10",
    ),
)
@click.option("--project", "project_id", default="", help="Only this project's tasks.")
@click.option(
    "--max-offers",
    type=click.IntRange(0, 1000),
    default=0,
    help="Bound on the first snapshot, 1-1000; 0: 200. Later offers arrive as they open.",
)
@click.option("--snapshot-only", is_flag=True, help="Stop once the offers now are printed.")
@click.option(
    "--limit", type=click.IntRange(1), help="Stop after this many offered/withdrawn events."
)
@pass_state
def stream(
    state: State,
    project_id: str,
    max_offers: int,
    snapshot_only: bool,
    limit: int | None,
) -> None:
    """Print the offers now, then every change, live, one line each (Ctrl-C ends it).

    An offered task already printed replaces it; `withdrawn` says why a task left (filled,
    claimed_by_you, not_eligible, closed). `resync` means: forget the offers so far, a
    fresh snapshot follows. With --json one JSON object a line;
    keepalives are left out.
    """
    as_json = state.options.json
    seen = 0
    with state.contractor() as contractor:
        events = contractor.stream_offers(project_id=project_id, max_offers=max_offers)
        try:
            for found in events:
                event = offer_event_record(found)
                if as_json:
                    click.echo(json.dumps(event, separators=(",", ":")))
                else:
                    click.echo(event_line(event, last=snapshot_only))
                if event["type"] in ("offered", "withdrawn"):
                    seen += 1
                if (snapshot_only and event["type"] == "snapshot_end") or seen == limit:
                    return
        except KeyboardInterrupt:
            note("Stopped.")
        finally:
            events.close()
