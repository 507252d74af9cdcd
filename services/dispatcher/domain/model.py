"""The dispatcher's rules: what a valid task (and batch of them) is, and how tasks are
listed. How a task moves through its life is ``tasks.Task``; submissions and their
review are ``review``.

Pure: no I/O, no protobuf.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from crewline import paging, validate
from crewline.errors import InvalidArgument
from crewline.paging import PageCursor
from crewline.payloads import check_payload
from dispatcher.domain.projects import (
    MAX_PRIORITY,
    MAX_SLOTS,
    MAX_TASK_LIFETIME,
    MIN_SECONDS,
    project_ref,
)
from dispatcher.domain.tasks import Task, TaskStatus

MAX_BATCH = 1000
MAX_PAGE_SIZE = 500
DEFAULT_PAGE_SIZE = 100


@dataclass(frozen=True, kw_only=True)
class TaskSpec:
    """One task as the client asked for it; zeros and ``None`` mean the project's."""

    idempotency_key: str
    payload_json: str | None = None
    payload_bytes: bytes | None = None
    slots: int = 0
    priority: int | None = None
    lifetime_seconds: int = 0
    # A gold task's (``gold_task``): the id its issuer gave it, and the one contractor
    # it is offered to. A client's task has neither.
    task_id: uuid.UUID | None = None
    reserved_for: str = ""
    # An exam's question's: when the attempt ends, the task's end of life (at least the
    # dispatcher's minimum duration from its publication, ``Task.publish``).
    ends_by: datetime | None = None
    # An unpaid exam's question: TaskPublished says so, for the contractor to be told.
    unpaid: bool = False

    def fingerprint(self, project_id: str) -> str:
        """What must match when the idempotency key is used again, in any batch."""
        digest = hashlib.sha256()
        head: list[object] = [project_id, self.slots, self.priority, self.lifetime_seconds]
        if self.reserved_for:  # only then, so a client's tasks hash as they always did
            head.append(self.reserved_for)
        if self.ends_by is not None:  # the event's own time: a redelivery hashes the same
            head.append(self.ends_by.isoformat())
        digest.update(json.dumps(head).encode())
        if self.payload_json is not None:
            digest.update(b"\x00json\x00" + self.payload_json.encode())
        if self.payload_bytes is not None:
            digest.update(b"\x00bytes\x00" + self.payload_bytes)
        return digest.hexdigest()


def task_spec(
    *,
    idempotency_key: str,
    payload_json: str | None,
    payload_bytes: bytes | None,
    slots: int,
    priority: int | None,
    lifetime_seconds: int,
    field: str,
    min_seconds: int = MIN_SECONDS,
) -> TaskSpec:
    """Validate one task of a request; errors name ``field.<name>``, e.g. ``tasks[17].slots``.
    A lifetime of its own is at least ``min_seconds`` (the dispatcher's setting)."""
    key = validate.identifier(idempotency_key, field=f"{field}.idempotency_key")
    check_payload(payload_json, payload_bytes, field=field)
    if lifetime_seconds:
        validate.int_range(
            lifetime_seconds,
            field=f"{field}.lifetime_seconds",
            low=min_seconds,
            high=MAX_TASK_LIFETIME,
        )
    return TaskSpec(
        idempotency_key=key,
        payload_json=payload_json,
        payload_bytes=payload_bytes,
        slots=validate.int_range(slots, field=f"{field}.slots", low=0, high=MAX_SLOTS),
        priority=None
        if priority is None
        else validate.int_range(priority, field=f"{field}.priority", low=0, high=MAX_PRIORITY),
        lifetime_seconds=lifetime_seconds,
    )


# A gold task's idempotency key: "/" is outside every key a client may choose
# (``validate.identifier``), so it never takes a client's key, and the client can tell
# its gold tasks by it as well as by reserved_for.
GOLD_KEY_PREFIX = "gold/"


def gold_task(
    *,
    task_id: str,
    project_id: str,
    client_id: str,
    contractor_id: str,
    payload_json: str | None,
    payload_bytes: bytes | None,
    ends_by: datetime | None = None,
    unpaid: bool = False,
) -> SubmitTasks:
    """A gold task the quality service issued to one contractor, as a batch of one: the
    id it was given (a redelivery publishes nothing new), the project's slots, priority
    and lifetime (an exam's question: until ``ends_by``), offered to ``contractor_id``
    only. Errors name the event's fields."""
    given = validate.uuid_id(task_id, field="task_id")
    check_payload(payload_json, payload_bytes, field="")
    spec = TaskSpec(
        idempotency_key=f"{GOLD_KEY_PREFIX}{given}",
        payload_json=payload_json,
        payload_bytes=payload_bytes,
        task_id=given,
        reserved_for=validate.identifier(contractor_id, field="contractor_id"),
        ends_by=ends_by,
        unpaid=unpaid,
    )
    return submit_tasks(client_id=client_id, project_id=project_id, tasks=[spec], field="task")


@dataclass(frozen=True, kw_only=True)
class SubmitTasks:
    """Command: publish tasks in one project, all or nothing."""

    client_id: str
    project_id: str
    tasks: tuple[TaskSpec, ...]
    field: str = "tasks"  # "task" for SubmitTask, whose one task is not a list

    def field_of(self, index: int) -> str:
        """The request field of the task at ``index``, for errors."""
        return self.field if self.field == "task" else f"{self.field}[{index}]"

    def distinct(self) -> dict[str, TaskSpec]:
        """Each key's task, in request order: a key repeated in the batch (with the same
        task, which ``submit_tasks`` checks) is one task."""
        return {spec.idempotency_key: spec for spec in self.tasks}

    def answer(
        self, planned: Mapping[str, Task], earlier: Mapping[str, tuple[Task, str]]
    ) -> list[Task]:
        """The tasks in request order: the one a key made before (``earlier``, with the
        fingerprint of its request), else the one planned now. A key used before for a
        different task refuses the batch, naming the first task that reuses it."""
        tasks = []
        for i, spec in enumerate(self.tasks):
            key = spec.idempotency_key
            if key not in earlier:
                tasks.append(planned[key])
                continue
            task, fingerprint = earlier[key]
            if fingerprint != spec.fingerprint(self.project_id):
                raise InvalidArgument(
                    f"{self.field_of(i)}.idempotency_key", "was already used for a different task"
                )
            tasks.append(task)
        return tasks


def check_batch_size(count: int, *, field: str = "tasks") -> None:
    if not 1 <= count <= MAX_BATCH:
        raise InvalidArgument(field, f"must hold 1-{MAX_BATCH} tasks")


def submit_tasks(
    *, client_id: str, project_id: str, tasks: Sequence[TaskSpec], field: str = "tasks"
) -> SubmitTasks:
    """A batch of validated specs; a key repeated with a different task is refused at the
    repeat. (A key repeated with the same task is that one task, twice.)"""
    check_batch_size(len(tasks), field=field)
    cmd = SubmitTasks(
        client_id=validate.identifier(client_id, field="client_id"),
        project_id=project_ref(project_id, field="project_id"),
        tasks=tuple(tasks),
        field=field,
    )
    first: dict[str, TaskSpec] = {}
    for i, spec in enumerate(cmd.tasks):
        earlier = first.setdefault(spec.idempotency_key, spec)
        if earlier != spec:
            raise InvalidArgument(
                f"{cmd.field_of(i)}.idempotency_key",
                "repeats an earlier task's key in this batch with a different task",
            )
    return cmd


@dataclass(frozen=True, kw_only=True)
class ListTasks:
    """The caller's tasks, least recently updated first, after ``after``."""

    client_id: str
    page_size: int
    project_id: str | None = None
    status: TaskStatus | None = None
    updated_since: datetime | None = None
    after: PageCursor | None = None

    @property
    def after_task_id(self) -> uuid.UUID | None:
        return None if self.after is None else uuid.UUID(self.after.id)


def list_tasks(
    *,
    client_id: str,
    page_size: int,
    page_token: str,
    project_id: str = "",
    status: TaskStatus | None = None,
    updated_since: datetime | None = None,
) -> ListTasks:
    after = paging.cursor_of(page_token)
    if after is not None:
        validate.uuid_id(after.id, field="page_token")  # a task list's token holds a task id
    return ListTasks(
        client_id=validate.identifier(client_id, field="client_id"),
        page_size=paging.page_size(page_size, default=DEFAULT_PAGE_SIZE, maximum=MAX_PAGE_SIZE),
        # Tasks from before projects may hold any identifier as their project id.
        project_id=validate.identifier(project_id, field="project_id") if project_id else None,
        status=status,
        updated_since=updated_since,
        after=after,
    )
