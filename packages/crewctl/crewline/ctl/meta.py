"""About crewctl itself: ``crewctl completion SHELL``, ``crewctl help exit-codes``,
``crewctl --version``, and the global options taken anywhere on the command line."""

from __future__ import annotations

import platform
import sys
from importlib import metadata
from pathlib import Path

import click
from click.shell_completion import get_completion_class

from crewline.ctl.app import State, example, pass_state
from crewline.ctl.errors import EXIT_CODE_MEANINGS
from crewline.ctl.output import print_rows

SHELLS = ("bash", "zsh", "fish")
COMPLETE_VAR = "_CREWCTL_COMPLETE"
PROG = "crewctl"


def completion_script(root: click.Command, shell: str) -> str:
    """Click's completion script for ``shell``, for the command ``crewctl``."""
    found = get_completion_class(shell)
    if found is None:  # not reached: the argument is a choice of SHELLS
        raise click.UsageError(f"no completion for {shell}")
    return found(root, {}, PROG, COMPLETE_VAR).source()


@click.command(
    "completion",
    epilog=example(
        'eval "$(crewctl completion bash)"          # in ~/.bashrc',
        'eval "$(crewctl completion zsh)"           # in ~/.zshrc',
        "crewctl completion fish > ~/.config/fish/completions/crewctl.fish",
    ),
)
@click.argument("shell", type=click.Choice(SHELLS))
@click.pass_context
def completion(ctx: click.Context, shell: str) -> None:
    """Print the shell completion script for SHELL (bash, zsh or fish).

    Commands, options and choices complete; the script calls crewctl back, so it stays
    right when crewctl changes.
    """
    click.echo(completion_script(ctx.find_root().command, shell))


@click.group("help", epilog=example("crewctl help exit-codes", "crewctl --json help exit-codes"))
def help_() -> None:
    """Reference pages: crewctl's exit codes."""


@help_.command("exit-codes", epilog=example("crewctl help exit-codes"))
@pass_state
def exit_codes(state: State) -> None:
    """The exit codes scripts can rely on (also at the end of `crewctl --help`)."""
    rows = [{"code": int(code), "meaning": text} for code, text in EXIT_CODE_MEANINGS.items()]
    state.emit(rows, lambda shown: print_rows("Exit codes", shown, ("code", "meaning")))


def version_text() -> str:
    """crewctl's version and the SDK's, and where this crewctl runs from."""

    def installed(name: str) -> str:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return "not installed"

    return "\n".join(
        (
            f"{PROG} {installed('crewctl')} (crewline-client {installed('crewline-client')},"
            f" Python {platform.python_version()})",
            f"  code:        {Path(__file__).resolve().parent}",
            f"  interpreter: {sys.executable}",
        )
    )


def print_version(ctx: click.Context, _: click.Parameter, given: bool) -> None:
    """``--version``: print ``version_text`` and exit."""
    if given and not ctx.resilient_parsing:
        click.echo(version_text())
        ctx.exit()


def _option(command: click.Command, name: str) -> click.Option | None:
    """``command``'s option called ``name`` (``--reason``, ``-f``), if it has one."""
    for param in command.params:
        if isinstance(param, click.Option) and name in (*param.opts, *param.secondary_opts):
            return param
    return None


def _values(option: click.Option | None, token: str) -> int:
    """How many of the next tokens are ``option``'s values (none in ``--name=value``)."""
    if option is None or "=" in token or option.is_flag or option.count:
        return 0
    return option.nargs


def hoist_global_options(
    root: click.Command, args: list[str], ctx: click.Context | None = None
) -> list[str]:
    """``args`` with the root command's own options (and their values) moved to the
    front, so ``crewctl offers list --json`` reads as ``crewctl --json offers list``.

    A value of the command's own options stays its value (``--reason --json``: a reason
    of "--json"), which the command is found through Click to tell; everything after
    ``--`` stays where it is. A root option left without its value at the end is a usage
    error, rather than taking the command's name as its value (except while completing,
    which Click parses leniently)."""
    ctx = ctx or click.Context(root)
    command = root
    front: list[str] = []
    rest: list[str] = []
    at = 0
    while at < len(args):
        token = args[at]
        at += 1
        if token == "--":
            rest.extend(args[at - 1 :])
            break
        name = token.split("=", 1)[0]
        if (own := _option(root, name)) is not None:
            taken = _values(own, token)
            if at + taken > len(args) and not ctx.resilient_parsing:
                raise click.BadOptionUsage(name, f"Option '{name}' requires an argument.", ctx)
            front.extend(args[at - 1 : at + taken])
        else:
            found = command.get_command(ctx, token) if isinstance(command, click.Group) else None
            command = found or command
            taken = 0 if found else _values(_option(command, name), token)
            rest.extend(args[at - 1 : at + taken])
        at += taken
    return front + rest
