"""crewctl: the command line for Crewline's operators, clients and contractors.

    crewctl [--json] [--config PATH] [--dispatcher|--matcher|--ledger|--quality HOST:PORT]
            [--credential CRED] COMMAND ...

Commands: ``client create``, ``client key create|list|revoke``, ``contractor
create|get|update|deactivate|token|revoke-token``, ``qualification type define|list``,
``qualification grant|revoke|list``, ``block create|lift|list``, ``payout run|get``,
``payout list``, ``bonus list``, ``contractor list``, ``client list``,
``ledger verify``, ``deadletters``, ``deadline``, ``health`` (operators); ``project``
(with ``apply -f FILE``), ``task`` (with ``submit --file JSONL``), ``watch``,
``submission``, ``gold add|list``, ``quality policy get|set``, ``quality rules get|set``,
``dispute resolve`` (clients); ``offers``, ``claim``, ``appeal file``, ``dispute file``,
``exam start`` (contractors); ``appeal decide``, ``exam set`` (clients, operators);
``statement``, ``earnings``, ``scores``, ``sanctions``, ``appeals``, ``disputes``,
``exams``, ``exam get|attempts``; ``completion``, ``help``. Every call carries
``authorization: Bearer <operator credential>``, except a client's (its API key) and a
contractor's (its token); ``statement``, ``earnings``, ``scores``, ``sanctions``,
``appeals``, ``disputes``, ``appeal decide``, ``exams`` and ``exam set|get|attempts``
are made as whoever the credential is. Settings are resolved in
``crewline.ctl.config``; TLS comes from ``CREWLINE_TLS_*`` (``crewline.client.tls``).

Exit codes:
    0  ok
    1  the server refused (any other gRPC error; also NOT_QUALIFIED, BLOCKED)
    2  usage error (Click's default; also bad addresses or config file)
    3  credential problem (UNAUTHENTICATED, PERMISSION_DENIED, or no credential found)
    4  not found (NOT_FOUND)
    5  service unavailable (UNAVAILABLE, DEADLINE_EXCEEDED, cannot connect)
    6  health: not every check says SERVING
    7  ledger verify: the books do not reconcile

Also ``crewctl help exit-codes``. Shell completion: ``crewctl completion bash|zsh|fish``.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import click

from crewline.ctl import errors
from crewline.ctl.app import CREDENTIAL_HINT, CREDENTIAL_USED, Options, State, Wiring, example
from crewline.ctl.appeals import appeal, appeals
from crewline.ctl.blocks import block
from crewline.ctl.claims import claim
from crewline.ctl.clients import client
from crewline.ctl.contractors import contractor
from crewline.ctl.deadletters import deadletters
from crewline.ctl.deadlines import deadline
from crewline.ctl.disputes import dispute, disputes
from crewline.ctl.earnings import earnings
from crewline.ctl.exams import exam, exams
from crewline.ctl.export import export as submission_export
from crewline.ctl.gold import gold
from crewline.ctl.health import health
from crewline.ctl.ledger import ledger, payout, statement
from crewline.ctl.listings import bonus, list_batches, list_clients, list_contractors
from crewline.ctl.meta import (
    COMPLETE_VAR,
    PROG,
    completion,
    help_,
    hoist_global_options,
    print_version,
)
from crewline.ctl.offers import offers
from crewline.ctl.project_file import apply as project_apply
from crewline.ctl.projects import project
from crewline.ctl.qualifications import qualification
from crewline.ctl.quality import quality
from crewline.ctl.review_file import review
from crewline.ctl.sanctions import sanctions
from crewline.ctl.scores import scores
from crewline.ctl.submissions import submission
from crewline.ctl.suggest import closest_qualifications
from crewline.ctl.task_file import submit as task_submit
from crewline.ctl.tasks import task
from crewline.ctl.watch import watch

_SETTINGS_HELP = """\b
Settings, first found wins: flag > environment > config file > default.
  addresses    --dispatcher/--matcher/--ledger/--quality;
               CREWLINE_<SERVICE>_GRPC_ADDR; `dispatcher`/`matcher`/`ledger`/`quality`
               in the config file; 127.0.0.1:50051 / 50052 / 50053 / 50054
  credential   --credential; CREWLINE_OPERATOR_CREDENTIAL; the file named by
               CREWLINE_OPERATOR_CREDENTIAL_FILE; CREWLINE_CREDENTIAL when it holds
               the operator credential (crwo_...); `operator_credential` or
               `operator_credential_file` in the config file;
               $CREWLINE_HOME/secrets/operator.credential (CREWLINE_HOME: ./.local).
               `make operator-credential` prints the local stack's one.
               As a client (project, task, watch, submission, gold, quality)
               or a contractor (offers, claim): --credential;
               CREWLINE_CREDENTIAL (an API key, a token).
               statement, earnings: --credential, CREWLINE_CREDENTIAL, else the
               operator credential; with --account or --contractor (someone else's:
               operators only) the operator credential first when one is found.
               scores: --credential, CREWLINE_CREDENTIAL, else the operator
               credential; a contractor's token reads their own, a client's API
               key (its projects') or the operator credential --contractor's; with
               --contractor and a token in CREWLINE_CREDENTIAL, the operator's.
               sanctions, appeals, appeal decide, disputes, exams, exam: --credential,
               CREWLINE_CREDENTIAL, else the operator credential; a contractor's
               token reads its own, a client's API key its projects' (--project).
  config file  --config; CREWCTL_CONFIG; ~/.config/crewline/crewctl.toml (TOML)
  TLS          CREWLINE_TLS_CA_FILE (the servers' CA; turns TLS on), and
               CREWLINE_TLS_CERT_FILE + CREWLINE_TLS_KEY_FILE for mutual TLS"""

_COMPLETION_HELP = """\b
Shell completion: crewctl completion bash|zsh|fish, e.g.
  eval "$(crewctl completion bash)"   # in ~/.bashrc"""


class CrewctlGroup(click.Group):
    """The root group: its options are taken anywhere on the line, and a refused call
    anywhere below becomes a one-line error."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        return super().parse_args(ctx, hoist_global_options(self, args, ctx))

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except Exception as error:
            failure = errors.refusal(error)
            if failure is None:
                raise
            hint = ctx.meta.get(CREDENTIAL_HINT)  # set when a client or contractor called
            suggestion = None
            if hint is None and isinstance(ctx.obj, State):  # an operator's call
                suggestion = closest_qualifications(failure, ctx.obj)
            used = ctx.meta.get(CREDENTIAL_USED)
            raise errors.from_rpc(
                failure, credential_hint=hint, hint=suggestion, credential=used
            ) from None


@click.group(
    cls=CrewctlGroup,
    epilog="\n\n".join(
        (
            example(
                "crewctl client create acme-labs",
                "crewctl --json client key list acme-labs",
                "CREWLINE_CREDENTIAL=$KEY crewctl project apply -f project.yaml",
                "CREWLINE_CREDENTIAL=$TOKEN crewctl offers list",
            ),
            _SETTINGS_HELP,
            errors.exit_codes_help(),
            _COMPLETION_HELP,
        )
    ),
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document, for scripts.")
@click.option("--config", metavar="PATH", help="TOML config file.")
@click.option("--dispatcher", metavar="HOST:PORT", help="Dispatcher gRPC address.")
@click.option("--matcher", metavar="HOST:PORT", help="Matcher gRPC address.")
@click.option("--ledger", metavar="HOST:PORT", help="Ledger gRPC address.")
@click.option("--quality", metavar="HOST:PORT", help="Quality service gRPC address.")
@click.option(
    "--credential",
    metavar="CRED",
    help="Operator credential; for project/task/watch/submission/gold/quality a client's API"
    " key, for offers/claim a contractor's token (visible to other local users; prefer env"
    " or a file).",
)
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=print_version,
    help="Print crewctl's version and where it runs from, and exit.",
)
@click.pass_context
def cli(ctx: click.Context, /, as_json: bool, **given: str | None) -> None:
    """Operate Crewline. As an operator: clients and their API keys; contractors, their
    tokens, qualifications and blocks; payouts, the books, dead letters; health. As a
    client: projects, tasks, watch, review of submissions, gold tasks, quality policies
    and rules, contractors' scores, sanctions, appeals, disputes of gold keys and exams.
    As a contractor: offers, claims, earnings, scores, sanctions, appeals, disputes and
    exams.

    The options below may also be given after the command: `crewctl offers list --json`."""
    # A Wiring already in ctx.obj (tests) replaces the real environment and SDK clients.
    wiring = ctx.obj if isinstance(ctx.obj, Wiring) else Wiring()
    ctx.obj = State(Options(json=as_json, **given), wiring)


project.add_command(project_apply)
task.add_command(task_submit)
submission.add_command(review)
submission.add_command(submission_export)
contractor.add_command(list_contractors)
client.add_command(list_clients)
payout.add_command(list_batches)

cli.add_command(client)
cli.add_command(contractor)
cli.add_command(qualification)
cli.add_command(block)
cli.add_command(project)
cli.add_command(task)
cli.add_command(watch)
cli.add_command(claim)
cli.add_command(health)
cli.add_command(deadline)
cli.add_command(deadletters)
cli.add_command(submission)
cli.add_command(gold)
cli.add_command(quality)
cli.add_command(earnings)
cli.add_command(statement)
cli.add_command(scores)
cli.add_command(sanctions)
cli.add_command(appeals)
cli.add_command(appeal)
cli.add_command(disputes)
cli.add_command(dispute)
cli.add_command(exams)
cli.add_command(exam)
cli.add_command(payout)
cli.add_command(bonus)
cli.add_command(ledger)
cli.add_command(offers)
cli.add_command(completion)
cli.add_command(help_)


def main(argv: Sequence[str] | None = None) -> int:
    """Run crewctl; exits the process with the command's exit code."""
    cli.main(args=argv, prog_name=PROG, complete_var=COMPLETE_VAR)
    return 0  # not reached: Click exits in standalone mode


if __name__ == "__main__":
    sys.exit(main())
