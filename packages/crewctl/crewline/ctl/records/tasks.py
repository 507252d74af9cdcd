"""Tasks, their submissions and Watch events, as records; and the task specs crewctl
sends."""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any, TypedDict

from google.protobuf.descriptor import FieldDescriptor

from crewline.ctl.pb import enum_word, field_word, money_record, timestamp_text
from crewline.ctl.records.disputes import dispute_record
from crewline.ctl.records.projects import pay_terms_record
from crewline.ctl.records.sanctions import appeal_record, sanction_record
from crewline.ctl.records.submissions import FlagRecord, flag_record

if TYPE_CHECKING:
    from google.protobuf.message import Message

    from crewline.client import results
    from crewline.v1 import task_service_pb2 as task_api


class TaskRecord(TypedDict):
    task_id: str
    client_id: str
    project_id: str
    status: str | None  # open, in_progress, completed, expired or cancelled
    slots: int
    live_claims: int
    claimed_count: int
    submitted_count: int
    accepted_count: int
    priority: int
    idempotency_key: str
    # A gold task's (issued by the quality service, key gold/<task id>): the one
    # contractor it is offered to; "" for every other task.
    reserved_for: str
    payload_json: str | None
    payload_base64: str | None  # a binary payload, base64
    created_at: str | None
    updated_at: str | None
    expires_at: str | None
    cancelled_at: str | None


class TaskSubmissionRecord(TypedDict):
    submission_id: str
    contractor_id: str
    status: str | None  # pending_review or accepted
    submitted_at: str | None
    flags: list[FlagRecord]  # why its time was flagged: it waits for review


class TaskDetails(TypedDict):
    task: TaskRecord
    submissions: list[TaskSubmissionRecord]


class TaskPage(TypedDict):
    tasks: list[TaskRecord]
    next_page_token: str  # empty on the last page


class NewSlots(TypedDict):
    # The idempotency key: the same request id never adds the slots twice.
    request_id: str
    task: TaskRecord


class WatchEventRecord(TypedDict):
    cursor: str  # pass it to `crewctl watch --from` to resume right after this event
    at: str | None
    task_id: str
    project_id: str
    # task_changed, claim_granted, claim_extended, claim_ended, ..., sanction_changed,
    # appeal_changed and dispute_changed (quality control in the project: task_id empty)
    type: str
    event: dict[str, Any]  # the event's own fields (a task record for task_changed)


class TaskSpecRecord(TypedDict):
    """A task to submit: its idempotency key and its payload, JSON text."""

    idempotency_key: str
    payload_json: str


def payload(message: Message) -> tuple[str | None, str | None]:
    """A Task's or a Claim's payload as (JSON text, base64 of the bytes); unset ones None."""
    chosen = message.WhichOneof("payload")
    if chosen == "payload_json":
        return str(getattr(message, chosen)), None
    if chosen == "payload_bytes":
        return None, base64.b64encode(getattr(message, chosen)).decode()
    return None, None


def task_record(pb: task_api.Task) -> TaskRecord:
    """A Task message as a record."""
    payload_json, payload_base64 = payload(pb)
    return {
        "task_id": pb.task_id,
        "client_id": pb.client_id,
        "project_id": pb.project_id,
        "status": field_word(pb, "status"),
        "slots": pb.slots,
        "live_claims": pb.live_claims,
        "claimed_count": pb.claimed_count,
        "submitted_count": pb.submitted_count,
        "accepted_count": pb.accepted_count,
        "priority": pb.priority,
        "idempotency_key": pb.idempotency_key,
        "reserved_for": pb.reserved_for,
        "payload_json": payload_json,
        "payload_base64": payload_base64,
        "created_at": timestamp_text(pb, "created_at"),
        "updated_at": timestamp_text(pb, "updated_at"),
        "expires_at": timestamp_text(pb, "expires_at"),
        "cancelled_at": timestamp_text(pb, "cancelled_at"),
    }


def task_submission_record(pb: task_api.Submission) -> TaskSubmissionRecord:
    return {
        "submission_id": pb.submission_id,
        "contractor_id": pb.contractor_id,
        "status": field_word(pb, "status"),
        "submitted_at": timestamp_text(pb, "submitted_at"),
        "flags": [flag_record(f) for f in pb.flags],
    }


# Messages with a record of their own, wherever they appear in an event.
_RECORDS: dict[str, Any] = {
    "crewline.v1.Task": task_record,
    "crewline.v1.PayTerms": pay_terms_record,
    "crewline.v1.Money": money_record,
    "crewline.v1.Sanction": sanction_record,
    "crewline.v1.Appeal": appeal_record,
    "crewline.v1.Dispute": dispute_record,
}


def _value(field: Any, value: Any) -> Any:
    # field: a FieldDescriptor (pure Python or upb's, which the stubs type apart).
    if field.type == FieldDescriptor.TYPE_ENUM:
        return enum_word(field.enum_type, value)
    if field.type == FieldDescriptor.TYPE_BYTES:
        return base64.b64encode(value).decode()
    if field.type != FieldDescriptor.TYPE_MESSAGE:
        return value
    if value.DESCRIPTOR.full_name == "google.protobuf.Timestamp":
        return value.ToJsonString()
    return _RECORDS.get(value.DESCRIPTOR.full_name, plain)(value)


def plain(message: Message) -> dict[str, Any]:
    """Every field of an event message as JSON-ready values (bytes as base64)."""
    out: dict[str, Any] = {}
    for field in message.DESCRIPTOR.fields:
        oneof = field.containing_oneof
        if oneof is not None and message.WhichOneof(oneof.name) != field.name:
            continue
        value = getattr(message, field.name)
        if field.is_repeated:
            out[field.name] = [_value(field, v) for v in value]
        elif field.type == FieldDescriptor.TYPE_MESSAGE and not message.HasField(field.name):
            out[field.name] = None
        else:
            out[field.name] = _value(field, value)
    return out


def watch_event_record(pb: task_api.WatchEvent) -> WatchEventRecord:
    """A WatchEvent as a record: its envelope, and the event's fields under ``event``."""
    kind = pb.WhichOneof("event") or "unknown"
    event = getattr(pb, kind) if kind != "unknown" else None
    return {
        "cursor": pb.cursor,
        "at": timestamp_text(pb, "at"),
        "task_id": pb.task_id,
        "project_id": pb.project_id,
        "type": kind,
        "event": {} if event is None else _RECORDS.get(event.DESCRIPTOR.full_name, plain)(event),
    }


def details_record(reply: task_api.GetTaskResponse) -> TaskDetails:
    return {
        "task": task_record(reply.task),
        "submissions": [task_submission_record(s) for s in reply.submissions],
    }


def page_record(reply: results.Page[results.Task]) -> TaskPage:
    return {
        "tasks": [task_record(t.raw) for t in reply.items],
        "next_page_token": reply.next_page_token,
    }


def status_filter(word: str | None) -> results.TaskStatus | task_api.TaskStatus.ValueType:
    """A task status word (``in_progress``) as the SDK's filter; None: any."""
    from crewline.client.results import TaskStatus
    from crewline.v1 import task_service_pb2 as task_api

    return TaskStatus(word.upper()) if word else task_api.TASK_STATUS_UNSPECIFIED


def spec_pb(spec: TaskSpecRecord) -> task_api.TaskSpec:
    from crewline.client import build

    return build.task(spec["payload_json"], idempotency_key=spec["idempotency_key"])
