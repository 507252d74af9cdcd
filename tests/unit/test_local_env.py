"""deploy/local/env.sh's handling of CREWLINE_HOME, through the scripts that source it."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_a_relative_home_is_made_absolute_and_the_scripts_return(tmp_path: Path) -> None:
    """A relative CREWLINE_HOME (as `CREWLINE_HOME=.local/x make down` gives) names the
    same folder from every directory a script moves to; postgres.sh, which walks up from
    the home to see who can reach it, answers instead of looping on "." for ever."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CREWLINE_")}
    env["CREWLINE_HOME"] = "relative-home"
    shown = subprocess.run(
        ["bash", "-c", f"source {ROOT}/deploy/local/env.sh && echo $CREWLINE_HOME"],
        cwd=tmp_path, env=env, capture_output=True, text=True, check=True, timeout=30,
    )  # fmt: skip
    assert shown.stdout.strip() == str(tmp_path / "relative-home")
    pids = subprocess.run(
        ["bash", str(ROOT / "deploy" / "local" / "postgres.sh"), "pids"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert pids.returncode == 0, pids.stderr
    assert pids.stdout == ""  # nothing runs there
