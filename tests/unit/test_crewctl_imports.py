"""crewctl's help stays quick: loading its commands imports neither gRPC, nor the SDK, nor
the generated messages until a command calls a service, and what it writes out to stay
so agrees with the SDK."""

from __future__ import annotations

import json
import subprocess
import sys

from crewline.client.build import COMPARATORS
from crewline.ctl.projects import COMPARATORS as CTL_COMPARATORS


def test_crewctl_comparators_are_the_sdks() -> None:
    assert CTL_COMPARATORS == COMPARATORS


def test_loading_every_command_imports_no_grpc_sdk_or_generated_code() -> None:
    probe = (
        "import sys, json; import crewline.ctl.main;"
        " print(json.dumps(sorted(m for m in sys.modules"
        " if m.split('.')[0] == 'grpc' or m.startswith(('crewline.client', 'crewline.v1')))))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert json.loads(done.stdout) == []
