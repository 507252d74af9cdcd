"""The quality service's own metrics beside the kernel's: reviews learnt, scores moved,
gold issued, gold answers scored, sanctions imposed and ended, disputes filed and
resolved, exam attempts started and ended. No label holds an id."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter

from quality.domain.reviews import REVIEW_KINDS
from quality.domain.rules import RuleAction
from quality.domain.scores import Measure

GOLD_OUTCOMES = ("correct", "incorrect")
# How a sanction ended: its clock ran out, an upheld appeal lifted it, or a notice ended
# as it was given.
SANCTION_ENDS = ("expired", "lifted", "at_once")
# How a dispute of a gold key was resolved.
DISPUTE_OUTCOMES = ("corrected", "dismissed")
# How an exam attempt ended (domain/exams.py AttemptState, less in_progress).
EXAM_OUTCOMES = ("passed", "failed")


class QualityMetrics:
    def __init__(self, registry: CollectorRegistry, service: str) -> None:
        p = f"crewline_{service}"
        self.registry = registry
        self.reviews = Counter(
            f"{p}_reviews_total",
            "Reviews that changed what the service knows of a submission, by kind: accepted,"
            " rejected, or overridden (a rejection turned into an acceptance). A redelivered"
            " event, or a rejection arriving after its override, counts nothing. Counted"
            " inside the consumer's transaction, so a group of events that rolls back and"
            " is applied again one by one (rare) counts twice",
            ["kind"],
            registry=registry,
        )
        for kind in REVIEW_KINDS:
            self.reviews.labels(kind)
        self.score_changes = Counter(
            f"{p}_score_changes_total",
            "Scores whose value or counts changed, by measure (a review outside the window"
            " changes none)",
            ["measure"],
            registry=registry,
        )
        for measure in Measure:
            self.score_changes.labels(measure.value)
        self.gold_issued = Counter(
            f"{p}_gold_issued_total",
            "Gold tasks issued to a contractor (GoldIssued), over every project",
            registry=registry,
        )
        self.gold_answers = Counter(
            f"{p}_gold_answers_total",
            "Answers to gold tasks scored, by outcome: correct or incorrect",
            ["outcome"],
            registry=registry,
        )
        for outcome in GOLD_OUTCOMES:
            self.gold_answers.labels(outcome)
        self.sanctions = Counter(
            f"{p}_sanctions_total",
            "Sanctions a rule imposed, by action: suspend, review_all or notify",
            ["action"],
            registry=registry,
        )
        for action in RuleAction:
            self.sanctions.labels(action.value)
        self.sanction_ends = Counter(
            f"{p}_sanction_ends_total",
            "Sanctions that ended, by how: expired (their time ran out), lifted (an upheld"
            " appeal) or at_once (a notice)",
            ["how"],
            registry=registry,
        )
        for how in SANCTION_ENDS:
            self.sanction_ends.labels(how)
        self.disputes_filed = Counter(
            f"{p}_disputes_filed_total",
            "Disputes of gold keys filed by contractors (a retry under the same key counts once)",
            registry=registry,
        )
        self.disputes_resolved = Counter(
            f"{p}_disputes_resolved_total",
            "Disputes of gold keys resolved, by outcome: corrected (every open dispute of"
            " the gold task a correction resolves counts) or dismissed",
            ["outcome"],
            registry=registry,
        )
        for outcome in DISPUTE_OUTCOMES:
            self.disputes_resolved.labels(outcome)
        self.exam_attempts_started = Counter(
            f"{p}_exam_attempts_started_total",
            "Exam attempts started (StartExam returning one in progress counts nothing)",
            registry=registry,
        )
        self.exam_attempts_ended = Counter(
            f"{p}_exam_attempts_ended_total",
            "Exam attempts graded, by outcome: passed or failed (at the last answer, or"
            " at the time limit with the unanswered wrong)",
            ["outcome"],
            registry=registry,
        )
        for outcome in EXAM_OUTCOMES:
            self.exam_attempts_ended.labels(outcome)

    def reviewed(self, kind: str) -> None:
        self.reviews.labels(kind).inc()

    def score_changed(self, measure: Measure) -> None:
        self.score_changes.labels(measure.value).inc()

    def gold_answered(self, correct: bool) -> None:
        self.gold_answers.labels(GOLD_OUTCOMES[0] if correct else GOLD_OUTCOMES[1]).inc()

    def sanction_imposed(self, action: RuleAction) -> None:
        self.sanctions.labels(action.value).inc()

    def sanction_ended(self, how: str) -> None:
        self.sanction_ends.labels(how).inc()

    def dispute_resolved(self, outcome: str) -> None:
        self.disputes_resolved.labels(outcome).inc()

    def exam_started(self) -> None:
        self.exam_attempts_started.inc()

    def exam_ended(self, outcome: str) -> None:
        self.exam_attempts_ended.labels(outcome).inc()
