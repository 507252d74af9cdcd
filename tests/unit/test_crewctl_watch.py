"""``crewctl watch`` against a stand-in dispatcher: its lines, its reconnections from the
last cursor printed, and how it ends (Ctrl-C, a refusal) with the cursor to resume from.

The SDK's waits before reconnecting are recorded instead of taken, with their jitter at
the top of its range; the user's Ctrl-C is a real SIGINT sent during a chosen wait.
"""

from __future__ import annotations

import asyncio
import json
import math
import signal
import threading
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest
from click.testing import Result
from crewctl_golden.harness import Crewctl
from grpc_standin import EachCall, Refusal, StandIns

from crewline.client import streams
from crewline.client.streams import CursorStream
from crewline.ctl.errors import ExitCode
from crewline.ctl.records.tasks import WatchEventRecord
from crewline.ctl.watch import event_line, reconnect_policy

KEY = "crwk_k1_client-secret"
AT = "2026-01-02T03:04:05Z"
TASK_ID = "0f3e8c1a-5b7d-4c2e-9a6f-1d2b3c4e5f60"
DOWN = Refusal("UNAVAILABLE", "draining")
# A call refused before its first message: CANCELLED (a server shutting down cancels its
# streams), as gRPC's channel retries UNAVAILABLE itself until a message has come.
GONE = Refusal("CANCELLED", "server shutting down")


def sent(n: int, **event: dict[str, Any]) -> dict[str, Any]:
    """A WatchEvent with cursor c<n>, as the dispatcher sends it."""
    return {"cursor": f"c{n}", "at": AT, "task_id": TASK_ID, "project_id": "p-1", **event}


def granted(n: int) -> dict[str, Any]:
    return sent(n, claim_granted={"claim_id": f"claim-{n}", "contractor_id": "dr-lee"})


def granted_record(n: int) -> WatchEventRecord:
    """``granted(n)`` as crewctl prints it with --json: every field of the event."""
    return {
        "cursor": f"c{n}",
        "at": AT,
        "task_id": TASK_ID,
        "project_id": "p-1",
        "type": "claim_granted",
        "event": {
            "claim_id": f"claim-{n}",
            "task_id": "",
            "contractor_id": "dr-lee",
            "granted_at": None,
            "project_id": "",
            "pay_terms": None,
            "deadline_at": None,
            "max_deadline_at": None,
            "client_id": "",
        },
    }


def batch(*events: dict[str, Any]) -> dict[str, Any]:
    return {"events": list(events)}


@dataclass
class Waits:
    """The SDK's waits before each reconnection, recorded instead of taken; during wait
    number ``ctrl_c_at`` the user presses Ctrl-C."""

    seen: list[float] = field(default_factory=list)
    ctrl_c_at: int = 0

    async def sleep(self, seconds: float) -> None:
        self.seen.append(seconds)
        assert len(self.seen) < 20, "reconnecting without end"
        if len(self.seen) == self.ctrl_c_at:
            signal.pthread_kill(cast(int, threading.main_thread().ident), signal.SIGINT)
            await asyncio.Event().wait()  # until crewctl, interrupted, ends the stream


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> Waits:
    # Ctrl-C must raise KeyboardInterrupt in crewctl, as it does in a terminal.
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    found = Waits()
    defaults = CursorStream.__init__.__kwdefaults__
    assert defaults is not None and "sleep" in defaults  # the SDK's Watch sleeps with it
    monkeypatch.setitem(defaults, "sleep", found.sleep)
    monkeypatch.setattr(streams, "random", SimpleNamespace(random=lambda: 1.0))
    return found


@pytest.fixture
def crewctl(servers: StandIns, tmp_path: Path, waits: Waits) -> Crewctl:
    return Crewctl(servers, caller="none", env={"CREWLINE_CREDENTIAL": KEY}, cwd=tmp_path)


def cursors_asked(crewctl: Crewctl) -> list[str]:
    """The cursor of each Watch call the dispatcher received, in order."""
    return [sent.get("cursor", "") for sent in crewctl.requests("Watch")]


def printed_cursors(result: Result) -> list[str]:
    return [json.loads(line)["cursor"] for line in result.stdout.splitlines()]


# --- what a line shows, and how long a reconnection waits --------------------------------


def event(n: int, kind: str = "claim_granted", **fields: Any) -> WatchEventRecord:
    return {
        "cursor": f"c{n}",
        "at": AT,
        "task_id": TASK_ID,
        "project_id": "p-1",
        "type": kind,
        "event": {"claim_id": f"claim-{n}", "contractor_id": "dr-lee", **fields},
    }


def test_a_human_watch_line_shows_the_events_main_fields() -> None:
    amount = {"currency": "USD", "amount_minor": 1250}
    line = event_line(
        event(4, "claim_settled", amount=amount, worked_seconds=1500, reason="task_cancelled")
    )
    assert "\n" not in line
    assert line.startswith(f"{AT}  claim_settled")
    assert f"task={TASK_ID}" in line and "claim_id=claim-4" in line
    assert "amount=12.50 USD" in line and "reason=task_cancelled" in line
    ended = event_line(event(5, "claim_ended", reason="released", reoffered=True))
    assert "reoffered=yes" in ended


def test_reconnection_waits_are_jittered_and_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    policy = reconnect_policy({})
    assert policy.give_up_after == math.inf  # it reconnects for as long as it takes
    for jitter, first, last in ((0.0, 0.25, 15.0), (1.0, 0.5, 30.0)):
        monkeypatch.setattr(streams, "random", SimpleNamespace(random=lambda j=jitter: j))
        assert (policy.delay(1), policy.delay(51)) == (first, last)


# --- the command line --------------------------------------------------------------------


def test_watch_prints_events_reconnects_and_prints_the_cursor_on_ctrl_c(
    crewctl: Crewctl, waits: Waits
) -> None:
    ended = sent(2, claim_ended={"claim_id": "claim-2", "reason": "CLAIM_END_REASON_EXPIRED"})
    waits.ctrl_c_at = 3
    calls = EachCall([[batch(granted(1)), DOWN], [{}, batch(ended)], [{}]])
    result = crewctl.run("watch", "--project", "p-1", "--from", "c0", Watch=calls)
    assert result.exit_code == 0, (result.stdout, result.stderr)
    lines = result.stdout.splitlines()
    assert len(lines) == 2 and "claim_granted" in lines[0] and "reason=expired" in lines[1]
    assert crewctl.requests("Watch") == [
        {"cursor": "c0", "project_id": "p-1"},
        {"cursor": "c1", "project_id": "p-1"},
        {"cursor": "c2", "project_id": "p-1"},
    ]
    assert "UNAVAILABLE: draining; reconnecting in 0.5 s from cursor c1" in result.stderr
    assert "Resume with: crewctl watch --project p-1 --from c2" in result.stderr
    assert waits.seen == [0.5, 0.5, 0.5]  # each connection got through: no growth


@pytest.mark.parametrize("flag", [("watch", "--json"), ("--json", "watch")])
def test_watch_json_prints_one_object_per_line_with_its_cursor(
    crewctl: Crewctl, waits: Waits, flag: tuple[str, str]
) -> None:
    waits.ctrl_c_at = 1
    result = crewctl.run(*flag, Watch=[batch(granted(1), granted(2))])
    assert result.exit_code == 0, (result.stdout, result.stderr)
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert records == [granted_record(1), granted_record(2)]


def test_watch_without_any_event_says_there_is_nothing_to_resume(
    crewctl: Crewctl, waits: Waits
) -> None:
    waits.ctrl_c_at = 1
    result = crewctl.run("watch", Watch=[])
    assert result.exit_code == 0 and "nothing to resume from" in result.stderr
    assert "reconnecting in 0.5 s from now (no event yet)" in result.stderr
    assert crewctl.requests("Watch") == [{}]
    assert crewctl.authorizations() == [f"Bearer {KEY}"]


def test_watch_ends_on_a_refusal_with_its_exit_code_and_the_last_cursor(
    crewctl: Crewctl, waits: Waits
) -> None:
    result = crewctl.run("watch", Watch=[batch(granted(1)), Refusal("UNAUTHENTICATED", "no")])
    assert result.exit_code == ExitCode.CREDENTIAL
    assert "--from c1" in result.stderr and "client's API key" in result.stderr
    assert waits.seen == []


def test_watch_resumes_from_the_last_cursor_printed_after_unavailable(
    crewctl: Crewctl, waits: Waits
) -> None:
    calls = EachCall(
        [
            [batch(granted(1), granted(2)), {}, DOWN],
            [GONE],  # the dispatcher is still down
            [batch(granted(3))],  # back; then the stream ends (a server draining)
            [{}],
        ]
    )
    waits.ctrl_c_at = 5
    result = crewctl.run("--json", "watch", "--from", "c0", Watch=calls)
    assert result.exit_code == 0, (result.stdout, result.stderr)
    assert printed_cursors(result) == ["c1", "c2", "c3"]  # nothing missed, nothing twice
    assert cursors_asked(crewctl) == ["c0", "c2", "c2", "c3", "c3"]
    assert "Resume with: crewctl watch --from c3" in result.stderr


def test_watch_waits_longer_each_failure_and_starts_over_once_connected(
    crewctl: Crewctl, waits: Waits
) -> None:
    waits.ctrl_c_at = 5
    result = crewctl.run("watch", Watch=EachCall([[GONE], [GONE], [GONE], [{}, GONE], [GONE]]))
    assert result.exit_code == 0, (result.stdout, result.stderr)
    assert waits.seen == [0.5, 1.0, 2.0, 0.5, 1.0]
    assert "reconnecting in 2.0 s from now (no event yet)" in result.stderr
    assert len(crewctl.requests("Watch")) == 5


def test_watch_stops_on_a_refusal_that_retrying_cannot_fix(crewctl: Crewctl, waits: Waits) -> None:
    bad = Refusal("INVALID_ARGUMENT", "unknown cursor", "BAD_CURSOR", {"field": "cursor"})
    result = crewctl.run("--json", "watch", Watch=[batch(granted(1)), bad])
    assert result.exit_code == ExitCode.REFUSED
    assert printed_cursors(result) == ["c1"]
    assert "BAD_CURSOR" in result.stderr and "--from c1" in result.stderr
    assert "reconnecting" not in result.stderr and waits.seen == []
    assert len(crewctl.requests("Watch")) == 1


def test_a_stream_refused_mid_way_is_reported_with_the_servers_code_and_message(
    crewctl: Crewctl, waits: Waits
) -> None:
    refused = Refusal("FAILED_PRECONDITION", "project p-1 is closed")
    result = crewctl.run("watch", "--project", "p-1", Watch=[batch(granted(1)), refused])
    assert result.exit_code == ExitCode.REFUSED
    assert "FAILED_PRECONDITION" in result.stderr
    assert "project p-1 is closed" in result.stderr
    assert len(result.stdout.splitlines()) == 1
