"""The protos' enums as names: ``TaskStatus.OPEN`` is ``"OPEN"``.

Each member is its proto value's name without the enum's prefix (``TASK_STATUS_OPEN``
-> ``OPEN``). The zero value (``..._UNSPECIFIED``) has no member: a result holds None
for it, and for a value newer than this SDK (its message's ``raw`` keeps the number).
The members are written out so type checkers see them; a unit test holds them equal
to the protos' values.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Self

from google.protobuf.descriptor import EnumDescriptor

from crewline.v1 import claim_pb2, events_pb2, ledger_service_pb2, project_pb2
from crewline.v1 import quality_service_pb2 as quality_api
from crewline.v1 import task_service_pb2 as task_api
from crewline.v1 import work_service_pb2 as work_api


class ProtoEnum(StrEnum):
    """A proto enum's values by name; ``from_pb`` and ``to_pb`` convert numbers."""

    @classmethod
    def descriptor(cls) -> EnumDescriptor:
        return _PROTO[cls]

    @classmethod
    def from_pb(cls, number: int) -> Self | None:
        """The member for a proto number; None for the zero value or an unknown number."""
        value = cls.descriptor().values_by_number.get(number)
        if value is None or number == 0:
            return None
        name = value.name.removeprefix(prefix(cls.descriptor()))
        return cls(name) if name in cls.__members__ else None

    def pb_name(self) -> str:
        """The proto value's name: ``TASK_STATUS_OPEN`` for ``TaskStatus.OPEN``."""
        return prefix(self.descriptor()) + self.value

    def to_pb(self) -> int:
        return self.descriptor().values_by_name[self.pb_name()].number


def prefix(descriptor: EnumDescriptor) -> str:
    """``TASK_STATUS_`` for TaskStatus: its zero value's name without ``UNSPECIFIED``."""
    return descriptor.values_by_number[0].name.removesuffix("UNSPECIFIED")


class TaskStatus(ProtoEnum):
    OPEN = "OPEN"
    COMPLETED = "COMPLETED"
    IN_PROGRESS = "IN_PROGRESS"
    EXPIRED = "EXPIRED"
    CANCELLED = "CANCELLED"


class SubmissionStatus(ProtoEnum):
    PENDING_REVIEW = "PENDING_REVIEW"
    ACCEPTED = "ACCEPTED"
    REJECTED = "REJECTED"


class AcceptedBy(ProtoEnum):
    CLIENT = "CLIENT"
    AUTO_ACCEPT = "AUTO_ACCEPT"
    OVERRIDE = "OVERRIDE"
    APPEAL = "APPEAL"
    KEY_CORRECTION = "KEY_CORRECTION"
    EXAM = "EXAM"


class ProjectState(ProtoEnum):
    ACTIVE = "ACTIVE"
    PAUSED = "PAUSED"
    CLOSED = "CLOSED"


class QualificationKind(ProtoEnum):
    SCORE = "SCORE"
    PRESENCE = "PRESENCE"
    STRING = "STRING"


class Comparator(ProtoEnum):
    LESS_THAN = "LESS_THAN"
    LESS_OR_EQUAL = "LESS_OR_EQUAL"
    GREATER_THAN = "GREATER_THAN"
    GREATER_OR_EQUAL = "GREATER_OR_EQUAL"
    EQUAL = "EQUAL"
    NOT_EQUAL = "NOT_EQUAL"
    EXISTS = "EXISTS"
    NOT_EXISTS = "NOT_EXISTS"
    IN = "IN"
    NOT_IN = "NOT_IN"


class ClaimStatus(ProtoEnum):
    ACTIVE = "ACTIVE"
    SUBMITTED = "SUBMITTED"
    ENDED = "ENDED"


class ClaimEndReason(ProtoEnum):
    SUBMITTED = "SUBMITTED"
    RELEASED = "RELEASED"
    EXPIRED = "EXPIRED"
    TASK_CANCELLED = "TASK_CANCELLED"
    TASK_EXPIRED = "TASK_EXPIRED"
    PROJECT_PAUSED = "PROJECT_PAUSED"
    PROJECT_CLOSED = "PROJECT_CLOSED"


class ReviewState(ProtoEnum):
    PENDING = "PENDING"
    ACCEPTED = "ACCEPTED"
    REJECTED = "REJECTED"


class WithdrawalReason(ProtoEnum):
    FILLED = "FILLED"
    CLAIMED_BY_YOU = "CLAIMED_BY_YOU"
    NOT_ELIGIBLE = "NOT_ELIGIBLE"
    CLOSED = "CLOSED"


class PostingKind(ProtoEnum):
    PAY = "PAY"
    BONUS = "BONUS"
    REFERRAL = "REFERRAL"
    SETTLEMENT = "SETTLEMENT"
    PAYOUT = "PAYOUT"
    REVERSAL = "REVERSAL"


class PayoutStatus(ProtoEnum):
    IN_FLIGHT = "IN_FLIGHT"


class FlagKind(ProtoEnum):
    FAST = "FAST"
    IMPLAUSIBLE_TIME = "IMPLAUSIBLE_TIME"


class ScoreMeasure(ProtoEnum):
    ACCEPTANCE_RATE = "ACCEPTANCE_RATE"
    GOLD_ACCURACY = "GOLD_ACCURACY"


class RuleMeasure(ProtoEnum):
    GOLD_ACCURACY = "GOLD_ACCURACY"
    ACCEPTANCE_RATE = "ACCEPTANCE_RATE"
    TIME_FLAG_SHARE = "TIME_FLAG_SHARE"


class RuleAction(ProtoEnum):
    SUSPEND = "SUSPEND"
    REVIEW_ALL = "REVIEW_ALL"
    NOTIFY = "NOTIFY"


class SanctionState(ProtoEnum):
    ACTIVE = "ACTIVE"
    ENDED = "ENDED"
    LIFTED = "LIFTED"


class AppealState(ProtoEnum):
    PENDING = "PENDING"
    UPHELD = "UPHELD"
    DENIED = "DENIED"


class AppealDecider(ProtoEnum):
    CLIENT = "CLIENT"
    OPERATOR = "OPERATOR"
    DEADLINE = "DEADLINE"


class DisputeState(ProtoEnum):
    OPEN = "OPEN"
    CORRECTED = "CORRECTED"
    DISMISSED = "DISMISSED"


class ExamAttemptState(ProtoEnum):
    IN_PROGRESS = "IN_PROGRESS"
    PASSED = "PASSED"
    FAILED = "FAILED"


_PROTO: dict[type[ProtoEnum], EnumDescriptor] = {
    TaskStatus: task_api.TaskStatus.DESCRIPTOR,
    SubmissionStatus: task_api.SubmissionStatus.DESCRIPTOR,
    AcceptedBy: events_pb2.AcceptedBy.DESCRIPTOR,
    ProjectState: project_pb2.ProjectState.DESCRIPTOR,
    QualificationKind: project_pb2.QualificationKind.DESCRIPTOR,
    Comparator: project_pb2.Comparator.DESCRIPTOR,
    ClaimStatus: work_api.ClaimStatus.DESCRIPTOR,
    ClaimEndReason: claim_pb2.ClaimEndReason.DESCRIPTOR,
    ReviewState: claim_pb2.ReviewState.DESCRIPTOR,
    WithdrawalReason: work_api.WithdrawalReason.DESCRIPTOR,
    PostingKind: events_pb2.PostingKind.DESCRIPTOR,
    PayoutStatus: ledger_service_pb2.PayoutStatus.DESCRIPTOR,
    FlagKind: events_pb2.FlagKind.DESCRIPTOR,
    ScoreMeasure: quality_api.ScoreMeasure.DESCRIPTOR,
    RuleMeasure: quality_api.RuleMeasure.DESCRIPTOR,
    RuleAction: quality_api.RuleAction.DESCRIPTOR,
    SanctionState: quality_api.SanctionState.DESCRIPTOR,
    AppealState: quality_api.AppealState.DESCRIPTOR,
    AppealDecider: quality_api.AppealDecider.DESCRIPTOR,
    DisputeState: quality_api.DisputeState.DESCRIPTOR,
    ExamAttemptState: quality_api.ExamAttemptState.DESCRIPTOR,
}
ENUMS: tuple[type[ProtoEnum], ...] = tuple(_PROTO)
