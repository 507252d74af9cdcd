"""The dispatcher's task calls and Watch for crewctl, made with a client's API key.

Protobuf stops here: replies and events become the records of ``crewline.ctl.task_api``.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from crewline.ctl.config import Addresses
from crewline.ctl.pb import enum_number, enum_word, timestamp_text
from crewline.ctl.project_rpc import pay_terms_record, task_service
from crewline.ctl.rpc import Caller
from crewline.ctl.task_api import (
    SubmissionRecord,
    TaskDetails,
    TaskPage,
    TaskRecord,
    TaskSpecRecord,
    WatchEventRecord,
)
from crewline.protobuf import timestamp
from crewline.v1 import task_service_pb2 as api

TASK_STATUS = api.TaskStatus.DESCRIPTOR


def payload(message: Message) -> tuple[str | None, str | None]:
    """A Task's or a Claim's payload as (JSON text, base64 of the bytes); unset ones None."""
    chosen = message.WhichOneof("payload")
    if chosen == "payload_json":
        return str(getattr(message, chosen)), None
    if chosen == "payload_bytes":
        return None, base64.b64encode(getattr(message, chosen)).decode()
    return None, None


def task_record(pb: api.Task) -> TaskRecord:
    """A Task message as a record."""
    payload_json, payload_base64 = payload(pb)
    return {
        "task_id": pb.task_id,
        "client_id": pb.client_id,
        "project_id": pb.project_id,
        "status": enum_word(TASK_STATUS, pb.status),
        "slots": pb.slots,
        "live_claims": pb.live_claims,
        "claimed_count": pb.claimed_count,
        "submitted_count": pb.submitted_count,
        "accepted_count": pb.accepted_count,
        "priority": pb.priority,
        "idempotency_key": pb.idempotency_key,
        "payload_json": payload_json,
        "payload_base64": payload_base64,
        "created_at": timestamp_text(pb, "created_at"),
        "updated_at": timestamp_text(pb, "updated_at"),
        "expires_at": timestamp_text(pb, "expires_at"),
        "cancelled_at": timestamp_text(pb, "cancelled_at"),
    }


def submission_record(pb: api.Submission) -> SubmissionRecord:
    return {
        "submission_id": pb.submission_id,
        "contractor_id": pb.contractor_id,
        "status": enum_word(api.SubmissionStatus.DESCRIPTOR, pb.status),
        "submitted_at": timestamp_text(pb, "submitted_at"),
    }


# Messages with a record of their own, wherever they appear in an event.
_RECORDS: dict[str, Any] = {
    "crewline.v1.Task": task_record,
    "crewline.v1.PayTerms": pay_terms_record,
    "crewline.v1.Money": lambda m: {"currency": m.currency_code, "amount_minor": m.amount_minor},
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


def watch_event_record(pb: api.WatchEvent) -> WatchEventRecord:
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


class GrpcTasks:
    """Calls the dispatcher's TaskService with ``authorization: Bearer <API key>``."""

    def __init__(self, calls: Caller) -> None:
        self._calls = calls

    @classmethod
    def connect(cls, addresses: Addresses, credential: str) -> GrpcTasks:
        return cls(task_service(addresses, credential))

    def get_task(self, task_id: str) -> TaskDetails:
        reply = self._calls.call("GetTask", api.GetTaskRequest(task_id=task_id))
        return {
            "task": task_record(reply.task),
            "submissions": [submission_record(s) for s in reply.submissions],
        }

    def submit_tasks(self, project_id: str, specs: list[TaskSpecRecord]) -> list[TaskRecord]:
        request = api.SubmitTasksRequest(
            project_id=project_id,
            tasks=[
                api.TaskSpec(idempotency_key=s["idempotency_key"], payload_json=s["payload_json"])
                for s in specs
            ],
        )
        return [task_record(t) for t in self._calls.call("SubmitTasks", request).tasks]

    def list_tasks(
        self, project_id: str, status: str | None, page_size: int, page_token: str
    ) -> TaskPage:
        request = api.ListTasksRequest(
            project_id=project_id, page_size=page_size, page_token=page_token
        )
        if status:
            request.status = enum_number(TASK_STATUS, status)  # type: ignore[assignment]
        reply = self._calls.call("ListTasks", request)
        return {
            "tasks": [task_record(t) for t in reply.tasks],
            "next_page_token": reply.next_page_token,
        }

    def cancel_task(self, task_id: str, reason: str) -> TaskRecord:
        request = api.CancelTaskRequest(task_id=task_id, reason=reason)
        return task_record(self._calls.call("CancelTask", request).task)

    def add_slots(self, request_id: str, task_id: str, slots: int) -> TaskRecord:
        request = api.AddSlotsRequest(request_id=request_id, task_id=task_id, slots=slots)
        return task_record(self._calls.call("AddSlots", request).task)

    def update_task_lifetime(self, task_id: str, expires_at: datetime) -> TaskRecord:
        request = api.UpdateTaskLifetimeRequest(task_id=task_id, expires_at=timestamp(expires_at))
        return task_record(self._calls.call("UpdateTaskLifetime", request).task)

    def watch(self, cursor: str, project_id: str) -> Iterator[list[WatchEventRecord]]:
        request = api.WatchRequest(cursor=cursor, project_id=project_id)
        for reply in self._calls.stream("Watch", request):
            yield [watch_event_record(e) for e in reply.events]
