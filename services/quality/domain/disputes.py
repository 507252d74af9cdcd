"""Disputes of gold keys: a contractor disputes the key of a gold task a sanction showed
them; the project's client corrects the key (which rescores every answer to it and
judges again the sanctions that rested on it) or dismisses the dispute. Pure: no I/O,
no protobuf.

A contractor can know a gold task only from a sanction's evidence, so that is the only
gold they may dispute. Every other task id, whatever it is, gets the one NOT_FOUND of
``task_not_found``, in the same words, so a dispute tells nobody which tasks are gold.
The idempotency key names one dispute for good, as an appeal's does.
"""

from __future__ import annotations

import enum
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from crewline import paging, validate
from crewline.auth.principal import Kind, Principal
from crewline.errors import FailedPrecondition, InvalidArgument, NotFound
from quality.domain import queues
from quality.domain.appeals import required_text
from quality.domain.gold_keys import FieldRule, check_rule
from quality.domain.queues import QueueQuery

MAX_NOTE = 2000
ALREADY_RESOLVED = "DISPUTE_ALREADY_RESOLVED"
CORRECTION = "correct"  # the request field a corrected key is sent in
# uuid5 namespace of dispute ids; the name is "<contractor_id>/<idempotency_key>".
DISPUTE_NAMESPACE = uuid.UUID("5d0c4f7e-2b1a-5e8f-9c3d-7a6b5e4d3c21")


class DisputeState(enum.StrEnum):
    OPEN = "open"
    CORRECTED = "corrected"
    DISMISSED = "dismissed"


def task_not_found() -> NotFound:
    """The one refusal for any task that is not revealed gold of the caller's: an
    ordinary task, gold not shown to them, someone else's, unknown or malformed. It
    quotes nothing of the request, so every case reads byte for byte the same."""
    return NotFound("task_id: task not found", metadata={"field": "task_id"})


def not_found(dispute_id: uuid.UUID) -> NotFound:
    """A dispute that does not exist, or is not in the caller's project."""
    return NotFound(f"dispute_id: dispute {dispute_id} not found", metadata={"field": "dispute_id"})


def dispute_id(contractor_id: str, idempotency_key: str) -> uuid.UUID:
    return uuid.uuid5(DISPUTE_NAMESPACE, f"{contractor_id}/{idempotency_key}")


@dataclass(frozen=True, kw_only=True)
class Correction:
    """A corrected key as the client sent it (checked against the spec by the handler)."""

    answer_json: str
    rules: tuple[FieldRule, ...] = ()

    def same_as(self, other: Correction | None) -> bool:
        """The same key and rules, however the JSON was spaced or ordered."""
        return other is not None and (_parsed(self.answer_json), self.rules) == (
            _parsed(other.answer_json),
            other.rules,
        )


@dataclass(frozen=True, kw_only=True)
class Target:
    """A gold task the contractor met and a sanction of theirs showed them."""

    task_id: str
    gold_id: uuid.UUID
    project_id: str
    client_id: str


@dataclass(frozen=True, kw_only=True)
class Dispute:
    dispute_id: uuid.UUID
    contractor_id: str
    idempotency_key: str
    project_id: str
    client_id: str
    task_id: str
    gold_id: uuid.UUID  # shown to the client and operators only
    note: str
    state: DisputeState
    filed_at: datetime
    resolved_at: datetime | None = None
    resolution_note: str = ""
    accepted_submission_ids: tuple[str, ...] = ()
    overturned_sanction_ids: tuple[str, ...] = ()
    correction: Correction | None = None
    seq: int = 0  # the order disputes were filed in, for pages

    def already(self, correction: Correction | None) -> bool:
        """Whether a resolved dispute was resolved so (the same resolution again changes
        nothing); any other resolution of it is refused. An open one: False."""
        if self.state is DisputeState.OPEN:
            return False
        if correction is None and self.state is DisputeState.DISMISSED:
            return True
        if correction is not None and correction.same_as(self.correction):
            return True
        raise FailedPrecondition(
            f"dispute {self.dispute_id} was already {self.state.value}"
            f" at {_when(self.resolved_at)}",
            reason=ALREADY_RESOLVED,
        )

    def resolved(
        self,
        *,
        correction: Correction | None,
        note: str,
        now: datetime,
        accepted: Sequence[str] = (),
        overturned: Sequence[str] = (),
    ) -> Dispute:
        """An open dispute resolved: corrected with ``correction``, or dismissed (None)."""
        assert self.state is DisputeState.OPEN
        return replace(
            self,
            state=DisputeState.DISMISSED if correction is None else DisputeState.CORRECTED,
            resolved_at=now,
            resolution_note=note,
            accepted_submission_ids=tuple(accepted),
            overturned_sanction_ids=tuple(overturned),
            correction=correction,
        )


@dataclass(frozen=True, kw_only=True)
class FileDispute:
    """Command: a contractor disputes the key of a gold task they were shown."""

    contractor_id: str
    idempotency_key: str
    task_id: str
    note: str

    @property
    def dispute_id(self) -> uuid.UUID:
        return dispute_id(self.contractor_id, self.idempotency_key)

    def repeats(self, earlier: Dispute) -> Dispute:
        """The dispute this key filed before, if this request is the same one; else refused."""
        if (earlier.task_id, earlier.note) != (self.task_id, self.note):
            raise InvalidArgument("idempotency_key", "was already used for a different dispute")
        return earlier

    def file(self, target: Target, *, now: datetime) -> Dispute:
        return Dispute(
            dispute_id=self.dispute_id,
            contractor_id=self.contractor_id,
            idempotency_key=self.idempotency_key,
            project_id=target.project_id,
            client_id=target.client_id,
            task_id=target.task_id,
            gold_id=target.gold_id,
            note=self.note,
            state=DisputeState.OPEN,
            filed_at=now,
        )


def file_dispute(
    caller: Principal, *, idempotency_key: str, task_id: str, note: str
) -> FileDispute:
    """What can be checked before the task is read. A task id that could not be one is
    the same NOT_FOUND as any other task that may not be disputed."""
    key = validate.identifier(idempotency_key, field="idempotency_key")
    checked = required_text(note, field="note", max_length=MAX_NOTE)
    try:
        task = validate.identifier(task_id, field="task_id")
    except InvalidArgument:
        raise task_not_found() from None
    return FileDispute(contractor_id=caller.id, idempotency_key=key, task_id=task, note=checked)


@dataclass(frozen=True, kw_only=True)
class ResolveDispute:
    """Command: the project's client corrects the key (``correction``) or dismisses."""

    dispute_id: uuid.UUID
    client_id: str
    correction: Correction | None  # None: dismiss
    note: str


def resolve_dispute(
    caller: Principal,
    *,
    dispute_id: str,
    correction: Correction | None,
    dismiss: bool,
    note: str,
) -> ResolveDispute:
    """What can be checked before the dispute is read (the key is checked against the
    project's spec once it is known)."""
    found = validate.uuid_id(dispute_id, field="dispute_id")
    checked = validate.text(note, field="note", max_length=MAX_NOTE)
    if caller.kind is not Kind.CLIENT:
        raise not_found(found)
    if correction is None and not dismiss:
        raise InvalidArgument("resolution", "set correct (the corrected key) or dismiss")
    if correction is not None:
        if not correction.answer_json:
            raise InvalidArgument(f"{CORRECTION}.answer_json", "is required")
        for j, rule in enumerate(correction.rules):
            check_rule(rule, field=f"{CORRECTION}.rules[{j}]")
    return ResolveDispute(
        dispute_id=found, client_id=caller.id, correction=correction, note=checked
    )


# A contractor's own disputes, newest first; a client's or operator's: open ones first,
# oldest first (the queue to resolve), then resolved, newest first.
DisputeQuery = QueueQuery[DisputeState]


def my_disputes(caller: Principal, *, page_size: int = 0, page_token: str = "") -> DisputeQuery:
    return queues.own(caller, noun="disputes", page_size=page_size, page_token=page_token)


def disputes(
    caller: Principal,
    *,
    project_id: str = "",
    state: DisputeState | None = None,
    page_size: int = 0,
    page_token: str = "",
) -> DisputeQuery:
    """Clients name one of their projects (checked by the handler); operators may."""
    return queues.of_project(
        caller, project_id=project_id, state=state, page_size=page_size, page_token=page_token
    )


def page_token(last: Dispute | None) -> str:
    if last is None:
        return ""
    rank = 0 if last.state is DisputeState.OPEN else 1
    return paging.encode_token(str(rank), str(last.seq))


def _parsed(answer_json: str) -> object:
    try:
        return json.loads(answer_json)
    except ValueError:
        return answer_json


def _when(at: datetime | None) -> str:
    return at.isoformat().replace("+00:00", "Z") if at is not None else "?"
