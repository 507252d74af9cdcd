"""Work handed in on a client's tasks, its time flags, its review and its bonuses, as
``Client.submissions``, ``get_submission``, ``accept``, ``reject`` and ``grant_bonus``
return them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from crewline.client.results.enums import AcceptedBy, FlagKind, SubmissionStatus
from crewline.client.results.money import Money
from crewline.client.results.wire import brief, money_of, time_of
from crewline.v1 import client_admin_service_pb2 as client_admin
from crewline.v1 import events_pb2
from crewline.v1 import task_service_pb2 as task_api


@dataclass(frozen=True, slots=True, kw_only=True)
class Bonus:
    """A bonus on a submission: ``bonus_id``, ``amount``, ``reason`` (the contractor
    sees it), ``idempotency_key`` (the client's key for it), ``granted_at``."""

    bonus_id: str
    amount: Money | None
    reason: str
    idempotency_key: str
    granted_at: datetime | None
    raw: task_api.Bonus = field(default_factory=task_api.Bonus, repr=False, compare=False)

    @classmethod
    def from_pb(cls, message: task_api.Bonus) -> Bonus:
        return cls(
            bonus_id=message.bonus_id,
            amount=money_of(message, "amount"),
            reason=message.reason,
            idempotency_key=message.idempotency_key,
            granted_at=time_of(message, "granted_at"),
            raw=message,
        )

    def __str__(self) -> str:
        return f"bonus {self.bonus_id}: {self.amount}, {self.reason!r}"

    def __repr__(self) -> str:
        return brief(self, "bonus_id", "amount", "reason")


@dataclass(frozen=True, slots=True, kw_only=True)
class ReviewFlag:
    """Why a submission's time was put in front of its reviewer (docs/quality.md, "Time
    flags"). A flag decides nothing: flagged work is never accepted automatically and
    waits for the client, who accepts or rejects it as any other.

    ``kind``: ``FlagKind.FAST`` or ``FlagKind.IMPLAUSIBLE_TIME``; ``evidence``: the rule
    and its numbers, in words; ``worked_seconds``: the time reported. FAST's numbers:
    ``median_seconds``, ``mad_seconds`` (the median absolute deviation as measured),
    ``scale_seconds`` (as used: at least a tenth of the median and 1 s), ``z_score``,
    ``sample_size`` (the project's timed submissions compared with). IMPLAUSIBLE_TIME's:
    ``overlap_seconds`` (also tracked on the contractor's other hourly claims) and
    ``overlapping_claims``. The other kind's numbers are 0.
    """

    kind: FlagKind | None
    evidence: str
    worked_seconds: int
    median_seconds: float
    mad_seconds: float
    scale_seconds: float
    z_score: float
    sample_size: int
    overlap_seconds: int
    overlapping_claims: int
    raw: events_pb2.ReviewFlag = field(
        default_factory=events_pb2.ReviewFlag, repr=False, compare=False
    )

    @classmethod
    def from_pb(cls, message: events_pb2.ReviewFlag) -> ReviewFlag:
        return cls(
            kind=FlagKind.from_pb(message.kind),
            evidence=message.evidence,
            worked_seconds=message.worked_seconds,
            median_seconds=message.median_seconds,
            mad_seconds=message.mad_seconds,
            scale_seconds=message.scale_seconds,
            z_score=message.z_score,
            sample_size=message.sample_size,
            overlap_seconds=message.overlap_seconds,
            overlapping_claims=message.overlapping_claims,
            raw=message,
        )

    def __str__(self) -> str:
        return f"{self.kind or 'UNKNOWN'}: {self.evidence}"

    def __repr__(self) -> str:
        return brief(self, "kind", "worked_seconds", "evidence")


@dataclass(frozen=True, slots=True, kw_only=True)
class Submission:
    """Work a contractor handed in for one slot of a task.

    ``submission_id`` (the same value as its claim's id), ``task_id``, ``project_id``,
    ``contractor_id``; ``result``: the work, as bytes; ``worked_seconds``;
    ``submitted_at``; ``status`` (PENDING_REVIEW, ACCEPTED, REJECTED); ``earned``:
    what the work earns when accepted (the claim's terms and the time worked);
    ``auto_accept_at``: when unreviewed work is accepted by itself (None for flagged
    work); once reviewed: ``reviewed_at``, ``accepted_by`` (CLIENT, AUTO_ACCEPT,
    OVERRIDE), ``feedback``, ``revert_until`` (a rejection can be overridden until then);
    ``bonuses``; ``flags``: why its time was flagged (``ReviewFlag``s, set when it was
    stored and never changed; empty for most work).
    """

    submission_id: str
    task_id: str
    project_id: str
    contractor_id: str
    result: bytes
    worked_seconds: int
    submitted_at: datetime | None
    status: SubmissionStatus | None
    earned: Money | None
    auto_accept_at: datetime | None
    reviewed_at: datetime | None
    accepted_by: AcceptedBy | None
    feedback: str
    revert_until: datetime | None
    bonuses: tuple[Bonus, ...]
    flags: tuple[ReviewFlag, ...]
    raw: task_api.Submission = field(default_factory=task_api.Submission, repr=False, compare=False)

    @classmethod
    def from_pb(cls, message: task_api.Submission) -> Submission:
        return cls(
            submission_id=message.submission_id,
            task_id=message.task_id,
            project_id=message.project_id,
            contractor_id=message.contractor_id,
            result=message.result,
            worked_seconds=message.worked_seconds,
            submitted_at=time_of(message, "submitted_at"),
            status=SubmissionStatus.from_pb(message.status),
            earned=money_of(message, "earned"),
            auto_accept_at=time_of(message, "auto_accept_at"),
            reviewed_at=time_of(message, "reviewed_at"),
            accepted_by=AcceptedBy.from_pb(message.accepted_by),
            feedback=message.feedback,
            revert_until=time_of(message, "revert_until"),
            bonuses=tuple(map(Bonus.from_pb, message.bonuses)),
            flags=tuple(map(ReviewFlag.from_pb, message.flags)),
            raw=message,
        )

    def __str__(self) -> str:
        bonuses = f", {len(self.bonuses)} bonuses" if self.bonuses else ""
        kinds = " and ".join(str(f.kind or "UNKNOWN") for f in self.flags)
        flagged = f", flagged {kinds}" if kinds else ""
        return (
            f"submission {self.submission_id} on {self.task_id} by {self.contractor_id}:"
            f" {self.status or 'UNKNOWN'}{self._pay()}{bonuses}{flagged}"
        )

    def _pay(self) -> str:
        # Rejected work earns nothing, so its terms' figure is not shown.
        if self.earned is None or self.status is SubmissionStatus.REJECTED:
            return ""
        if self.status is SubmissionStatus.ACCEPTED:
            return f", earned {self.earned}"
        return f", earns {self.earned} if accepted"

    def __repr__(self) -> str:
        return brief(self, "submission_id", "task_id", "contractor_id", "status", "earned")


@dataclass(frozen=True, slots=True, kw_only=True)
class BonusGrant:
    """What ``grant_bonus`` answers: the ``bonus``, and the ``submission`` with it."""

    bonus: Bonus
    submission: Submission
    raw: task_api.GrantBonusResponse = field(
        default_factory=task_api.GrantBonusResponse, repr=False, compare=False
    )

    @classmethod
    def from_pb(cls, message: task_api.GrantBonusResponse) -> BonusGrant:
        return cls(
            bonus=Bonus.from_pb(message.bonus),
            submission=Submission.from_pb(message.submission),
            raw=message,
        )

    def __str__(self) -> str:
        return f"{self.bonus} on submission {self.submission.submission_id}"

    def __repr__(self) -> str:
        return f"BonusGrant({self.bonus!r}, submission={self.submission.submission_id!r})"


@dataclass(frozen=True, slots=True, kw_only=True)
class ListedBonus:
    """A bonus as the operator's list of bonuses shows it: the ``bonus``, and where it
    was granted: ``submission_id``, ``task_id``, ``project_id``, ``client_id`` (who
    granted it) and ``contractor_id`` (who received it)."""

    bonus: Bonus
    submission_id: str
    task_id: str
    project_id: str
    client_id: str
    contractor_id: str
    raw: client_admin.ListedBonus = field(
        default_factory=client_admin.ListedBonus, repr=False, compare=False
    )

    @classmethod
    def from_pb(cls, message: client_admin.ListedBonus) -> ListedBonus:
        return cls(
            bonus=Bonus.from_pb(message.bonus),
            submission_id=message.submission_id,
            task_id=message.task_id,
            project_id=message.project_id,
            client_id=message.client_id,
            contractor_id=message.contractor_id,
            raw=message,
        )

    def __str__(self) -> str:
        return f"{self.bonus} from {self.client_id} to {self.contractor_id}"

    def __repr__(self) -> str:
        return f"ListedBonus({self.bonus!r}, contractor_id={self.contractor_id!r})"
