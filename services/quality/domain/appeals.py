"""Appeals: a contractor contests one of their sanctions, or a rejection of their work;
the project's client or an operator decides, and an appeal nobody decided by its
deadline is upheld. Pure: no I/O, no protobuf.

One appeal per subject, ever. The contractor's idempotency key names one appeal for
good (its id is derived from the contractor and the key), so a retried FileAppeal
returns it, and the key reused for another subject or text is refused on
``idempotency_key``, as keys are everywhere else in Crewline.
"""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from crewline import paging, validate
from crewline.auth.principal import Kind, Principal
from crewline.errors import FailedPrecondition, InvalidArgument, NotFound
from quality.domain import queues
from quality.domain.queues import QueueQuery
from quality.domain.queues import queue_paging as queue_paging  # disputes' tests read it here

MAX_TEXT = 2000
MAX_NOTE = 2000
APPEAL_DEADLINE = "appeal_deadline"  # the durable clock's kind; its ref is the appeal id
WINDOW_CLOSED = "APPEAL_WINDOW_CLOSED"
ALREADY_DECIDED = "APPEAL_ALREADY_DECIDED"
# uuid5 namespace of appeal ids; the name is "<contractor_id>/<idempotency_key>" (an
# identifier holds no "/", so the name is unambiguous).
APPEAL_NAMESPACE = uuid.UUID("0b8f8a52-6a43-5c55-9a0e-5d1c1f0f3a61")


class AppealState(enum.StrEnum):
    PENDING = "pending"
    UPHELD = "upheld"
    DENIED = "denied"


class Decider(enum.StrEnum):
    CLIENT = "client"
    OPERATOR = "operator"
    DEADLINE = "deadline"


class SubjectKind(enum.StrEnum):
    SANCTION = "sanction"
    SUBMISSION = "submission"  # a rejected submission (the claim id)


@dataclass(frozen=True)
class Subject:
    kind: SubjectKind
    id: str

    @property
    def field(self) -> str:
        """The request field that names it."""
        return f"{self.kind.value}_id"

    def not_found(self) -> NotFound:
        """The one refusal for an unknown subject, someone else's, or a submission not
        (or no longer) rejected: nothing tells them apart."""
        return NotFound(
            f"{self.field}: {self.kind.value} {self.id} not found", metadata={"field": self.field}
        )


def not_found(appeal_id: uuid.UUID) -> NotFound:
    """An appeal that does not exist, or that the caller may not see."""
    return NotFound(f"appeal_id: appeal {appeal_id} not found", metadata={"field": "appeal_id"})


def appeal_id(contractor_id: str, idempotency_key: str) -> uuid.UUID:
    return uuid.uuid5(APPEAL_NAMESPACE, f"{contractor_id}/{idempotency_key}")


@dataclass(frozen=True, kw_only=True)
class Appeal:
    appeal_id: uuid.UUID
    contractor_id: str
    idempotency_key: str
    project_id: str
    client_id: str
    subject: Subject
    text: str
    state: AppealState
    filed_at: datetime
    decide_by: datetime
    decided_at: datetime | None = None
    decided_by: Decider | None = None
    decision_note: str = ""
    accepted_submission_ids: tuple[str, ...] = ()
    seq: int = 0  # the order appeals were filed in, for pages

    def decide(
        self,
        *,
        uphold: bool,
        by: Decider,
        note: str,
        now: datetime,
        accepted_submission_ids: tuple[str, ...] = (),
    ) -> Appeal | None:
        """The appeal decided; None when it was decided so already (the same decision
        again changes nothing). The other decision of a decided appeal is refused."""
        wanted = AppealState.UPHELD if uphold else AppealState.DENIED
        if self.state is not AppealState.PENDING:
            if self.state is wanted:
                return None
            raise FailedPrecondition(
                f"appeal {self.appeal_id} was already {self.state.value}"
                f" by {self.decided_by} at {_when(self.decided_at)}",
                reason=ALREADY_DECIDED,
            )
        return replace(
            self,
            state=wanted,
            decided_at=now,
            decided_by=by,
            decision_note=note,
            accepted_submission_ids=accepted_submission_ids if uphold else (),
        )


@dataclass(frozen=True, kw_only=True)
class FileAppeal:
    """Command: a contractor appeals a subject of theirs."""

    contractor_id: str
    idempotency_key: str
    subject: Subject
    text: str

    @property
    def appeal_id(self) -> uuid.UUID:
        return appeal_id(self.contractor_id, self.idempotency_key)

    def repeats(self, earlier: Appeal) -> Appeal:
        """The appeal this key filed before, if this request is the same one; else refused."""
        if (earlier.subject, earlier.text) != (self.subject, self.text):
            raise InvalidArgument("idempotency_key", "was already used for a different appeal")
        return earlier

    def file(self, target: Target, *, now: datetime, window: int, decision: int) -> Appeal:
        """The new appeal, if ``now`` is within ``window`` seconds of the subject's
        sanction or rejection; it is decided ``decision`` seconds after filing at the latest."""
        closes_at = target.since + timedelta(seconds=window)
        if now > closes_at:
            raise FailedPrecondition(
                f"{self.subject.field}: the appeal window of {self.subject.kind.value}"
                f" {self.subject.id} closed at {_when(closes_at)}",
                reason=WINDOW_CLOSED,
                metadata={"field": self.subject.field, "closed_at": _when(closes_at)},
            )
        return Appeal(
            appeal_id=self.appeal_id,
            contractor_id=self.contractor_id,
            idempotency_key=self.idempotency_key,
            project_id=target.project_id,
            client_id=target.client_id,
            subject=self.subject,
            text=self.text,
            state=AppealState.PENDING,
            filed_at=now,
            decide_by=now + timedelta(seconds=decision),
        )


@dataclass(frozen=True, kw_only=True)
class Target:
    """A subject as found, the caller's own: its project and when it may first be
    appealed (the sanction's imposition, the rejection's review)."""

    project_id: str
    client_id: str
    since: datetime


def file_appeal(
    caller: Principal,
    *,
    idempotency_key: str,
    sanction_id: str | None,
    submission_id: str | None,
    text: str,
) -> FileAppeal:
    """What can be checked before the subject is read; at most one subject is set (the
    request's oneof)."""
    key = validate.identifier(idempotency_key, field="idempotency_key")
    if sanction_id is not None:
        subject = Subject(
            SubjectKind.SANCTION, str(validate.uuid_id(sanction_id, field="sanction_id"))
        )
    elif submission_id is not None:
        subject = Subject(
            SubjectKind.SUBMISSION, validate.identifier(submission_id, field="submission_id")
        )
    else:
        raise InvalidArgument("subject", "set sanction_id or submission_id")
    return FileAppeal(
        contractor_id=caller.id,
        idempotency_key=key,
        subject=subject,
        text=required_text(text, field="text", max_length=MAX_TEXT),
    )


@dataclass(frozen=True, kw_only=True)
class DecideAppeal:
    """Command: uphold or deny an appeal the caller may decide."""

    appeal_id: uuid.UUID
    client_id: str | None  # the appeal's project must be this client's; None: an operator
    by: Decider
    uphold: bool
    note: str


def decide_appeal(caller: Principal, *, appeal_id: str, uphold: bool, note: str) -> DecideAppeal:
    found = validate.uuid_id(appeal_id, field="appeal_id")
    checked = validate.text(note, field="note", max_length=MAX_NOTE)
    if caller.kind is Kind.OPERATOR:
        return DecideAppeal(
            appeal_id=found, client_id=None, by=Decider.OPERATOR, uphold=uphold, note=checked
        )
    if caller.kind is not Kind.CLIENT:
        raise not_found(found)
    return DecideAppeal(
        appeal_id=found, client_id=caller.id, by=Decider.CLIENT, uphold=uphold, note=checked
    )


# A contractor's own appeals, newest first; a client's or operator's: pending ones
# first, oldest first (the queue to decide), then decided, newest first.
AppealQuery = QueueQuery[AppealState]


def my_appeals(caller: Principal, *, page_size: int = 0, page_token: str = "") -> AppealQuery:
    return queues.own(caller, noun="appeals", page_size=page_size, page_token=page_token)


def appeals(
    caller: Principal,
    *,
    project_id: str = "",
    state: AppealState | None = None,
    page_size: int = 0,
    page_token: str = "",
) -> AppealQuery:
    """Clients name one of their projects (checked by the handler); operators may."""
    return queues.of_project(
        caller, project_id=project_id, state=state, page_size=page_size, page_token=page_token
    )


def rank(appeal: Appeal) -> int:
    """Where an appeal sorts in a queue: pending (0) before decided (1)."""
    return 0 if appeal.state is AppealState.PENDING else 1


def page_token(last: Appeal | None) -> str:
    return paging.encode_token(str(rank(last)), str(last.seq)) if last is not None else ""


def required_text(value: str, *, field: str, max_length: int) -> str:
    """Free text that must say something: not blank, at most ``max_length`` characters."""
    if not value.strip():
        raise InvalidArgument(field, "is required")
    return validate.text(value, field=field, max_length=max_length)


def _when(at: datetime | None) -> str:
    return at.isoformat().replace("+00:00", "Z") if at is not None else "?"
