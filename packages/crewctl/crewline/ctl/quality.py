"""``crewctl quality policy get|set``: a project's quality settings, on the quality
service, with the client's API key. Today one setting: the share of gold tasks."""

from __future__ import annotations

import click

from crewline.ctl.app import State, example, pass_state
from crewline.ctl.output import print_record
from crewline.ctl.records.gold import PolicyRecord, policy_record

_ID = "6f1c2a4e-8b1d-4f7e-9a51-3d2b7c9e0f12"


def print_policy(policy: PolicyRecord) -> None:
    print_record("Quality policy", policy)


@click.group(
    "quality",
    epilog=example(
        f"crewctl quality policy get --project {_ID}",
        f"crewctl quality policy set --project {_ID} --gold-share 10",
    ),
)
def quality() -> None:
    """A client's quality control of its projects, on the quality service, with the
    client's API key. Gold tasks themselves: `crewctl gold`."""


@quality.group(
    "policy",
    epilog=example(
        f"crewctl quality policy get --project {_ID}",
        f"crewctl quality policy set --project {_ID} --gold-share 0",
    ),
)
def policy() -> None:
    """A project's quality settings: gold_share_percent, the share of gold in what each
    contractor takes in the project (0-50; 5 until set). About one task in 100 / share
    is gold, at random, never the same gold task twice to one contractor; once a
    contractor has met every gold task, ordinary work goes on."""


@policy.command("get", epilog=example(f"crewctl quality policy get --project {_ID}"))
@click.option("--project", "project_id", required=True, help="The project.")
@pass_state
def get(state: State, project_id: str) -> None:
    """The project's quality settings, every default filled in."""
    with state.client() as client:
        found = policy_record(client.quality_policy(project_id))
    state.emit(found, print_policy)


@policy.command(
    "set",
    epilog=example(
        f"crewctl quality policy set --project {_ID} --gold-share 10",
        f"crewctl --json quality policy set --project {_ID} --gold-share 0",
    ),
)
@click.option("--project", "project_id", required=True, help="The project.")
@click.option(
    "--gold-share",
    type=click.IntRange(0, 50),
    required=True,
    metavar="PERCENT",
    help="The share of gold in each contractor's work, 0-50 (0: no gold).",
)
@pass_state
def set_(state: State, project_id: str, gold_share: int) -> None:
    """Set the settings given; the others keep their values. Setting the same value
    again changes nothing."""
    with state.client() as client:
        found = policy_record(client.set_quality_policy(project_id, gold_share_percent=gold_share))
    state.emit(found, print_policy)
