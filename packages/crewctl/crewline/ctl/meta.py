"""Commands about crewctl itself: ``crewctl completion SHELL`` and ``crewctl help exit-codes``."""

from __future__ import annotations

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
