"""A task and how it moves through its life: its status follows from its counts,
its lifetime and its client. Pure: no I/O, no protobuf."""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from crewline.errors import FailedPrecondition, InvalidArgument
from crewline.paging import PageCursor
from dispatcher.domain.projects import DAY, MAX_SLOTS, MAX_TASK_LIFETIME, MIN_SECONDS, Project

if TYPE_CHECKING:
    from dispatcher.domain.model import TaskSpec


class TaskStatus(enum.StrEnum):
    OPEN = "open"  # takes claims: a slot is free
    IN_PROGRESS = "in_progress"  # every slot is claimed or has work
    COMPLETED = "completed"  # every slot's work is reviewed (accepted or rejected)
    EXPIRED = "expired"  # the lifetime ended with a slot free
    CANCELLED = "cancelled"  # by its client; for good


# Why a reserved task was cancelled when its contractor's claim ended.
RESERVED_ANSWERED = "gold answered"
RESERVED_UNANSWERED = "gold claim ended without work"

# A finished task changes no more (but work already under way may still arrive, and
# a completed one may be given more slots while its lifetime lasts).
FINISHED = frozenset({TaskStatus.COMPLETED, TaskStatus.CANCELLED})


class Lifecycle(enum.StrEnum):
    """What a task's state means to the pool of open slots (the matcher)."""

    LIVE = "live"  # takes claims while it has free slots
    CANCELLED = "cancelled"
    EXPIRED = "expired"  # the lifetime is over: no new claims


@dataclass(frozen=True, kw_only=True)
class Task:
    """A task and its counts. Every change goes through a method here, which
    recomputes the status, bumps the revision and stamps the time."""

    task_id: uuid.UUID
    client_id: str
    project_id: str
    idempotency_key: str
    status: TaskStatus
    slots: int
    payload_json: str | None
    payload_bytes: bytes | None
    priority: int
    own_priority: bool  # set by the task; else it follows the project's
    expires_at: datetime
    claimed_count: int  # claims ever granted
    live_claims: int  # granted and not yet submitted or ended
    submitted_count: int
    accepted_count: int
    rejected_count: int  # a rejection does not reopen its slot (the client may add one)
    lifetime_over: bool  # its lifetime clock fired (and no later one is set)
    cancelled_at: datetime | None
    cancel_reason: str
    revision: int
    created_at: datetime
    updated_at: datetime
    # The one contractor offered it (a gold task the quality service issued); "" for any
    # other task. It ends with their claim (``ended_with_claim_of``).
    reserved_for: str = ""

    @classmethod
    def publish(
        cls,
        spec: TaskSpec,
        *,
        project: Project,
        task_id: uuid.UUID,
        now: datetime,
        min_seconds: int = MIN_SECONDS,
    ) -> Task:
        """A new task; what the spec leaves unset comes from its project. An exam's
        question lives until its attempt ends, but at least ``min_seconds`` (the
        dispatcher's minimum duration: an event late on its way still leaves time to
        claim it) and at most the longest lifetime."""
        lifetime = spec.lifetime_seconds or project.task_lifetime_seconds
        expires_at = now + timedelta(seconds=lifetime)
        if spec.ends_by is not None:
            expires_at = min(
                max(spec.ends_by, now + timedelta(seconds=min_seconds)),
                now + timedelta(seconds=MAX_TASK_LIFETIME),
            )
        return cls(
            task_id=task_id,
            client_id=project.client_id,
            project_id=project.project_id,
            idempotency_key=spec.idempotency_key,
            status=TaskStatus.OPEN,
            slots=spec.slots or project.assignments_per_task,
            payload_json=spec.payload_json,
            payload_bytes=spec.payload_bytes,
            priority=project.priority if spec.priority is None else spec.priority,
            own_priority=spec.priority is not None,
            expires_at=expires_at,
            claimed_count=0,
            live_claims=0,
            submitted_count=0,
            accepted_count=0,
            rejected_count=0,
            lifetime_over=False,
            cancelled_at=None,
            cancel_reason="",
            revision=1,
            created_at=now,
            updated_at=now,
            reserved_for=spec.reserved_for,
        )

    # --- what the status is -----------------------------------------------------------

    def _status(self) -> TaskStatus:
        if self.cancelled_at is not None:
            return TaskStatus.CANCELLED
        if self.reviewed_count >= self.slots:
            return TaskStatus.COMPLETED
        busy = self.live_claims + self.submitted_count  # slots claimed or with work
        if busy >= self.slots:
            return TaskStatus.IN_PROGRESS
        return TaskStatus.EXPIRED if self.lifetime_over else TaskStatus.OPEN

    @property
    def reviewed_count(self) -> int:
        return self.accepted_count + self.rejected_count

    @property
    def lifecycle(self) -> Lifecycle:
        if self.cancelled_at is not None:
            return Lifecycle.CANCELLED
        return Lifecycle.EXPIRED if self.lifetime_over else Lifecycle.LIVE

    def pool_changes_from(self, before: Task) -> bool:
        """Whether the pool of open slots must hear of it (TaskChanged): its lifecycle,
        slots or end of life moved."""
        return (self.lifecycle, self.slots, self.expires_at) != (
            before.lifecycle,
            before.slots,
            before.expires_at,
        )

    def shows_change_from(self, before: Task) -> bool:
        """Whether a client watching sees a new snapshot: that, or its status moved."""
        return self.status is not before.status or self.pool_changes_from(before)

    def _changed(self, *, now: datetime, **changes: Any) -> Task:
        task = replace(self, **changes, revision=self.revision + 1, updated_at=now)
        return replace(task, status=task._status())

    # --- what the matcher's events do -------------------------------------------------

    def claim_granted(self, *, now: datetime) -> Task:
        return self._changed(
            now=now, claimed_count=self.claimed_count + 1, live_claims=self.live_claims + 1
        )

    def claim_ended(self, *, now: datetime) -> Task:
        """A live claim ended without work: its slot is free again (if the task lives)."""
        return self._changed(now=now, live_claims=max(self.live_claims - 1, 0))

    def work_submitted(self, *, was_live: bool, now: datetime) -> Task:
        """Work for a claim: the slot has work now. ``was_live``: the claim was counted
        live (a claim granted before the dispatcher counted them was not)."""
        live = self.live_claims - 1 if was_live else self.live_claims
        return self._changed(
            now=now, live_claims=max(live, 0), submitted_count=self.submitted_count + 1
        )

    def ended_with_claim_of(self, contractor_id: str, *, submitted: bool, now: datetime) -> Task:
        """A task reserved for ``contractor_id`` takes no more claims once their claim on
        it ends (``submitted``: with work): it is cancelled, so the pool drops it and the
        client sees it done with; its work is reviewed and paid as any. Any other task,
        or one finished already, is itself."""
        if not self.reserved_for or contractor_id != self.reserved_for or self.status in FINISHED:
            return self
        reason = RESERVED_ANSWERED if submitted else RESERVED_UNANSWERED
        return self.cancel(reason=reason, now=now)

    def accept_one(self, *, now: datetime, overriding: bool = False) -> Task:
        """One more submission accepted (``overriding``: one that was rejected); the
        task completes when every slot's work is reviewed."""
        if overriding:
            return self._changed(
                now=now,
                accepted_count=self.accepted_count + 1,
                rejected_count=max(self.rejected_count - 1, 0),
            )
        self._check_reviewable()
        return self._changed(now=now, accepted_count=self.accepted_count + 1)

    def reject_one(self, *, now: datetime) -> Task:
        """One more submission rejected: its slot stays used (reviewed)."""
        self._check_reviewable()
        return self._changed(now=now, rejected_count=self.rejected_count + 1)

    def _check_reviewable(self) -> None:
        if self.reviewed_count >= self.slots:
            raise ValueError(f"task {self.task_id} would have more reviewed work than slots")

    def lifetime_ended(self, *, now: datetime) -> Task:
        """Its lifetime clock fired: no new claims. Itself when finished already."""
        if self.status in FINISHED or self.lifetime_over:
            return self
        return self._changed(now=now, lifetime_over=True)

    # --- what its client does ---------------------------------------------------------

    def cancel(self, *, reason: str, now: datetime) -> Task:
        """Cancelled for good; itself when it was already (a repeated cancel)."""
        if self.status is TaskStatus.CANCELLED:
            return self
        if self.status is TaskStatus.COMPLETED:
            raise self._finished("cancelled")
        return self._changed(now=now, cancelled_at=now, cancel_reason=reason)

    def add_slots(self, slots: int, *, now: datetime) -> Task:
        """``slots`` more assignments, for a task still taking claims, or completed
        (every slot's work reviewed) while its lifetime lasts: it reopens."""
        completed_in_life = self.status is TaskStatus.COMPLETED and now < self.expires_at
        if (self.status in FINISHED and not completed_in_life) or self.lifetime_over:
            raise self._finished("given more slots")
        if self.slots + slots > MAX_SLOTS:
            raise InvalidArgument(
                "slots", f"would make {self.slots + slots} slots; a task has at most {MAX_SLOTS}"
            )
        return self._changed(now=now, slots=self.slots + slots)

    def relive(self, expires_at: datetime, *, now: datetime, min_seconds: int) -> Task:
        """A new end of life (earlier or later); an expired task lives again. Itself
        when nothing changes (a repeated request)."""
        if self.status in FINISHED:
            raise self._finished("given a new lifetime")
        if expires_at < now + timedelta(seconds=min_seconds):
            raise InvalidArgument("expires_at", f"must be at least {min_seconds} seconds from now")
        if expires_at > self.created_at + timedelta(seconds=MAX_TASK_LIFETIME):
            raise InvalidArgument(
                "expires_at", f"must be at most {MAX_TASK_LIFETIME // DAY} days after creation"
            )
        if expires_at == self.expires_at and not self.lifetime_over:
            return self
        return self._changed(now=now, expires_at=expires_at, lifetime_over=False)

    def _finished(self, doing: str) -> FailedPrecondition:
        return FailedPrecondition(
            f"task {self.task_id} is {self.status.value} and cannot be {doing}",
            reason="TASK_FINISHED",
            metadata={"status": self.status.value},
        )

    @property
    def cursor(self) -> PageCursor:
        return PageCursor(self.updated_at, str(self.task_id))
