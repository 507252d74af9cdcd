"""``crewctl health``: liveness and readiness of the four services."""

from __future__ import annotations

import click

from crewline.ctl.app import State, example, pass_state
from crewline.ctl.errors import UP_HINT, ExitCode
from crewline.ctl.output import note, print_health
from crewline.ctl.records.ops import health_report


@click.command(
    "health",
    short_help="Liveness and readiness of every service.",
    epilog=example("crewctl health", "crewctl --json health | jq .serving"),
)
@pass_state
@click.pass_context
def health(ctx: click.Context, state: State) -> None:
    """Check liveness and readiness of the dispatcher, matcher, ledger and quality service.

    Asks each for grpc.health.v1 Health/Check of "liveness" and of "readiness"
    (a short timeout each; UNREACHABLE when it cannot connect). Exits 6 unless
    every check says SERVING. The --json output is {"serving": bool, "services": [...]}.
    """
    with state.operator(credential_required=False) as operator:
        report = health_report(operator.health_report())
    state.emit(report, lambda r: print_health(r["services"]))
    if not report["serving"]:
        note(f"Not every check says SERVING; {UP_HINT}")
        ctx.exit(ExitCode.UNHEALTHY)
