"""crewctl's task, project-state, claim and watch commands without servers: parsing, the
calls made, output, the records of the gRPC layer, and watch's reconnection."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from concurrent import futures
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
import grpc
import pytest
from click.testing import CliRunner, Result
from google.protobuf import timestamp_pb2
from google.protobuf.message import Message

from crewline.ctl import config
from crewline.ctl.api import RpcFailed
from crewline.ctl.app import Wiring
from crewline.ctl.claim_api import ClaimPage, ClaimRecord
from crewline.ctl.claim_rpc import GrpcClaims, claim_record
from crewline.ctl.claims import CLAIM_STATUSES
from crewline.ctl.errors import ExitCode, from_rpc
from crewline.ctl.main import cli
from crewline.ctl.pages import read_pages
from crewline.ctl.params import parse_duration, parse_instant
from crewline.ctl.pb import enum_number, enum_word, enum_words
from crewline.ctl.project_api import PayTermsRecord, ProjectRecord
from crewline.ctl.rpc import ServiceCalls, Silence
from crewline.ctl.task_api import TaskDetails, TaskPage, TaskRecord, WatchEventRecord
from crewline.ctl.task_rpc import GrpcTasks, task_record, watch_event_record
from crewline.ctl.tasks import TASK_STATUSES
from crewline.ctl.watch import Follower, backoff, event_line
from crewline.v1 import claim_pb2, events_pb2, money_pb2, project_pb2
from crewline.v1 import task_service_pb2 as task_api
from crewline.v1 import task_service_pb2_grpc as task_grpc
from crewline.v1 import work_service_pb2 as work_api

KEY = "crwk_k1_client-secret"
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


def refusal(code: str, reason: str | None = None, service: str = "dispatcher") -> RpcFailed:
    return RpcFailed(service=service, address="h:1", code=code, details="no", reason=reason)


def event(n: int, kind: str = "claim_granted", **fields: Any) -> WatchEventRecord:
    return {
        "cursor": f"c{n}",
        "at": AT,
        "task_id": TASK_ID,
        "project_id": "p-1",
        "type": kind,
        "event": {"claim_id": f"claim-{n}", "contractor_id": "dr-lee", **fields},
    }


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


# --- protobuf to records, and the requests sent ----------------------------------------


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


@dataclass
class Recording:
    """A Caller that records each request and answers from a script."""

    replies: dict[str, Any]
    sent: dict[str, Message] = field(default_factory=dict)

    def call(self, method: str, request: Message) -> Any:
        self.sent[method] = request
        return self.replies[method]

    def stream(self, method: str, request: Message) -> Iterator[Any]:
        self.sent[method] = request
        yield from self.replies[method]


def test_task_requests_carry_the_filters_ids_and_times_given() -> None:
    task = task_api.Task(task_id=TASK_ID)
    calls = Recording(
        {
            "ListTasks": task_api.ListTasksResponse(tasks=[task], next_page_token="n"),
            "AddSlots": task_api.AddSlotsResponse(task=task),
            "UpdateTaskLifetime": task_api.UpdateTaskLifetimeResponse(task=task),
            "CancelTask": task_api.CancelTaskResponse(task=task),
            "Watch": [task_api.WatchResponse(), task_api.WatchResponse(events=[])],
        }
    )
    tasks = GrpcTasks(calls)
    page = tasks.list_tasks("p-1", "in_progress", 10, "t")
    assert page["next_page_token"] == "n" and page["tasks"][0]["task_id"] == TASK_ID
    sent = calls.sent["ListTasks"]
    assert isinstance(sent, task_api.ListTasksRequest)
    assert (sent.project_id, sent.status, sent.page_size, sent.page_token) == (
        "p-1",
        task_api.TASK_STATUS_IN_PROGRESS,
        10,
        "t",
    )
    tasks.add_slots("r-1", TASK_ID, 2)
    assert calls.sent["AddSlots"] == task_api.AddSlotsRequest(
        request_id="r-1", task_id=TASK_ID, slots=2
    )
    tasks.update_task_lifetime(TASK_ID, datetime(2026, 5, 1, 12, tzinfo=UTC))
    lifetime = calls.sent["UpdateTaskLifetime"]
    assert isinstance(lifetime, task_api.UpdateTaskLifetimeRequest)
    assert lifetime.expires_at.ToJsonString() == "2026-05-01T12:00:00Z"
    tasks.cancel_task(TASK_ID, "duplicate")
    assert calls.sent["CancelTask"] == task_api.CancelTaskRequest(
        task_id=TASK_ID, reason="duplicate"
    )
    assert list(tasks.watch("c4", "p-1")) == [[], []]
    assert calls.sent["Watch"] == task_api.WatchRequest(cursor="c4", project_id="p-1")


def test_claim_requests_carry_the_filters_and_the_time_worked() -> None:
    claim = work_api.Claim(claim_id="c-1")
    calls = Recording(
        {
            "ListMyClaims": work_api.ListMyClaimsResponse(claims=[claim]),
            "HeartbeatClaim": work_api.HeartbeatClaimResponse(claim=claim),
            "ReleaseClaim": work_api.ReleaseClaimResponse(claim=claim),
        }
    )
    claims = GrpcClaims(calls)
    claims.list_claims("ended", TASK_ID, "", 0, "")
    assert calls.sent["ListMyClaims"] == work_api.ListMyClaimsRequest(
        status=work_api.CLAIM_STATUS_ENDED, task_id=TASK_ID
    )
    claims.list_claims(None, "", "", 0, "")
    assert calls.sent["ListMyClaims"] == work_api.ListMyClaimsRequest()
    claims.heartbeat("c-1", 1500)
    assert calls.sent["HeartbeatClaim"] == work_api.HeartbeatClaimRequest(
        claim_id="c-1", worked_seconds=1500
    )
    assert claims.release("c-1")["claim_id"] == "c-1"


# --- the stream transport, against an in-process server ---------------------------------


@pytest.fixture
def watch_server() -> Iterator[tuple[str, list[Any]]]:
    """A TaskService whose Watch runs the handler the test puts in the list."""
    handlers: list[Any] = []

    def watch(request: task_api.WatchRequest, context: grpc.ServicerContext) -> Iterator[Any]:
        yield from handlers[0](request, context)

    method = grpc.unary_stream_rpc_method_handler(
        watch,
        request_deserializer=task_api.WatchRequest.FromString,
        response_serializer=task_api.WatchResponse.SerializeToString,
    )
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler("crewline.v1.TaskService", {"Watch": method}),)
    )
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        yield f"127.0.0.1:{port}", handlers
    finally:
        server.stop(0)


def stream_calls(address: str) -> ServiceCalls:
    return ServiceCalls(
        service="dispatcher", address=address, stub=task_grpc.TaskServiceStub, credential=KEY
    )


def test_a_stream_that_falls_silent_ends_as_unavailable(
    watch_server: tuple[str, list[Any]],
) -> None:
    address, handlers = watch_server

    def keepalive_then_nothing(_: Any, context: grpc.ServicerContext) -> Iterator[Any]:
        ended = threading.Event()
        context.add_callback(ended.set)
        yield task_api.WatchResponse()
        ended.wait(30)

    handlers.append(keepalive_then_nothing)
    replies = stream_calls(address).stream("Watch", task_api.WatchRequest(), silence=0.2)
    assert next(replies) == task_api.WatchResponse()
    with pytest.raises(RpcFailed) as caught:
        next(replies)
    assert caught.value.code == "UNAVAILABLE" and "nothing received" in caught.value.details


def test_a_stream_refused_mid_way_ends_with_the_servers_code(
    watch_server: tuple[str, list[Any]],
) -> None:
    address, handlers = watch_server

    def one_then_draining(_: Any, context: grpc.ServicerContext) -> Iterator[Any]:
        yield task_api.WatchResponse(events=[task_api.WatchEvent(cursor="c1")])
        context.abort(grpc.StatusCode.UNAVAILABLE, "draining")

    handlers.append(one_then_draining)
    replies = stream_calls(address).stream("Watch", task_api.WatchRequest())
    assert next(replies).events[0].cursor == "c1"
    with pytest.raises(RpcFailed) as caught:
        next(replies)
    assert (caught.value.code, caught.value.details) == ("UNAVAILABLE", "draining")


def test_silence_is_overdue_only_after_its_limit_since_the_last_message() -> None:
    now = [0.0]
    quiet = Silence(10, lambda: None, clock=lambda: now[0])
    now[0] = 10.0
    assert not quiet.overdue()
    quiet.heard()
    now[0] = 20.5
    assert quiet.overdue()


# --- watch: following the stream across disconnects -------------------------------------


@dataclass
class Script:
    """Each connection's script: batches to yield, then an exception to raise (or end)."""

    connections: list[list[Any]]
    opened: list[str] = field(default_factory=list)

    def open(self, cursor: str) -> Iterator[list[WatchEventRecord]]:
        self.opened.append(cursor)
        if not self.connections:
            raise KeyboardInterrupt  # the script is over: the user presses Ctrl-C
        for item in self.connections.pop(0):
            if isinstance(item, BaseException):
                raise item
            yield item


def follow(script: Script, cursor: str = "") -> tuple[Follower, list[str], list[float]]:
    printed: list[str] = []
    waits: list[float] = []
    follower = Follower(
        script.open,
        lambda e: printed.append(e["cursor"]),
        cursor=cursor,
        sleep=waits.append,
        jitter=lambda: 1.0,
        notify=lambda _: None,
    )
    with pytest.raises(KeyboardInterrupt):
        follower.run()
    return follower, printed, waits


def test_watch_resumes_from_the_last_cursor_printed_after_unavailable() -> None:
    script = Script(
        [
            [[event(1), event(2)], [], refusal("UNAVAILABLE")],
            [refusal("UNAVAILABLE")],  # the dispatcher is still down
            [[event(3)]],  # back; then the stream ends (a server draining)
            [[]],
        ]
    )
    follower, printed, _ = follow(script, cursor="c0")
    assert printed == ["c1", "c2", "c3"]  # nothing missed, nothing twice
    assert script.opened == ["c0", "c2", "c2", "c3", "c3"]
    assert follower.cursor == "c3"


def test_watch_waits_longer_each_failure_and_starts_over_once_connected() -> None:
    down = refusal("UNAVAILABLE")
    script = Script([[down], [down], [down], [[], down], [down]])
    _, _, waits = follow(script)
    assert waits == [0.5, 1.0, 2.0, 0.5, 1.0]


def test_reconnection_waits_are_jittered_and_capped() -> None:
    assert backoff(0, 0.0) == 0.25 and backoff(0, 1.0) == 0.5
    assert backoff(50, 1.0) == 30.0 and backoff(50, 0.0) == 15.0


def test_watch_stops_on_a_refusal_that_retrying_cannot_fix() -> None:
    script = Script([[[event(1)], refusal("INVALID_ARGUMENT", reason="BAD_CURSOR")]])
    printed: list[str] = []
    follower = Follower(
        script.open,
        lambda e: printed.append(e["cursor"]),
        sleep=lambda _: pytest.fail("no reconnection"),
        jitter=lambda: 0,
    )
    with pytest.raises(RpcFailed):
        follower.run()
    assert printed == ["c1"] and follower.cursor == "c1"


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


# --- the command line, over fake calls -------------------------------------------------


@dataclass
class FakeCalls:
    """Stands in for Projects, Tasks and Claims; records every call."""

    calls: list[tuple[str, tuple[Any, ...]]] = field(default_factory=list)
    refusal: RpcFailed | None = None
    pages: int = 1
    streams: Script = field(default_factory=lambda: Script([]))

    def _called(self, name: str, *args: Any) -> None:
        self.calls.append((name, args))
        if self.refusal:
            raise self.refusal

    def _page(self, token: str) -> tuple[int, str]:
        n = int(token or 0) + 1
        return n, str(n) if n < self.pages else ""

    # projects
    def pause_project(self, project_id: str) -> ProjectRecord:
        self._called("pause_project", project_id)
        return {**PROJECT, "state": "paused"}

    def resume_project(self, project_id: str) -> ProjectRecord:
        self._called("resume_project", project_id)
        return PROJECT

    def close_project(self, project_id: str) -> ProjectRecord:
        self._called("close_project", project_id)
        return {**PROJECT, "state": "closed"}

    # tasks
    def get_task(self, task_id: str) -> TaskDetails:
        self._called("get_task", task_id)
        submission = {
            "submission_id": "s-1",
            "contractor_id": "dr-kim",
            "status": "pending_review",
            "submitted_at": AT,
        }
        return {"task": TASK, "submissions": [submission]}  # type: ignore[list-item]

    def list_tasks(
        self, project_id: str, status: str | None, page_size: int, page_token: str
    ) -> TaskPage:
        self._called("list_tasks", project_id, status, page_size, page_token)
        _, following = self._page(page_token)
        return {"tasks": [TASK], "next_page_token": following}

    def cancel_task(self, task_id: str, reason: str) -> TaskRecord:
        self._called("cancel_task", task_id, reason)
        return {**TASK, "status": "cancelled", "cancelled_at": AT}

    def add_slots(self, request_id: str, task_id: str, slots: int) -> TaskRecord:
        self._called("add_slots", request_id, task_id, slots)
        return {**TASK, "slots": TASK["slots"] + slots}

    def update_task_lifetime(self, task_id: str, expires_at: datetime) -> TaskRecord:
        self._called("update_task_lifetime", task_id, expires_at)
        return {**TASK, "expires_at": expires_at.isoformat()}

    def watch(self, cursor: str, project_id: str) -> Iterator[list[WatchEventRecord]]:
        self.calls.append(("watch", (cursor, project_id)))
        return self.streams.open(cursor)

    # claims
    def get_claim(self, claim_id: str) -> ClaimRecord:
        self._called("get_claim", claim_id)
        return CLAIM

    def list_claims(
        self, status: str | None, task_id: str, project_id: str, page_size: int, page_token: str
    ) -> ClaimPage:
        self._called("list_claims", status, task_id, project_id, page_size, page_token)
        _, following = self._page(page_token)
        return {"claims": [CLAIM], "next_page_token": following}

    def heartbeat(self, claim_id: str, worked_seconds: int) -> ClaimRecord:
        self._called("heartbeat", claim_id, worked_seconds)
        return {**CLAIM, "worked_seconds": worked_seconds}

    def release(self, claim_id: str) -> ClaimRecord:
        self._called("release", claim_id)
        return {**CLAIM, "status": "ended", "end_reason": "released", "ended_at": AT}


@dataclass
class Crewctl:
    tmp_path: Path
    fake: FakeCalls = field(default_factory=FakeCalls)
    env: dict[str, str] = field(default_factory=lambda: {"CREWLINE_CREDENTIAL": KEY})
    connected: list[tuple[str, str]] = field(default_factory=list)  # (as whom, credential)
    waits: list[float] = field(default_factory=list)

    def _connect(self, kind: str) -> Any:
        def connect(addresses: config.Addresses, credential: str) -> FakeCalls:
            self.connected.append((kind, credential))
            return self.fake

        return connect

    def run(self, *args: str, input: str | None = None) -> Result:
        wiring = Wiring(
            env=self.env,
            cwd=self.tmp_path,
            home=self.tmp_path,
            connect=lambda *_: pytest.fail("these commands never use the operator Admin"),
            connect_projects=self._connect("client"),
            connect_tasks=self._connect("client"),
            connect_claims=self._connect("contractor"),
            sleep=self.waits.append,
            jitter=lambda: 1.0,
        )
        return CliRunner().invoke(cli, list(args), obj=wiring, prog_name="crewctl", input=input)

    def json(self, *args: str) -> Any:
        result = self.run("--json", *args)
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    def human(self, *args: str) -> str:
        result = self.run(*args)
        assert result.exit_code == 0, result.output
        return result.stdout

    @property
    def calls(self) -> list[tuple[str, tuple[Any, ...]]]:
        return self.fake.calls


@pytest.fixture
def crewctl(tmp_path: Path) -> Crewctl:
    return Crewctl(tmp_path)


def test_task_get_shows_the_task_and_its_submissions(crewctl: Crewctl) -> None:
    out = crewctl.json("task", "get", TASK_ID)
    assert out["task"] == TASK and out["submissions"][0]["submission_id"] == "s-1"
    assert crewctl.calls == [("get_task", (TASK_ID,))]
    human = crewctl.human("task", "get", TASK_ID)
    assert "Submissions" in human and "pending_review" in human and "row-17" in human
    assert crewctl.connected == [("client", KEY), ("client", KEY)]


def test_task_get_cuts_a_long_payload_in_the_table_only(crewctl: Crewctl) -> None:
    long_task: TaskRecord = {**TASK, "payload_json": "x" * 5000}
    crewctl.fake.get_task = lambda task_id: {"task": long_task, "submissions": []}  # type: ignore[method-assign]
    table = crewctl.human("task", "get", TASK_ID)
    flat = "".join(table.replace("│", " ").split())  # the table folds long values
    assert "5000characters;--jsonshowsall" in flat and "x" * 5000 not in flat
    assert crewctl.json("task", "get", TASK_ID)["task"]["payload_json"] == "x" * 5000


def test_task_list_sends_its_filters_and_reads_every_page_with_all(crewctl: Crewctl) -> None:
    crewctl.fake.pages = 3
    page = crewctl.json("task", "list", "--project", "p-1", "--status", "IN_PROGRESS")
    assert page["next_page_token"] == "1"
    assert crewctl.calls == [("list_tasks", ("p-1", "in_progress", 0, ""))]
    every = crewctl.json("task", "list", "--all", "--page-size", "200")
    assert len(every["tasks"]) == 3 and every["next_page_token"] == ""
    assert [c[1][3] for c in crewctl.calls[1:]] == ["", "1", "2"]
    assert "More: --page-token 1" in crewctl.human("task", "list")


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
    assert result.exit_code == ExitCode.USAGE, result.output
    assert crewctl.calls == []


def test_task_cancel_sends_the_reason_given(crewctl: Crewctl) -> None:
    assert crewctl.json("task", "cancel", TASK_ID)["status"] == "cancelled"
    crewctl.json("task", "cancel", TASK_ID, "--reason", "duplicate")
    assert crewctl.calls == [
        ("cancel_task", (TASK_ID, "")),
        ("cancel_task", (TASK_ID, "duplicate")),
    ]


def test_add_slots_makes_a_request_id_and_prints_it_for_a_retry(crewctl: Crewctl) -> None:
    out = crewctl.json("task", "add-slots", TASK_ID, "2")
    [(name, (request_id, task_id, slots))] = crewctl.calls
    assert (name, task_id, slots) == ("add_slots", TASK_ID, 2)
    assert request_id.startswith("crewctl-") and out["request_id"] == request_id
    assert out["task"]["slots"] == 4
    human = crewctl.human("task", "add-slots", TASK_ID, "2", "--request-id", "r-7")
    assert crewctl.calls[1][1][0] == "r-7"
    assert "Request id: r-7" in human


def test_add_slots_that_fails_says_how_to_retry_with_the_same_request_id(
    crewctl: Crewctl,
) -> None:
    crewctl.fake.refusal = refusal("UNAVAILABLE")
    result = crewctl.run("task", "add-slots", TASK_ID, "2")
    assert result.exit_code == ExitCode.UNAVAILABLE
    [(_, (request_id, _, _))] = crewctl.calls
    assert f"crewctl task add-slots {TASK_ID} 2 --request-id {request_id}" in result.stderr


def test_lifetime_sends_the_time_given_in_utc(crewctl: Crewctl) -> None:
    crewctl.json("task", "lifetime", TASK_ID, "--expires-at", "2026-05-01T14:00:00+02:00")
    [(name, (task_id, expires_at))] = crewctl.calls
    assert (name, task_id) == ("update_task_lifetime", TASK_ID)
    assert expires_at == datetime(2026, 5, 1, 12, tzinfo=UTC) and expires_at.tzinfo == UTC


def test_lifetime_extend_by_reads_the_task_and_moves_its_end(crewctl: Crewctl) -> None:
    out = crewctl.json("task", "lifetime", TASK_ID, "--extend-by", "1d2h")
    assert [name for name, _ in crewctl.calls] == ["get_task", "update_task_lifetime"]
    assert crewctl.calls[1][1][1] == datetime(2026, 1, 10, 5, 4, 5, tzinfo=UTC)
    assert out["expires_at"] == "2026-01-10T05:04:05+00:00"


@pytest.mark.parametrize(
    ("command", "call", "state"),
    [("pause", "pause_project", "paused"), ("resume", "resume_project", "active")],
)
def test_pause_and_resume_return_the_project(
    crewctl: Crewctl, command: str, call: str, state: str
) -> None:
    assert crewctl.json("project", command, "p-1")["state"] == state
    assert crewctl.calls == [(call, ("p-1",))]
    assert state in crewctl.human("project", command, "p-1")


def test_close_asks_first_unless_yes(crewctl: Crewctl) -> None:
    declined = crewctl.run("project", "close", "p-1", input="n\n")
    assert declined.exit_code == 1 and crewctl.calls == []
    assert "for good" in declined.stderr
    agreed = crewctl.run("--json", "project", "close", "p-1", input="y\n")
    assert agreed.exit_code == 0 and json.loads(agreed.stdout)["state"] == "closed"
    assert crewctl.json("project", "close", "p-1", "--yes")["state"] == "closed"
    assert crewctl.calls == [("close_project", ("p-1",))] * 2


def test_project_list_shows_the_state(crewctl: Crewctl) -> None:
    crewctl.fake.list_projects = lambda size, token: {  # type: ignore[attr-defined]
        "projects": [{**PROJECT, "state": "paused"}],
        "next_page_token": "",
    }
    assert "paused" in crewctl.human("project", "list")


def test_claim_commands_take_the_contractors_token(crewctl: Crewctl) -> None:
    assert crewctl.json("claim", "get", "c-1") == CLAIM
    assert crewctl.connected == [("contractor", KEY)]
    crewctl.json("--credential", "tok", "claim", "release", "c-1")
    assert crewctl.connected[-1] == ("contractor", "tok")
    crewctl.env = {"CREWLINE_OPERATOR_CREDENTIAL": "op"}
    missing = crewctl.run("claim", "get", "c-1")
    assert missing.exit_code == ExitCode.CREDENTIAL
    assert "no contractor token" in missing.stderr and "crewctl contractor token" in missing.stderr


def test_claim_get_shows_the_lease_and_the_pay_terms(crewctl: Crewctl) -> None:
    human = crewctl.human("claim", "get", "c-1")
    assert "max_deadline_at" in human and "30.00 USD per hour" in human


@pytest.mark.parametrize(("worked", "seconds"), [("1500", 1500), ("25m", 1500), ("0", 0)])
def test_heartbeat_sends_the_time_worked_in_seconds(
    crewctl: Crewctl, worked: str, seconds: int
) -> None:
    out = crewctl.json("claim", "heartbeat", "c-1", "--worked", worked)
    assert crewctl.calls == [("heartbeat", ("c-1", seconds))]
    assert out["worked_seconds"] == seconds


def test_release_returns_the_ended_claim(crewctl: Crewctl) -> None:
    out = crewctl.json("claim", "release", "c-1")
    assert (out["status"], out["end_reason"]) == ("ended", "released")
    assert "released" in crewctl.human("claim", "release", "c-1")


def test_claim_list_sends_its_filters_and_reads_every_page_with_all(crewctl: Crewctl) -> None:
    crewctl.fake.pages = 2
    crewctl.json("claim", "list", "--status", "active", "--task", TASK_ID, "--project", "p-1")
    assert crewctl.calls == [("list_claims", ("active", TASK_ID, "p-1", 0, ""))]
    every = crewctl.json("claim", "list", "--all")
    assert len(every["claims"]) == 2 and every["next_page_token"] == ""
    human = crewctl.human("claim", "list")
    assert "c-1" in human and "More: --page-token 1" in human


def test_a_refused_heartbeat_says_what_to_do_next(crewctl: Crewctl) -> None:
    crewctl.fake.refusal = refusal("FAILED_PRECONDITION", "LEASE_AT_MAXIMUM", "matcher")
    result = crewctl.run("claim", "heartbeat", "c-1", "--worked", "1h")
    assert result.exit_code == ExitCode.REFUSED
    assert "LEASE_AT_MAXIMUM" in result.stderr and "submit the work" in result.stderr
    crewctl.fake.refusal = refusal("FAILED_PRECONDITION", "TASK_CANCELLED", "matcher")
    cut = crewctl.run("claim", "heartbeat", "c-1", "--worked", "1h")
    assert "still reviewed and paid" in cut.stderr


@pytest.mark.parametrize(
    ("args", "hint"),
    [
        (("claim", "get", "c-1"), "contractor token"),
        (("task", "get", TASK_ID), "client's API key"),
        (("project", "pause", "p-1"), "client's API key"),
    ],
)
def test_an_unauthenticated_call_names_the_credential_it_used(
    crewctl: Crewctl, args: tuple[str, ...], hint: str
) -> None:
    crewctl.fake.refusal = refusal("UNAUTHENTICATED")
    result = crewctl.run(*args)
    assert result.exit_code == ExitCode.CREDENTIAL
    assert hint in result.stderr and "operator credential" not in result.stderr


def test_operator_refusals_still_point_at_the_operator_credential() -> None:
    assert "operator credential" in from_rpc(refusal("UNAUTHENTICATED")).format_message()


def test_watch_prints_events_reconnects_and_prints_the_cursor_on_ctrl_c(
    crewctl: Crewctl,
) -> None:
    crewctl.fake.streams = Script(
        [[[event(1)], refusal("UNAVAILABLE")], [[], [event(2, "claim_ended", reason="expired")]]]
    )
    result = crewctl.run("watch", "--project", "p-1", "--from", "c0")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 2 and "claim_granted" in lines[0] and "reason=expired" in lines[1]
    assert crewctl.calls == [
        ("watch", ("c0", "p-1")),
        ("watch", ("c1", "p-1")),
        ("watch", ("c2", "p-1")),
    ]
    assert "reconnecting in 0.5 s from cursor c1" in result.stderr
    assert "Resume with: crewctl watch --project p-1 --from c2" in result.stderr
    assert crewctl.waits == [0.5, 0.5]  # the second connection got through: no growth


@pytest.mark.parametrize("flag", [("watch", "--json"), ("--json", "watch")])
def test_watch_json_prints_one_object_per_line_with_its_cursor(
    crewctl: Crewctl, flag: tuple[str, str]
) -> None:
    crewctl.fake.streams = Script([[[event(1), event(2)]]])
    result = crewctl.run(*flag)
    assert result.exit_code == 0
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert records == [event(1), event(2)]


def test_watch_without_any_event_says_there_is_nothing_to_resume(crewctl: Crewctl) -> None:
    result = crewctl.run("watch")
    assert result.exit_code == 0 and "nothing to resume from" in result.stderr
    assert crewctl.calls == [("watch", ("", ""))]


def test_watch_ends_on_a_refusal_with_its_exit_code_and_the_last_cursor(
    crewctl: Crewctl,
) -> None:
    crewctl.fake.streams = Script([[[event(1)], refusal("UNAUTHENTICATED")]])
    result = crewctl.run("watch")
    assert result.exit_code == ExitCode.CREDENTIAL
    assert "--from c1" in result.stderr and "client's API key" in result.stderr


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
