"""``crewctl scores``: what the quality service measures of a contractor's work, per project.

Made as whoever the credential is (``State.scorer``): a contractor's token reads their
own scores; a client's API key the scores a contractor earned in the client's own
projects, an operator any contractor's, the contractor named with --contractor.
"""

from __future__ import annotations

import click

from crewline.ctl.app import State, example, pass_state
from crewline.ctl.output import print_rows
from crewline.ctl.pages import Paging, paging_options, print_more
from crewline.ctl.records.scores import ScorePage, score_page

_COLUMNS = ("project_id", "measure", "value", "accepted", "reviewed", "window", "updated_at")


def print_scores(page: ScorePage, contractor_id: str) -> None:
    title = f"Scores of {contractor_id}" if contractor_id else "Your scores"
    print_rows(title, page["scores"], _COLUMNS)
    print_more(page)


@click.command(
    "scores",
    epilog=example(
        "crewctl scores",
        "crewctl scores --contractor dr-lee --project 1eb0688e-8b1d-4f7e-9a51-3d2b7c9e0f12",
        "crewctl --json scores --contractor dr-lee --all",
    ),
)
@click.option(
    "--contractor",
    "contractor_id",
    default="",
    help="Clients and operators: whose scores. A contractor leaves it out: their own.",
)
@click.option("--project", "project_id", default="", help="Only this project's scores.")
@paging_options(most=500, server_default=50)
@pass_state
def scores(state: State, contractor_id: str, project_id: str, paging: Paging) -> None:
    """A contractor's scores: one per project and measure, by project.

    The acceptance rate (acceptance_rate) is the share of the contractor's last
    reviewed submissions in the project (the window, fewer while there are fewer) that
    were accepted, an overridden rejection counting as accepted, smoothed and shown as
    0-100: one acceptance of one review shows 75. Gold accuracy (gold_accuracy) is
    the share of the contractor's answers to gold tasks that were correct, accepted
    counting the correct ones and reviewed those scored. Nothing measured, no score.

    A contractor sees their own (their token in --credential or $CREWLINE_CREDENTIAL);
    a client (its API key) the scores the contractor named with --contractor earned in
    the client's own projects, none elsewhere; an operator (the operator credential)
    any contractor's.
    """
    from crewline.client import sync

    with state.scorer(contractor_named=bool(contractor_id)) as reader:

        def read(size: int, token: str) -> ScorePage:
            if isinstance(reader, sync.Contractor):
                found = reader.my_scores_page(
                    project_id=project_id, page_size=size, page_token=token
                )
            else:
                found = reader.contractor_scores_page(
                    contractor_id, project_id=project_id, page_size=size, page_token=token
                )
            return score_page(found)

        page = paging.read(read, "scores")
    state.emit(page, lambda shown: print_scores(shown, contractor_id))
