"""Clients' commands on a task's life (cancel, add slots, new lifetime) and the Watch
query. Pure: no I/O, no protobuf. The rules themselves are ``Task``'s methods."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from crewline import paging, validate
from crewline.errors import InvalidArgument
from dispatcher.domain.projects import MAX_SLOTS

MAX_CANCEL_REASON = 500


@dataclass(frozen=True, kw_only=True)
class CancelTask:
    client_id: str
    task_id: uuid.UUID
    reason: str


def cancel_task(*, client_id: str, task_id: str, reason: str) -> CancelTask:
    return CancelTask(
        client_id=validate.identifier(client_id, field="client_id"),
        task_id=validate.uuid_id(task_id, field="task_id"),
        reason=validate.text(reason, field="reason", max_length=MAX_CANCEL_REASON),
    )


@dataclass(frozen=True, kw_only=True)
class AddSlots:
    """Command: more assignments. ``(task_id, request_id)`` makes it idempotent, forever."""

    client_id: str
    request_id: str
    task_id: uuid.UUID
    slots: int


def add_slots(*, client_id: str, request_id: str, task_id: str, slots: int) -> AddSlots:
    return AddSlots(
        client_id=validate.identifier(client_id, field="client_id"),
        request_id=validate.identifier(request_id, field="request_id"),
        task_id=validate.uuid_id(task_id, field="task_id"),
        slots=validate.int_range(slots, field="slots", low=1, high=MAX_SLOTS),
    )


@dataclass(frozen=True, kw_only=True)
class UpdateTaskLifetime:
    client_id: str
    task_id: uuid.UUID
    expires_at: datetime  # checked against the task and the time by Task.relive


def update_task_lifetime(
    *, client_id: str, task_id: str, expires_at: datetime | None
) -> UpdateTaskLifetime:
    if expires_at is None:
        raise InvalidArgument("expires_at", "is required")
    return UpdateTaskLifetime(
        client_id=validate.identifier(client_id, field="client_id"),
        task_id=validate.uuid_id(task_id, field="task_id"),
        expires_at=expires_at,
    )


# --- Watch -------------------------------------------------------------------------------

_CURSOR_TAG = "w"  # so a page token of another list is not taken for a watch cursor


def watch_cursor(seq: int) -> str:
    """The opaque cursor of the client's ``seq``-th watch event."""
    return paging.encode_token(_CURSOR_TAG, str(seq))


@dataclass(frozen=True, kw_only=True)
class Watch:
    """Stream the client's events after ``after`` (its sequence number; None: from now)."""

    client_id: str
    after: int | None
    project_id: str | None


def watch(*, client_id: str, cursor: str, project_id: str) -> Watch:
    after = None
    if cursor:
        tag, seq = paging.decode_token(cursor, parts=2, field="cursor")
        if tag != _CURSOR_TAG:
            raise paging.not_ours("cursor")
        after = paging.token_uint(seq, field="cursor")
    return Watch(
        client_id=validate.identifier(client_id, field="client_id"),
        after=after,
        # Tasks from before projects may hold any identifier as their project id.
        project_id=validate.identifier(project_id, field="project_id") if project_id else None,
    )
