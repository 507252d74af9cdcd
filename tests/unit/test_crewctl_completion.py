"""crewctl completion: each shell's script calls crewctl back."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from crewline.ctl.main import cli
from crewline.ctl.meta import completion_script


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_scripts_call_crewctl_back(shell: str) -> None:
    script = completion_script(cli, shell)
    assert "_CREWCTL_COMPLETE" in script and f"{shell}_complete" in script
    assert CliRunner().invoke(cli, ["completion", shell]).stdout.strip() == script.strip()
