"""A granted claim and its state machine: submit, heartbeat, release, expire, review.
Pure: no I/O, no protobuf.

The pool's invariant (never more live claims than slots) and "one slot per contractor
per task" are enforced atomically in the database when a claim is granted
(``grants``); the rules here are those of a claim's life once it is held.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from crewline.answers import AnswerSpec
from crewline.errors import FailedPrecondition, InvalidArgument
from crewline.money import Money
from crewline.pay_terms import Basis, PayTerms
from matcher.domain.commands import ClaimTask, SubmitWork, WorkSegment, tracked_seconds
from matcher.domain.statuses import ClaimStatus, EndReason, ReviewState


@dataclass(frozen=True, kw_only=True)
class Claim:
    """A contractor's hold on one slot of a task, and its lease.

    Every change returns a new Claim with ``version`` + 1; the repository writes it
    only over the version it was made from (compare-and-set), under the row's lock.
    """

    claim_id: uuid.UUID
    task_id: uuid.UUID
    contractor_id: str
    request_id: str
    project_id: str
    client_id: str
    status: ClaimStatus
    terms: PayTerms  # frozen when granted
    version: int
    granted_at: datetime
    lease_seconds: int  # the project's claim timeout when granted: what a heartbeat adds
    deadline_at: datetime
    max_deadline_at: datetime
    worked_seconds: int = 0  # as last reported; once submitted, the time worked
    submitted_at: datetime | None = None
    end_reason: EndReason | None = None
    ended_at: datetime | None = None
    cut: EndReason | None = None  # cut short by the client: the reason it will end with
    segments: tuple[WorkSegment, ...] = ()  # tracked, as submitted
    review: ReviewState | None = None  # set once submitted
    feedback: str = ""  # the client's, with a rejection
    reviewed_at: datetime | None = None
    # The project's title as read with the claim, for the contractor to see; not stored
    # with the claim, so a renamed project shows its new title.
    project_title: str = ""
    # The project's answer spec when the claim was granted (0: none): SubmitWork checks
    # the result against it. The spec itself is attached when the claim is shown (None:
    # no spec, or not attached); the version alone says which it is.
    answer_spec_version: int = 0
    answer_spec: AnswerSpec | None = field(default=None, compare=False)
    # Its task is an unpaid exam's question: ``terms`` are the project's as granted
    # (ClaimGranted and WorkSubmitted carry them), but the work earns nothing under them
    # and the contractor is shown no pay terms. Read from the task, which never changes it.
    unpaid: bool = False

    @property
    def earned(self) -> Money:
        """What the submitted work earns once accepted, under the frozen terms: hourly,
        the rate x min(time worked, the cap), never today's rate; unpaid work nothing."""
        assert self.submitted_at is not None, "only submitted work earns"
        if self.unpaid:
            return Money(self.terms.rate.currency, 0)
        return self.terms.earned(self.worked_seconds)

    @property
    def settlement(self) -> Money | None:
        """What the contractor is owed for a claim the client cut short that ended with no
        work: on hourly terms, the time last reported (capped, rounded up to a minor
        unit); nothing when none was reported, on per-submission terms, or for unpaid work."""
        if (
            self.unpaid
            or self.status is not ClaimStatus.ENDED
            or self.cut is None
            or self.terms.basis is not Basis.HOURLY
            or self.worked_seconds <= 0
        ):
            return None
        return self.terms.earned(self.worked_seconds)

    def answers(self, cmd: ClaimTask) -> Claim:
        """This claim, when ``cmd`` repeats the request that made it."""
        if cmd.task_id != self.task_id:
            raise InvalidArgument("request_id", "was already used for a different request")
        return self

    def _refuse_unless_live(self, now: datetime) -> None:
        """A claim that has ended, or whose deadline has passed, takes nothing more."""
        if self.status is not ClaimStatus.ACTIVE:
            assert self.end_reason is not None
            lapsed = self.end_reason is not EndReason.SUBMITTED and not self.released
            raise FailedPrecondition(
                f"claim {self.claim_id} has ended ({self.end_reason})",
                reason="CLAIM_EXPIRED" if lapsed else "CLAIM_ENDED",
            )
        if now >= self.deadline_at:
            raise FailedPrecondition(
                f"claim {self.claim_id}: its lease ran out at {self.deadline_at.isoformat()}",
                reason="CLAIM_EXPIRED",
            )

    def submit(
        self,
        *,
        now: datetime,
        segments: Sequence[WorkSegment] = (),
        worked: int | None = None,
    ) -> Claim:
        """Hand in work before the deadline, with the time worked: the tracked
        ``segments`` (within the claim's life: from its grant to now), or ``worked``
        seconds (at most the time it has been live), or else the last heartbeat's report.
        Repeating it is a no-op (the first submission's time stands)."""
        if self.status is ClaimStatus.SUBMITTED:
            return self
        self._refuse_unless_live(now)
        for i, segment in enumerate(segments):
            if segment.started_at < self.granted_at:
                raise InvalidArgument(
                    f"segments[{i}].started_at",
                    f"must not be before the claim was granted, {self.granted_at.isoformat()}",
                )
            if segment.ended_at > now:
                raise InvalidArgument(
                    f"segments[{i}].ended_at", f"must not be after now, {now.isoformat()}"
                )
        if worked is not None:
            live_for = math.ceil((now - self.granted_at).total_seconds())
            if not 0 <= worked <= live_for:
                raise InvalidArgument(
                    "worked_seconds",
                    f"must be between 0 and the {live_for} s the claim has been live",
                )
        if segments:
            worked = tracked_seconds(segments)
        return replace(
            self,
            status=ClaimStatus.SUBMITTED,
            submitted_at=now,
            end_reason=EndReason.SUBMITTED,
            ended_at=now,
            worked_seconds=self.worked_seconds if worked is None else worked,
            segments=tuple(segments),
            review=ReviewState.PENDING,
            version=self.version + 1,
        )

    def resubmitted(self, cmd: SubmitWork, *, kept: bytes) -> Claim:
        """This submitted claim, when ``cmd`` hands in the same work again (``kept`` is
        the result stored): the same result bytes and the same time worked (the same
        segments, and worked_seconds unset or equal to the seconds recorded). Other
        work is refused: a submission is final, and its first work stands."""
        assert self.status is ClaimStatus.SUBMITTED, "only submitted work is repeated"
        same_time = cmd.segments == self.segments and cmd.worked_seconds in (
            None,
            self.worked_seconds,
        )
        if cmd.result != kept or not same_time:
            raise FailedPrecondition(
                f"claim {self.claim_id} was already submitted with other work or time;"
                " a submission is final and the first one stands",
                reason="ALREADY_SUBMITTED",
            )
        return self

    def reviewed(self, review: ReviewState, *, feedback: str, at: datetime) -> Claim | None:
        """The client's review of the submitted work (from the dispatcher's events): None
        when it changes nothing. Accepted is final; a rejection may later be overridden by
        an acceptance (which clears its feedback); a repeat changes nothing. The version
        stays: a review is not a change of the claim's lease or state."""
        if self.review is None or self.review is ReviewState.ACCEPTED or review is self.review:
            return None
        if review is ReviewState.PENDING:
            return None  # never back to unreviewed
        return replace(self, review=review, feedback=feedback, reviewed_at=at)

    def heartbeat(self, *, now: datetime, worked: int) -> Claim:
        """Move the deadline to now + the claim timeout (at most ``max_deadline_at``) and
        record the time worked. The same report again changes nothing."""
        self._refuse_unless_live(now)
        if self.cut is not None:
            raise FailedPrecondition(
                f"claim {self.claim_id} was cut short ({self.cut}): its lease is not extended;"
                f" submit before {self.deadline_at.isoformat()}",
                reason=self.cut.name,
            )
        live_for = math.ceil((now - self.granted_at).total_seconds())
        if worked > live_for:
            raise InvalidArgument(
                "worked_seconds", f"must be at most the {live_for} s the claim has been live"
            )
        if worked < self.worked_seconds:
            raise InvalidArgument(
                "worked_seconds",
                f"must not be less than the {self.worked_seconds} s reported before",
            )
        if self.deadline_at >= self.max_deadline_at:
            raise FailedPrecondition(
                f"claim {self.claim_id}: its lease is at its maximum,"
                f" {self.max_deadline_at.isoformat()}",
                reason="LEASE_AT_MAXIMUM",
            )
        moved = min(now + timedelta(seconds=self.lease_seconds), self.max_deadline_at)
        deadline = max(moved, self.deadline_at)  # never earlier than the clock already set
        if deadline == self.deadline_at and worked == self.worked_seconds:
            return self
        return replace(self, deadline_at=deadline, worked_seconds=worked, version=self.version + 1)

    @property
    def released(self) -> bool:
        """Whether the contractor gave the slot back. A cut claim released ends with the
        cut's reason, before its deadline; one that lapsed ends at or after it."""
        if self.status is not ClaimStatus.ENDED or self.ended_at is None:
            return False
        if self.end_reason is EndReason.RELEASED:
            return True
        return self.cut is not None and self.ended_at < self.deadline_at

    def release(self, *, now: datetime) -> Claim:
        """Give the slot back: the claim ends as released, or with the cut's reason when
        the client cut it short (it ended without work, as a lapse would). Repeating it
        is a no-op."""
        if self.released:
            return self
        self._refuse_unless_live(now)
        return replace(
            self,
            status=ClaimStatus.ENDED,
            end_reason=self.cut or EndReason.RELEASED,
            ended_at=now,
            version=self.version + 1,
        )

    def expire(self, *, now: datetime, fired_for: datetime, task_over: bool) -> Claim | None:
        """End the claim when its lease clock fired: only if it is live and its current
        deadline has passed by our clock, or is the very deadline the clock fired for (a
        heartbeat that moved it wins). None when it does not end."""
        if self.status is not ClaimStatus.ACTIVE or self.deadline_at > max(now, fired_for):
            return None
        reason = self.cut or (EndReason.TASK_EXPIRED if task_over else EndReason.EXPIRED)
        return replace(
            self,
            status=ClaimStatus.ENDED,
            end_reason=reason,
            ended_at=max(now, self.deadline_at),  # never before the deadline
            version=self.version + 1,
        )
