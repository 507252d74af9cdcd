"""The chaos harness's small run: the marketplace under kills, pauses, a broker kill and
a PostgreSQL restart, then every invariant and the checker's self-test (``make chaos``
runs larger ones). It starts a stack of its own, on ports of its own."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from stack import ROOT

SMALL = [
    "--tasks", "500", "--contractors", "30", "--clients", "2",
    "--kills", "10", "--pauses", "2", "--broker-kills", "1", "--postgres-restarts", "1",
    "--seed", "19",
]  # fmt: skip
# None of make up's, the test stack's or make chaos's, and above the ephemeral range: the
# suite has made many connections by now, and one holding a port would fail a bind.
PORTS = "61437,61098,61071,9131"


@pytest.mark.timeout(1200)  # a hung run fails here; its speed is no criterion
def test_small_chaos_run_holds_every_invariant(tmp_path: Path) -> None:
    home = ROOT / ".local" / "test-chaos"
    run = subprocess.run(
        [sys.executable, "-m", "chaos", *SMALL, "--ports", PORTS, "--home", str(home),
         "--out", str(tmp_path)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        check=False,
    )  # fmt: skip
    print(run.stdout)
    assert run.returncode == 0, run.stdout[-6000:]
    assert "chaos run PASSED" in run.stdout
    report = (tmp_path / "report.md").read_text()
    assert "FAILS" not in report
    assert (tmp_path / "history.jsonl").stat().st_size > 0
