"""Sanctions: what a rule did to one contractor in one project, and the evidence it rests
on. Pure: no I/O, no protobuf.

A suspension or a review-everything sanction is ACTIVE until its ``ends_at`` (ENDED by
a durable clock) or until an upheld appeal LIFTS it; a notice is ENDED as it is given.
Each change is a new version (1 when imposed), which SanctionChanged carries.

Evidence holds contractors' answers, gold keys and clients' feedback: it never reaches
an event or a log (``repr`` leaves those out), only the sanction's readers.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from crewline import paging, validate
from crewline.auth.principal import Kind, Principal
from crewline.errors import InvalidArgument, NotFound
from quality.domain.rules import Rule, RuleAction

PAGE = 20
PAGE_MAX = 100


class SanctionState(enum.StrEnum):
    ACTIVE = "active"
    ENDED = "ended"
    LIFTED = "lifted"


@dataclass(frozen=True, kw_only=True)
class EvidenceItem:
    """One item a sanction rests on: a gold answer, a review, or a submission and its
    time flag. ``submission_id`` is the claim id."""

    kind: str  # 'gold' | 'review' | 'flag'
    task_id: str
    submission_id: str
    submitted_at: datetime
    gold_id: uuid.UUID | None = None
    correct: bool | None = None  # gold
    accepted: bool | None = None  # review
    flagged: bool | None = None  # flag
    answer_json: str | None = field(default=None, repr=False)  # gold: the contractor's
    expected_json: str | None = field(default=None, repr=False)  # gold: the key
    feedback: str | None = field(default=None, repr=False)  # review: the client's note
    payload_json: str | None = field(default=None, repr=False)  # gold: the task's payload
    payload_bytes: bytes | None = field(default=None, repr=False)


@dataclass(frozen=True, kw_only=True)
class Window:
    """The items a measure was counted over, newest first, and the newest one's place
    in the window's order (None when empty)."""

    items: tuple[EvidenceItem, ...]
    newest: tuple[datetime, str] | None


@dataclass(frozen=True, kw_only=True)
class Sanction:
    sanction_id: uuid.UUID
    contractor_id: str
    project_id: str
    client_id: str
    rule: Rule  # as it was when it acted
    action: RuleAction
    measured_value: int
    sample: int
    state: SanctionState
    imposed_at: datetime
    ends_at: datetime | None
    ended_at: datetime | None
    version: int
    evidence: tuple[EvidenceItem, ...] = ()

    @property
    def active(self) -> bool:
        return self.state is SanctionState.ACTIVE


@dataclass(frozen=True, kw_only=True)
class Measured:
    """A measure recounted for one contractor in one project."""

    contractor_id: str
    project_id: str
    client_id: str
    value: int
    sample: int


def acting(rules: Sequence[Rule], measured: Measured) -> list[Rule]:
    """The rules whose sample is large enough and whose condition holds."""
    return [r for r in rules if r.acts(measured.value, measured.sample)]


def fresh(window: Window, last_newest: tuple[datetime, str] | None) -> bool:
    """Whether the window holds an item newer than the last sanction of the rule rested
    on: a sanction that ended does not fire again on the same data."""
    if window.newest is None:
        return False
    return last_newest is None or window.newest > last_newest


def impose(
    rule: Rule, measured: Measured, window: Window, *, sanction_id: uuid.UUID, now: datetime
) -> Sanction:
    return Sanction(
        sanction_id=sanction_id,
        contractor_id=measured.contractor_id,
        project_id=measured.project_id,
        client_id=measured.client_id,
        rule=rule,
        action=rule.action,
        measured_value=measured.value,
        sample=measured.sample,
        state=SanctionState.ACTIVE if rule.action.lasts else SanctionState.ENDED,
        imposed_at=now,
        ends_at=rule.ends_at(now),
        ended_at=None if rule.action.lasts else now,
        version=1,
        evidence=window.items,
    )


def close(sanction: Sanction, state: SanctionState, *, now: datetime) -> Sanction:
    """ACTIVE -> ``state`` (ENDED or LIFTED) at ``now``; any other is returned as is."""
    if not sanction.active:
        return sanction
    return replace(sanction, state=state, ended_at=now, version=sanction.version + 1)


def retired_gold(evidence: Sequence[EvidenceItem]) -> list[uuid.UUID]:
    """The gold shown as evidence: never issued again."""
    return list(dict.fromkeys(e.gold_id for e in evidence if e.gold_id is not None))


@dataclass(frozen=True, kw_only=True)
class SanctionQuery:
    """A page of sanctions, newest first."""

    contractor_id: str | None
    client_id: str | None  # only this client's projects; None: any
    project_id: str | None
    state: SanctionState | None
    limit: int
    after: paging.PageCursor | None


def my_sanctions(
    caller: Principal, *, project_id: str = "", page_size: int = 0, page_token: str = ""
) -> SanctionQuery:
    """The calling contractor's own sanctions."""
    if caller.kind is not Kind.CONTRACTOR:
        raise NotFound(f"{caller} has no sanctions")
    return SanctionQuery(
        contractor_id=caller.id,
        client_id=None,
        project_id=_project(project_id),
        state=None,
        limit=paging.page_size(page_size, default=PAGE, maximum=PAGE_MAX),
        after=paging.cursor_of(page_token),
    )


def sanctions(
    caller: Principal,
    *,
    project_id: str = "",
    contractor_id: str = "",
    state: SanctionState | None = None,
    page_size: int = 0,
    page_token: str = "",
) -> SanctionQuery:
    """Sanctions as a client (one of its projects, which the handler checks) or an
    operator (any) may list them."""
    project = _project(project_id)
    contractor = (
        validate.identifier(contractor_id, field="contractor_id") if contractor_id else None
    )
    limit = paging.page_size(page_size, default=PAGE, maximum=PAGE_MAX)
    after = paging.cursor_of(page_token)
    if caller.kind is Kind.CLIENT and project is None:
        raise InvalidArgument("project_id", "is required: one of your projects")
    if caller.kind not in (Kind.CLIENT, Kind.OPERATOR):
        raise NotFound(f"project {project_id} not found")
    return SanctionQuery(
        contractor_id=contractor,
        client_id=caller.id if caller.kind is Kind.CLIENT else None,
        project_id=project,
        state=state,
        limit=limit,
        after=after,
    )


def page_token(last: Sanction | None) -> str:
    if last is None:
        return ""
    return paging.PageCursor(last.imposed_at, str(last.sanction_id)).token()


def _project(project_id: str) -> str | None:
    return validate.identifier(project_id, field="project_id") if project_id else None
