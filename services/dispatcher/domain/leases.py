"""The dispatcher's copy of a claim: enough to keep its lease clock. Pure.

The matcher decides whether a claim is live; the dispatcher only follows its events
(granted, extended, ended, submitted) to know when the lease is due, and which task
and client each claim belongs to.
"""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass
from datetime import datetime

LEASE = "lease"  # the clock kind; its ref is the claim id


class LeaseState(enum.StrEnum):
    LIVE = "live"
    SUBMITTED = "submitted"
    ENDED = "ended"


@dataclass(frozen=True, kw_only=True)
class Lease:
    claim_id: uuid.UUID
    task_id: uuid.UUID
    client_id: str
    project_id: str
    contractor_id: str
    state: LeaseState
    deadline_at: datetime | None  # None for a claim first heard of by its submission
    granted_at: datetime | None
