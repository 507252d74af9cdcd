"""``crewctl quality policy get|set`` and ``quality rules get|set``: a project's quality
settings, on the quality service, with the client's API key: the share of gold tasks,
and the rules that sanction contractors by their measures (a rules file:
``crewline.ctl.rules_file``)."""

from __future__ import annotations

from typing import IO, Any

import click

from crewline.ctl.app import State, example, pass_state
from crewline.ctl.output import print_record, print_rows
from crewline.ctl.records.gold import PolicyRecord, policy_record
from crewline.ctl.records.sanctions import RuleRecord, RulesRecord, rules_record
from crewline.ctl.rules_file import FORMAT, load_rules

_ID = "6f1c2a4e-8b1d-4f7e-9a51-3d2b7c9e0f12"


def print_policy(policy: PolicyRecord) -> None:
    print_record("Quality policy", policy)


def condition(rule: RuleRecord) -> str | None:
    """``below 70``, ``above 30``: a rule's condition in words."""
    if rule["below"] is not None:
        return f"below {rule['below']}"
    return None if rule["above"] is None else f"above {rule['above']}"


def print_rules(found: RulesRecord) -> None:
    rows: list[dict[str, Any]] = [{**r, "condition": condition(r)} for r in found["rules"]]
    columns = ("rule_id", "measure", "condition", "min_sample", "action", "duration")
    print_rows(f"Quality rules of {found['project_id']}", rows, columns)


@click.group(
    "quality",
    epilog=example(
        f"crewctl quality policy get --project {_ID}",
        f"crewctl quality policy set --project {_ID} --gold-share 10",
        f"crewctl quality rules set --project {_ID} -f rules.yaml",
    ),
)
def quality() -> None:
    """A client's quality control of its projects, on the quality service, with the
    client's API key: the share of gold, and the rules that sanction contractors. Gold
    tasks themselves: `crewctl gold`; what the rules did: `crewctl sanctions`."""


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


@quality.group(
    "rules",
    epilog=example(
        f"crewctl quality rules get --project {_ID}",
        f"crewctl quality rules set --project {_ID} -f rules.yaml",
    ),
)
def rules() -> None:
    """A project's quality rules: measure -> condition -> action, for each contractor.

    A rule acts once the measure (gold_accuracy, acceptance_rate, or time_flag_share:
    the share of the last submissions that were time-flagged) rests on at least
    min_sample answers or submissions and is strictly below or above its value: it
    suspends the contractor in the project, sends all their work to review
    (review_all) for its duration, or notifies. Not again while a sanction of it
    holds. What the rules did: `crewctl sanctions --project P`."""


@rules.command("get", epilog=example(f"crewctl quality rules get --project {_ID}"))
@click.option("--project", "project_id", required=True, help="The project.")
@pass_state
def rules_get(state: State, project_id: str) -> None:
    """The project's rules, with the defaults filled in. --json prints them in the
    shape `quality rules set -f` reads."""
    with state.client() as client:
        found = rules_record(client.quality_policy(project_id))
    state.emit(found, print_rules)


@rules.command(
    "set",
    epilog=example(
        f"crewctl quality rules set --project {_ID} -f rules.yaml",
        f"crewctl --json quality rules get --project {_ID} > rules.json",
        f"crewctl quality rules set --project {_ID} -f rules.json",
    ),
    help="Replace the project's rules with those of a YAML or JSON file (- reads stdin);"
    " the gold share is left as it is. An empty list removes every rule.\n\n"
    "The quality service checks every rule and names the field it refuses"
    " (policy.rules[2].below), setting nothing then. Setting the same rules again"
    f" changes nothing.\n\n{FORMAT}",
)
@click.option("--project", "project_id", required=True, help="The project.")
@click.option(
    "-f",
    "--file",
    "source",
    type=click.File("r"),
    required=True,
    metavar="FILE",
    help="The rules: .yaml, .yml or .json; - reads stdin.",
)
@pass_state
def rules_set(state: State, project_id: str, source: IO[str]) -> None:
    given = load_rules(source, project_id)
    with state.client() as client:
        found = rules_record(client.set_quality_policy(project_id, rules=given))
    state.emit(found, print_rules)
