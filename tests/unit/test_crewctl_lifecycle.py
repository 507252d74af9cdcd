"""crewctl's task, project-state and claim commands: parsing, the records they print, and
the requests the servers receive (against stand-in servers). ``watch`` has its own file."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
import grpc
import pytest
from crewctl_golden.harness import Crewctl
from google.protobuf import timestamp_pb2
from grpc_standin import Refusal, StandIns

from crewline.client.errors import CrewlineError
from crewline.ctl.claims import CLAIM_STATUSES
from crewline.ctl.errors import ExitCode, from_rpc
from crewline.ctl.main import cli
from crewline.ctl.pages import read_pages
from crewline.ctl.params import parse_duration, parse_instant
from crewline.ctl.pb import enum_number, enum_word, enum_words
from crewline.ctl.records.claims import ClaimRecord, claim_record
from crewline.ctl.records.projects import PayTermsRecord, ProjectRecord
from crewline.ctl.records.tasks import TaskRecord, task_record, watch_event_record
from crewline.ctl.tasks import TASK_STATUSES
from crewline.v1 import claim_pb2, events_pb2, money_pb2, project_pb2
from crewline.v1 import task_service_pb2 as task_api
from crewline.v1 import work_service_pb2 as work_api

KEY = "crwk_k1_client-secret"
TOKEN = "eyJ.contractor.token"
AT = "2026-01-02T03:04:05Z"
TASK_ID = "0f3e8c1a-5b7d-4c2e-9a6f-1d2b3c4e5f60"
TERMS: PayTermsRecord = {
    "version": 1,
    "basis": "hourly",
    "currency": "USD",
    "amount_minor": 3000,
    "max_paid_seconds": 7200,
    "effective_at": AT,
}
TASK: TaskRecord = {
    "task_id": TASK_ID,
    "client_id": "acme",
    "project_id": "p-1",
    "status": "open",
    "slots": 2,
    "live_claims": 1,
    "claimed_count": 1,
    "submitted_count": 0,
    "accepted_count": 0,
    "priority": 0,
    "idempotency_key": "row-17",
    "payload_json": '{"image": "lesion-17.png"}',
    "payload_base64": None,
    "created_at": AT,
    "updated_at": AT,
    "expires_at": "2026-01-09T03:04:05Z",
    "cancelled_at": None,
}
CLAIM: ClaimRecord = {
    "claim_id": "c-1",
    "task_id": TASK_ID,
    "project_id": "p-1",
    "project_title": "",
    "contractor_id": "dr-lee",
    "status": "active",
    "granted_at": AT,
    "deadline_at": "2026-01-02T04:04:05Z",
    "max_deadline_at": "2026-01-02T06:04:05Z",
    "worked_seconds": 0,
    "cut": None,
    "end_reason": None,
    "ended_at": None,
    "pay_terms": TERMS,
    "instructions": "Rate the lesion.",
    "payload_json": '{"image": "lesion-17.png"}',
    "payload_base64": None,
    "review": None,
    "feedback": "",
    "earned": None,
    "pending": None,
    "segments": [],
}
PROJECT: ProjectRecord = {
    "project_id": "p-1",
    "client_id": "acme",
    "title": "Dermatology ratings",
    "instructions": "",
    "requirements": [],
    "pay_terms": TERMS,
    "assignments_per_task": 1,
    "claim_timeout_seconds": 3600,
    "task_lifetime_seconds": 604_800,
    "auto_accept_delay_seconds": 259_200,
    "priority": 0,
    "max_claims_per_contractor": 0,
    "revision": 2,
    "state": "active",
    "created_at": AT,
    "updated_at": AT,
}

# The same, as the services send them (protobuf's JSON form).
TERMS_PB = {
    "version": 1,
    "hourly": {"rate": {"currency_code": "USD", "amount_minor": 3000}, "max_paid_seconds": 7200},
    "effective_at": AT,
}
TASK_PB = {
    **{k: v for k, v in TASK.items() if v is not None},
    "status": "TASK_STATUS_OPEN",
}
CLAIM_PB = {
    **{k: v for k, v in CLAIM.items() if v not in (None, "", [], 0)},
    "status": "CLAIM_STATUS_ACTIVE",
    "pay_terms": TERMS_PB,
}
PROJECT_PB = {
    **{k: v for k, v in PROJECT.items() if v not in (None, "", [], 0)},
    "state": "PROJECT_STATE_ACTIVE",
    "pay_terms": TERMS_PB,
}
SUBMISSION_PB = {
    "submission_id": "s-1",
    "contractor_id": "dr-kim",
    "status": "SUBMISSION_STATUS_PENDING_REVIEW",
    "submitted_at": AT,
}


def task_answer(**changed: Any) -> dict[str, Any]:
    return {"task": {**TASK_PB, **changed}}


def claim_answer(**changed: Any) -> dict[str, Any]:
    return {"claim": {**CLAIM_PB, **changed}}


def project_answer(state: str) -> dict[str, Any]:
    return {"project": {**PROJECT_PB, "state": f"PROJECT_STATE_{state.upper()}"}}


# --- values: enums, durations, times, pages ---------------------------------------------


def test_enum_values_are_lower_case_words_without_their_prefix() -> None:
    status = task_api.TaskStatus.DESCRIPTOR
    assert enum_word(status, task_api.TASK_STATUS_IN_PROGRESS) == "in_progress"
    assert enum_word(status, task_api.TASK_STATUS_UNSPECIFIED) is None
    assert enum_word(status, 99) == "99"  # newer than this crewctl: shown, not dropped
    assert enum_number(status, "in-progress") == task_api.TASK_STATUS_IN_PROGRESS


def test_the_status_choices_are_the_protos_statuses() -> None:
    assert set(TASK_STATUSES) == set(enum_words(task_api.TaskStatus.DESCRIPTOR))
    assert CLAIM_STATUSES == tuple(enum_words(work_api.ClaimStatus.DESCRIPTOR))


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90", 90), ("90s", 90), ("30m", 1800), ("2h", 7200), ("1d", 86_400), ("1h30m", 5400)],
)
def test_durations_are_seconds_or_a_number_with_a_unit(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["-5", "1.5h", "2 weeks", "h", "", "367d", "90x"])
def test_negative_absurd_or_unreadable_durations_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


def test_times_need_a_zone_and_keep_their_offset() -> None:
    assert parse_instant("2026-05-01T14:00:00+02:00").astimezone(UTC) == datetime(
        2026, 5, 1, 12, tzinfo=UTC
    )
    assert parse_instant("2026-05-01T12:00:00.123456789Z").microsecond == 123456
    for bad in ("2026-05-01T12:00:00", "2026-05-01", "tomorrow"):
        with pytest.raises(ValueError):
            parse_instant(bad)


def test_every_page_is_read_and_joined_with_all() -> None:
    pages = {"": (["a"], "1"), "1": (["b"], "2"), "2": (["c"], "")}

    def fetch(token: str) -> dict[str, Any]:
        items, following = pages[token]
        return {"things": items, "next_page_token": following}

    assert read_pages(fetch, "things", "", every=False) == {
        "things": ["a"],
        "next_page_token": "1",
    }
    assert read_pages(fetch, "things", "1", every=True) == {
        "things": ["b", "c"],
        "next_page_token": "",
    }


# --- protobuf to records ----------------------------------------------------------------


def ts(text: str) -> timestamp_pb2.Timestamp:
    at = timestamp_pb2.Timestamp()
    at.FromJsonString(text)
    return at


HOURLY = project_pb2.PayTerms(
    version=1,
    hourly=project_pb2.HourlyPay(
        rate=money_pb2.Money(currency_code="USD", amount_minor=3000), max_paid_seconds=7200
    ),
    effective_at=ts(AT),
)


def test_a_task_message_becomes_a_record_with_a_binary_payload_in_base64() -> None:
    pb = task_api.Task(
        task_id=TASK_ID,
        status=task_api.TASK_STATUS_CANCELLED,
        slots=3,
        live_claims=1,
        payload_bytes=b"\x00\x01",
        created_at=ts(AT),
        cancelled_at=ts(AT),
    )
    record = task_record(pb)
    assert (record["status"], record["slots"], record["live_claims"]) == ("cancelled", 3, 1)
    assert (record["payload_json"], record["payload_base64"]) == (None, "AAE=")
    assert (record["cancelled_at"], record["expires_at"]) == (AT, None)


def test_a_claim_message_becomes_a_record_with_its_lease_and_how_it_ends() -> None:
    pb = work_api.Claim(
        claim_id="c-1",
        status=work_api.CLAIM_STATUS_ACTIVE,
        deadline_at=ts("2026-01-02T04:04:05Z"),
        max_deadline_at=ts("2026-01-02T06:04:05Z"),
        worked_seconds=600,
        cut=claim_pb2.CLAIM_END_REASON_TASK_CANCELLED,
        pay_terms=HOURLY,
        payload_json="{}",
    )
    record = claim_record(pb)
    assert (record["status"], record["cut"], record["end_reason"]) == (
        "active",
        "task_cancelled",
        None,
    )
    assert (record["deadline_at"], record["worked_seconds"]) == ("2026-01-02T04:04:05Z", 600)
    assert record["pay_terms"] == TERMS


def test_watch_events_become_records_with_plain_values() -> None:
    settled = task_api.WatchEvent(
        cursor="c9",
        at=ts(AT),
        task_id=TASK_ID,
        project_id="p-1",
        claim_settled=events_pb2.ClaimSettled(
            claim_id="c-1",
            amount=money_pb2.Money(currency_code="USD", amount_minor=1250),
            worked_seconds=1500,
            pay_terms=HOURLY,
            reason=claim_pb2.CLAIM_END_REASON_PROJECT_PAUSED,
            settled_at=ts(AT),
        ),
    )
    record = watch_event_record(settled)
    assert (record["cursor"], record["type"], record["at"]) == ("c9", "claim_settled", AT)
    e = record["event"]
    assert e["amount"] == {"currency": "USD", "amount_minor": 1250}
    assert (e["reason"], e["worked_seconds"], e["settled_at"]) == ("project_paused", 1500, AT)
    assert e["pay_terms"] == TERMS
    json.dumps(record)  # every value is JSON-ready

    changed = watch_event_record(
        task_api.WatchEvent(cursor="c10", task_changed=task_api.Task(task_id=TASK_ID, slots=4))
    )
    assert changed["type"] == "task_changed" and changed["event"]["slots"] == 4
    submitted = watch_event_record(
        task_api.WatchEvent(work_submitted=events_pb2.WorkSubmitted(result=b"ok"))
    )
    assert submitted["event"]["result"] == base64.b64encode(b"ok").decode()
    assert submitted["event"]["reward"] is None  # an unset message field


# --- the command line, against stand-in servers -----------------------------------------


@pytest.fixture
def crewctl(servers: StandIns, tmp_path: Path) -> Crewctl:
    """crewctl as a client (or a contractor: the same variable holds a token)."""
    return Crewctl(servers, caller="none", env={"CREWLINE_CREDENTIAL": KEY}, cwd=tmp_path)


def human(crewctl: Crewctl, *args: str, **answers: Any) -> str:
    result = crewctl.run(*args, **answers)
    assert result.exit_code == 0, (result.stdout, result.stderr)
    return result.stdout


def called(crewctl: Crewctl) -> list[tuple[str, str, str | None]]:
    """Each call received: (server, method, authorization)."""
    return [(r.server, r.method, r.authorization) for r in crewctl.servers.received]


DETAILS = {**task_answer(), "submissions": [SUBMISSION_PB]}


def test_task_get_shows_the_task_and_its_submissions(crewctl: Crewctl) -> None:
    out = crewctl.json("task", "get", TASK_ID, GetTask=DETAILS)
    assert out["task"] == TASK and out["submissions"][0]["submission_id"] == "s-1"
    assert crewctl.requests() == [{"task_id": TASK_ID}]
    assert called(crewctl) == [("dispatcher", "crewline.v1.TaskService/GetTask", f"Bearer {KEY}")]
    text = human(crewctl, "task", "get", TASK_ID, GetTask=DETAILS)
    assert "Submissions" in text and "pending_review" in text and "row-17" in text
    assert crewctl.authorizations() == [f"Bearer {KEY}"]


def test_task_get_cuts_a_long_payload_in_the_table_only(crewctl: Crewctl) -> None:
    long_task = task_answer(payload_json="x" * 5000)
    table = human(crewctl, "task", "get", TASK_ID, GetTask=long_task)
    flat = "".join(table.replace("│", " ").split())  # the table folds long values
    assert "5000characters;--jsonshowsall" in flat and "x" * 5000 not in flat
    out = crewctl.json("task", "get", TASK_ID, GetTask=long_task)
    assert out["task"]["payload_json"] == "x" * 5000


def task_pages(pages: int) -> list[dict[str, Any]]:
    """``pages`` pages of one task each, each naming the next."""
    return [
        {"tasks": [TASK_PB], "next_page_token": str(n + 1) if n + 1 < pages else ""}
        for n in range(pages)
    ]


def test_task_list_sends_its_filters_and_reads_every_page_with_all(crewctl: Crewctl) -> None:
    three = task_pages(3)
    page = crewctl.json(
        "task", "list", "--project", "p-1", "--status", "IN_PROGRESS", ListTasks=three
    )
    assert page["next_page_token"] == "1" and page["tasks"] == [TASK]
    assert crewctl.requests() == [{"project_id": "p-1", "status": "TASK_STATUS_IN_PROGRESS"}]
    every = crewctl.json("task", "list", "--all", "--page-size", "200", ListTasks=three)
    assert len(every["tasks"]) == 3 and every["next_page_token"] == ""
    assert crewctl.requests() == [
        {"page_size": 200},
        {"page_size": 200, "page_token": "1"},
        {"page_size": 200, "page_token": "2"},
    ]
    assert "More: --page-token 1" in human(crewctl, "task", "list", ListTasks=three)


@pytest.mark.parametrize(
    "args",
    [
        ("task", "list", "--status", "running"),
        ("task", "list", "--page-size", "501"),
        ("task", "add-slots", TASK_ID, "0"),
        ("task", "add-slots", TASK_ID, "1001"),
        ("task", "lifetime", TASK_ID),
        ("task", "lifetime", TASK_ID, "--expires-at", "2026-05-01T12:00:00Z", "--extend-by", "1h"),
        ("task", "lifetime", TASK_ID, "--expires-at", "2026-05-01T12:00:00"),
        ("task", "lifetime", TASK_ID, "--extend-by", "0"),
        ("task", "lifetime", TASK_ID, "--extend-by", "soon"),
        ("claim", "heartbeat", "c-1"),
        ("claim", "heartbeat", "c-1", "--worked", "-5"),
        ("claim", "heartbeat", "c-1", "--worked", "ages"),
        ("claim", "list", "--status", "live"),
        ("claim", "list", "--page-size", "101"),
    ],
    ids=" ".join,
)
def test_bad_arguments_are_usage_errors_and_call_nothing(crewctl: Crewctl, args: list[str]) -> None:
    result = crewctl.run(*args)
    assert result.exit_code == ExitCode.USAGE, (result.stdout, result.stderr)
    assert crewctl.requests() == []


def test_task_cancel_sends_the_reason_given(crewctl: Crewctl) -> None:
    cancelled = task_answer(status="TASK_STATUS_CANCELLED", cancelled_at=AT)
    assert crewctl.json("task", "cancel", TASK_ID, CancelTask=cancelled)["status"] == "cancelled"
    assert crewctl.requests() == [{"task_id": TASK_ID}]
    crewctl.json("task", "cancel", TASK_ID, "--reason", "duplicate", CancelTask=cancelled)
    assert crewctl.requests() == [{"task_id": TASK_ID, "reason": "duplicate"}]


def test_add_slots_makes_a_request_id_and_prints_it_for_a_retry(crewctl: Crewctl) -> None:
    out = crewctl.json("task", "add-slots", TASK_ID, "2", AddSlots=task_answer(slots=4))
    [sent] = crewctl.requests()
    request_id = sent["request_id"]
    assert sent == {"request_id": request_id, "task_id": TASK_ID, "slots": 2}
    assert request_id.startswith("crewctl-") and out["request_id"] == request_id
    assert out["task"]["slots"] == 4
    text = human(
        crewctl, "task", "add-slots", TASK_ID, "2", "--request-id", "r-7", AddSlots=task_answer()
    )
    assert crewctl.requests() == [{"request_id": "r-7", "task_id": TASK_ID, "slots": 2}]
    assert "Request id: r-7" in text


def test_add_slots_that_fails_says_how_to_retry_with_the_same_request_id(
    crewctl: Crewctl,
) -> None:
    down = Refusal("UNAVAILABLE", "no")
    result = crewctl.run("task", "add-slots", TASK_ID, "2", AddSlots=down)
    assert result.exit_code == ExitCode.UNAVAILABLE
    request_ids = {sent["request_id"] for sent in crewctl.requests("AddSlots")}
    [request_id] = request_ids  # the SDK's retries, if any, repeat it
    assert f"crewctl task add-slots {TASK_ID} 2 --request-id {request_id}" in result.stderr


def test_lifetime_sends_the_time_given_in_utc(crewctl: Crewctl) -> None:
    crewctl.json(
        "task",
        "lifetime",
        TASK_ID,
        "--expires-at",
        "2026-05-01T14:00:00+02:00",
        UpdateTaskLifetime=task_answer(),
    )
    assert crewctl.requests() == [{"task_id": TASK_ID, "expires_at": "2026-05-01T12:00:00Z"}]


def test_lifetime_extend_by_reads_the_task_and_moves_its_end(crewctl: Crewctl) -> None:
    moved = task_answer(expires_at="2026-01-10T05:04:05Z")
    out = crewctl.json(
        "task",
        "lifetime",
        TASK_ID,
        "--extend-by",
        "1d2h",
        GetTask=DETAILS,
        UpdateTaskLifetime=moved,
    )
    assert [method for _, method, _ in called(crewctl)] == [
        "crewline.v1.TaskService/GetTask",
        "crewline.v1.TaskService/UpdateTaskLifetime",
    ]
    assert crewctl.requests("UpdateTaskLifetime") == [
        {"task_id": TASK_ID, "expires_at": "2026-01-10T05:04:05Z"}  # 2026-01-09T03:04:05Z + 26 h
    ]
    assert out["expires_at"] == "2026-01-10T05:04:05Z"


@pytest.mark.parametrize(
    ("command", "method", "state"),
    [("pause", "PauseProject", "paused"), ("resume", "ResumeProject", "active")],
)
def test_pause_and_resume_return_the_project(
    crewctl: Crewctl, command: str, method: str, state: str
) -> None:
    answers = {method: project_answer(state)}
    assert crewctl.json("project", command, "p-1", **answers) == {**PROJECT, "state": state}
    assert called(crewctl) == [("dispatcher", f"crewline.v1.TaskService/{method}", f"Bearer {KEY}")]
    assert crewctl.requests() == [{"project_id": "p-1"}]
    assert state in human(crewctl, "project", command, "p-1", **answers)


def test_close_asks_first_unless_yes(crewctl: Crewctl) -> None:
    closed = project_answer("closed")
    declined = crewctl.run("project", "close", "p-1", input="n\n", CloseProject=closed)
    assert declined.exit_code == 1 and crewctl.requests() == []
    assert "for good" in declined.stderr
    agreed = crewctl.run("--json", "project", "close", "p-1", input="y\n", CloseProject=closed)
    assert agreed.exit_code == 0 and json.loads(agreed.stdout)["state"] == "closed"
    assert crewctl.requests("CloseProject") == [{"project_id": "p-1"}]
    assert crewctl.json("project", "close", "p-1", "--yes", CloseProject=closed)["state"] == (
        "closed"
    )
    assert crewctl.requests("CloseProject") == [{"project_id": "p-1"}]


def test_project_list_shows_the_state(crewctl: Crewctl) -> None:
    paused = {"projects": [project_answer("paused")["project"]]}
    assert "paused" in human(crewctl, "project", "list", ListProjects=paused)


def test_claim_commands_take_the_contractors_token(crewctl: Crewctl) -> None:
    crewctl.env["CREWLINE_CREDENTIAL"] = TOKEN  # a contractor's command
    assert crewctl.json("claim", "get", "c-1", GetClaim=claim_answer()) == CLAIM
    assert called(crewctl) == [("matcher", "crewline.v1.WorkService/GetClaim", f"Bearer {TOKEN}")]
    crewctl.json("--credential", "tok", "claim", "release", "c-1", ReleaseClaim=claim_answer())
    assert called(crewctl) == [("matcher", "crewline.v1.WorkService/ReleaseClaim", "Bearer tok")]
    crewctl.env = {"CREWLINE_OPERATOR_CREDENTIAL": "op"}
    missing = crewctl.run("claim", "get", "c-1", GetClaim=claim_answer())
    assert missing.exit_code == ExitCode.CREDENTIAL and crewctl.requests() == []
    assert "no contractor token" in missing.stderr and "crewctl contractor token" in missing.stderr


def test_claim_get_shows_the_lease_and_the_pay_terms(crewctl: Crewctl) -> None:
    crewctl.env["CREWLINE_CREDENTIAL"] = TOKEN  # a contractor's command
    text = human(crewctl, "claim", "get", "c-1", GetClaim=claim_answer())
    assert "max_deadline_at" in text and "30.00 USD per hour" in text
    assert crewctl.requests() == [{"claim_id": "c-1"}]


@pytest.mark.parametrize(("worked", "seconds"), [("1500", 1500), ("25m", 1500), ("0", 0)])
def test_heartbeat_sends_the_time_worked_in_seconds(
    crewctl: Crewctl, worked: str, seconds: int
) -> None:
    crewctl.env["CREWLINE_CREDENTIAL"] = TOKEN  # a contractor's command
    out = crewctl.json(
        "claim",
        "heartbeat",
        "c-1",
        "--worked",
        worked,
        HeartbeatClaim=claim_answer(worked_seconds=seconds),
    )
    sent = {"claim_id": "c-1", "worked_seconds": str(seconds)} if seconds else {"claim_id": "c-1"}
    assert crewctl.requests() == [sent]  # int64 in protobuf's JSON form: a string
    assert out["worked_seconds"] == seconds


def test_release_returns_the_ended_claim(crewctl: Crewctl) -> None:
    crewctl.env["CREWLINE_CREDENTIAL"] = TOKEN  # a contractor's command
    released = claim_answer(
        status="CLAIM_STATUS_ENDED", end_reason="CLAIM_END_REASON_RELEASED", ended_at=AT
    )
    out = crewctl.json("claim", "release", "c-1", ReleaseClaim=released)
    assert (out["status"], out["end_reason"]) == ("ended", "released")
    assert crewctl.requests() == [{"claim_id": "c-1"}]
    assert "released" in human(crewctl, "claim", "release", "c-1", ReleaseClaim=released)


def test_claim_list_sends_its_filters_and_reads_every_page_with_all(crewctl: Crewctl) -> None:
    crewctl.env["CREWLINE_CREDENTIAL"] = TOKEN  # a contractor's command
    two: list[dict[str, Any]] = [
        {"claims": [CLAIM_PB], "next_page_token": "1"},
        {"claims": [CLAIM_PB]},
    ]
    crewctl.json(
        "claim",
        "list",
        "--status",
        "active",
        "--task",
        TASK_ID,
        "--project",
        "p-1",
        ListMyClaims=two,
    )
    assert crewctl.requests() == [
        {"status": "CLAIM_STATUS_ACTIVE", "task_id": TASK_ID, "project_id": "p-1"}
    ]
    crewctl.json("claim", "list", "--status", "ended", "--task", TASK_ID, ListMyClaims=two)
    assert crewctl.requests() == [{"status": "CLAIM_STATUS_ENDED", "task_id": TASK_ID}]
    every = crewctl.json("claim", "list", "--all", ListMyClaims=two)
    assert every == {"claims": [CLAIM, CLAIM], "next_page_token": ""}
    assert crewctl.requests() == [{}, {"page_token": "1"}]
    text = human(crewctl, "claim", "list", ListMyClaims=two)
    assert "c-1" in text and "More: --page-token 1" in text


def test_a_refused_heartbeat_says_what_to_do_next(crewctl: Crewctl) -> None:
    crewctl.env["CREWLINE_CREDENTIAL"] = TOKEN  # a contractor's command
    at_most = Refusal("FAILED_PRECONDITION", "no", "LEASE_AT_MAXIMUM")
    result = crewctl.run("claim", "heartbeat", "c-1", "--worked", "1h", HeartbeatClaim=at_most)
    assert result.exit_code == ExitCode.REFUSED
    assert "LEASE_AT_MAXIMUM" in result.stderr and "submit the work" in result.stderr
    cut = Refusal("FAILED_PRECONDITION", "no", "TASK_CANCELLED")
    refused = crewctl.run("claim", "heartbeat", "c-1", "--worked", "1h", HeartbeatClaim=cut)
    assert "still reviewed and paid" in refused.stderr


@pytest.mark.parametrize(
    ("args", "method", "hint"),
    [
        (("claim", "get", "c-1"), "GetClaim", "contractor token"),
        (("task", "get", TASK_ID), "GetTask", "client's API key"),
        (("project", "pause", "p-1"), "PauseProject", "client's API key"),
    ],
)
def test_an_unauthenticated_call_names_the_credential_it_used(
    crewctl: Crewctl, args: tuple[str, ...], method: str, hint: str
) -> None:
    refused: dict[str, Any] = {method: Refusal("UNAUTHENTICATED", "no")}
    result = crewctl.run(*args, **refused)
    assert result.exit_code == ExitCode.CREDENTIAL
    assert hint in result.stderr and "operator credential" not in result.stderr


def test_operator_refusals_still_point_at_the_operator_credential() -> None:
    failure = CrewlineError(
        "no", code=grpc.StatusCode.UNAUTHENTICATED, service="dispatcher", address="h:1"
    )
    assert "operator credential" in from_rpc(failure).format_message()


def test_every_new_command_is_in_the_tree() -> None:
    def names(group: click.Group) -> set[str]:
        return set(group.commands)

    root = cli
    assert {"task", "watch", "claim"} <= names(root)
    task, claim, project = (root.commands[n] for n in ("task", "claim", "project"))
    assert isinstance(task, click.Group) and isinstance(claim, click.Group)
    assert isinstance(project, click.Group)
    assert names(task) == {"get", "list", "cancel", "add-slots", "lifetime", "submit"}
    assert names(claim) == {"create", "get", "list", "heartbeat", "release", "submit"}
    assert {"pause", "resume", "close"} <= names(project)
