"""crewctl's help stays quick: loading its commands imports neither gRPC, nor the SDK, nor
the generated messages until a command calls a service, and what it writes out to stay
so agrees with the SDK."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

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


def test_crewctl_reads_and_writes_amounts_by_the_sdks_currency_table(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from crewline.client.results import money
    from crewline.ctl.projects import format_money, minor_units

    monkeypatch.setitem(money.DECIMALS, "XTS", 3)  # ISO 4217's code kept for testing

    assert minor_units("1.234", "XTS") == 1234
    assert format_money(1234, "XTS") == "1.234 XTS"
