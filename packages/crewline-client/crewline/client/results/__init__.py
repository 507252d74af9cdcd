"""What the SDK's calls return: typed, documented results instead of generated messages.

Each result is a frozen dataclass built by ``from_pb(message)``; ``raw`` keeps the
message it came from. Money is ``Money`` (``$12.50 USD``: a ``Decimal`` amount and
integer minor units), enums are ``StrEnum`` names (``TaskStatus.OPEN``), times are aware
UTC datetimes (None when unset).
"""

from __future__ import annotations

from crewline.client.results.answers import (
    AnswerField,
    AnswerSpec,
    ChoiceField,
    NumberField,
    RubricCriterion,
    RubricField,
    TextField,
)
from crewline.client.results.disputes import Dispute
from crewline.client.results.enums import (
    AcceptedBy,
    AppealDecider,
    AppealState,
    ClaimEndReason,
    ClaimStatus,
    Comparator,
    DisputeState,
    ExamAttemptState,
    FlagKind,
    PayoutStatus,
    PostingKind,
    ProjectState,
    ProtoEnum,
    QualificationKind,
    ReviewState,
    RuleAction,
    RuleMeasure,
    SanctionState,
    ScoreMeasure,
    SubmissionStatus,
    TaskStatus,
    WithdrawalReason,
)
from crewline.client.results.exams import Exam, ExamAttempt
from crewline.client.results.gold import GoldFieldRule, GoldTask, QualityPolicy
from crewline.client.results.ledger import Balance, BooksCheck, StatementEntry, StatementPage
from crewline.client.results.money import DECIMALS, Money, decimals, minor_units
from crewline.client.results.pay import (
    Earnings,
    EarningsLine,
    Payout,
    PayoutBatch,
    PayoutBatchPreview,
    PayoutPreview,
)
from crewline.client.results.projects import Project, ProjectDetails
from crewline.client.results.sanctions import (
    Appeal,
    Evidence,
    EvidenceItem,
    FlagEvidence,
    GoldEvidence,
    QualityRule,
    ReviewEvidence,
    Sanction,
)
from crewline.client.results.scores import Score
from crewline.client.results.submissions import (
    Bonus,
    BonusGrant,
    ListedBonus,
    ReviewFlag,
    Submission,
)
from crewline.client.results.tasks import Task, TaskDetails
from crewline.client.results.terms import PayTerms, Requirement, WorkSegment
from crewline.client.results.wire import Page
from crewline.client.results.work import Claim, Offer

__all__ = [
    "DECIMALS",
    "AcceptedBy",
    "AnswerField",
    "AnswerSpec",
    "Appeal",
    "AppealDecider",
    "AppealState",
    "Balance",
    "Bonus",
    "BonusGrant",
    "BooksCheck",
    "ChoiceField",
    "Claim",
    "ClaimEndReason",
    "ClaimStatus",
    "Comparator",
    "Dispute",
    "DisputeState",
    "Earnings",
    "EarningsLine",
    "Evidence",
    "EvidenceItem",
    "Exam",
    "ExamAttempt",
    "ExamAttemptState",
    "FlagEvidence",
    "FlagKind",
    "GoldEvidence",
    "GoldFieldRule",
    "GoldTask",
    "ListedBonus",
    "Money",
    "NumberField",
    "Offer",
    "Page",
    "PayTerms",
    "Payout",
    "PayoutBatch",
    "PayoutBatchPreview",
    "PayoutPreview",
    "PayoutStatus",
    "PostingKind",
    "Project",
    "ProjectDetails",
    "ProjectState",
    "ProtoEnum",
    "QualificationKind",
    "QualityPolicy",
    "QualityRule",
    "Requirement",
    "ReviewEvidence",
    "ReviewFlag",
    "ReviewState",
    "RubricCriterion",
    "RubricField",
    "RuleAction",
    "RuleMeasure",
    "Sanction",
    "SanctionState",
    "Score",
    "ScoreMeasure",
    "StatementEntry",
    "StatementPage",
    "Submission",
    "SubmissionStatus",
    "Task",
    "TaskDetails",
    "TaskStatus",
    "TextField",
    "WithdrawalReason",
    "WorkSegment",
    "decimals",
    "minor_units",
]
