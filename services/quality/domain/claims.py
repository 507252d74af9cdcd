"""Claims as the quality service learns them from the matcher (crewline.claims.v1):
a claim granted (which may bring gold), a claim ended without work, and work handed
in (which is scored when its task is gold). Pure.

Ids are checked as the event names them: a malformed event is dead-lettered with its
field named. A result is never shown (``repr`` leaves it out), so it cannot reach a log.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from crewline import validate


def _ids(**ids: str) -> None:
    for name, value in ids.items():
        validate.identifier(value, field=name)


@dataclass(frozen=True, kw_only=True)
class ClaimStarted:
    """ClaimGranted."""

    claim_id: str
    task_id: str
    contractor_id: str
    project_id: str
    client_id: str

    def __post_init__(self) -> None:
        _ids(
            claim_id=self.claim_id,
            task_id=self.task_id,
            contractor_id=self.contractor_id,
            project_id=self.project_id,
        )


@dataclass(frozen=True, kw_only=True)
class ClaimOver:
    """ClaimEnded (released, expired or cut short) or WorkSubmitted: the claim is over."""

    claim_id: str
    task_id: str
    contractor_id: str
    at: datetime

    def __post_init__(self) -> None:
        _ids(claim_id=self.claim_id, task_id=self.task_id, contractor_id=self.contractor_id)


@dataclass(frozen=True, kw_only=True)
class WorkHandedIn:
    """WorkSubmitted."""

    claim_id: str
    task_id: str
    contractor_id: str
    project_id: str
    client_id: str
    submitted_at: datetime
    result: bytes = field(repr=False)

    def __post_init__(self) -> None:
        _ids(
            claim_id=self.claim_id,
            task_id=self.task_id,
            contractor_id=self.contractor_id,
            project_id=self.project_id,
        )

    @property
    def over(self) -> ClaimOver:
        return ClaimOver(
            claim_id=self.claim_id,
            task_id=self.task_id,
            contractor_id=self.contractor_id,
            at=self.submitted_at,
        )
