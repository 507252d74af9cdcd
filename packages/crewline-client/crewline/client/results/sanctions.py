"""A project's quality rules and what they do: ``QualityRule`` (in ``QualityPolicy``, and
sent by ``Client.set_quality_policy``), the ``Sanction`` a rule imposed with the
``Evidence`` it rests on, and a contractor's ``Appeal`` of a sanction or a rejection."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from crewline.client.results.enums import (
    AppealDecider,
    AppealState,
    RuleAction,
    RuleMeasure,
    SanctionState,
)
from crewline.client.results.wire import Payload, brief, counted, payload_of, time_of, when
from crewline.v1 import quality_service_pb2 as quality_api


def span(duration: timedelta) -> str:
    """``7d``, ``36h``, ``90m``, ``45s``: a duration in its largest whole unit."""
    seconds = int(duration.total_seconds())
    for unit, size in (("d", 86_400), ("h", 3_600), ("m", 60)):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


@dataclass(frozen=True, slots=True, kw_only=True)
class QualityRule:
    """measure -> condition -> action, for each contractor in a project.

    ``rule_id``: the client's name for it (1-64 of ``[a-z0-9_-]``, unique in the
    project); ``measure``: what it watches; ``below`` or ``above`` (exactly one): the
    measure strictly below or above this value, 0-100; ``min_sample``: how many answers
    or submissions the measure must rest on before the rule acts (None: the service's
    default, 5); ``action``: SUSPEND, REVIEW_ALL or NOTIFY; ``duration``: how long a
    suspension or review-everything sanction holds (None: 7 days; none for NOTIFY).
    A value to send as well as to read: ``to_pb`` makes the message. The quality
    service checks every field and names the one it refuses (``rules[2].below``).
    """

    rule_id: str
    measure: RuleMeasure | None
    below: int | None = None
    above: int | None = None
    min_sample: int | None = None
    action: RuleAction | None
    duration: timedelta | None = None

    def __post_init__(self) -> None:
        # One oneof on the wire: a rule with both would silently lose one of them.
        if self.below is not None and self.above is not None:
            raise ValueError(f"rule {self.rule_id!r}: give below or above, not both")

    @classmethod
    def from_pb(cls, message: quality_api.QualityRule) -> QualityRule:
        condition = message.WhichOneof("condition")
        return cls(
            rule_id=message.rule_id,
            measure=RuleMeasure.from_pb(message.measure),
            below=message.below if condition == "below" else None,
            above=message.above if condition == "above" else None,
            min_sample=message.min_sample if message.HasField("min_sample") else None,
            action=RuleAction.from_pb(message.action),
            duration=message.duration.ToTimedelta() if message.HasField("duration") else None,
        )

    def to_pb(self) -> quality_api.QualityRule:
        message = quality_api.QualityRule(rule_id=self.rule_id)
        if self.measure is not None:  # None: unspecified, which the service names
            message.measure = quality_api.RuleMeasure.Value(self.measure.pb_name())
        if self.action is not None:
            message.action = quality_api.RuleAction.Value(self.action.pb_name())
        if self.below is not None:
            message.below = self.below
        if self.above is not None:
            message.above = self.above
        if self.min_sample is not None:
            message.min_sample = self.min_sample
        if self.duration is not None:
            message.duration.FromTimedelta(self.duration)
        return message

    def __str__(self) -> str:
        condition = (
            f"below {self.below}"
            if self.below is not None
            else f"above {self.above}"
            if self.above is not None
            else "(no condition)"
        )
        sample = "" if self.min_sample is None else f", at least {self.min_sample} counted"
        held = "" if self.duration is None else f" for {span(self.duration)}"
        return (
            f"{self.rule_id}: {self.measure or 'UNKNOWN'} {condition}{sample}"
            f" -> {self.action or 'UNKNOWN'}{held}"
        )


def _json(text: str) -> Any:
    return json.loads(text) if text else None


@dataclass(frozen=True, slots=True, kw_only=True)
class GoldEvidence:
    """A gold task the contractor answered: ``payload`` (what they were shown: JSON text
    as str, bytes as bytes), ``answer_json`` (theirs; ``answer`` parsed),
    ``expected_json`` (the key; ``expected`` parsed) and whether it was ``correct``."""

    payload: Payload
    answer_json: str
    expected_json: str
    correct: bool
    raw: quality_api.GoldEvidence = field(
        default_factory=quality_api.GoldEvidence, repr=False, compare=False
    )

    @classmethod
    def from_pb(cls, message: quality_api.GoldEvidence) -> GoldEvidence:
        return cls(
            payload=payload_of(message),
            answer_json=message.answer_json,
            expected_json=message.expected_json,
            correct=message.correct,
            raw=message,
        )

    @property
    def answer(self) -> Any:
        """The contractor's answer as JSON values; None when there is none."""
        return _json(self.answer_json)

    @property
    def expected(self) -> Any:
        """The expected answer (the gold's key) as JSON values; None when there is none."""
        return _json(self.expected_json)

    def __str__(self) -> str:
        verdict = "correct" if self.correct else "wrong"
        return f"gold, {verdict}: answered {self.answer_json}, expected {self.expected_json}"


@dataclass(frozen=True, slots=True, kw_only=True)
class ReviewEvidence:
    """A reviewed submission: ``accepted`` or not, with the client's ``feedback``."""

    accepted: bool
    feedback: str
    raw: quality_api.ReviewEvidence = field(
        default_factory=quality_api.ReviewEvidence, repr=False, compare=False
    )

    @classmethod
    def from_pb(cls, message: quality_api.ReviewEvidence) -> ReviewEvidence:
        return cls(accepted=message.accepted, feedback=message.feedback, raw=message)

    def __str__(self) -> str:
        said = f": {self.feedback!r}" if self.feedback else ""
        return f"review, {'accepted' if self.accepted else 'rejected'}{said}"


@dataclass(frozen=True, slots=True, kw_only=True)
class FlagEvidence:
    """A submission, and whether its time was ``flagged``."""

    flagged: bool
    raw: quality_api.FlagEvidence = field(
        default_factory=quality_api.FlagEvidence, repr=False, compare=False
    )

    @classmethod
    def from_pb(cls, message: quality_api.FlagEvidence) -> FlagEvidence:
        return cls(flagged=message.flagged, raw=message)

    def __str__(self) -> str:
        return "submission, time flagged" if self.flagged else "submission, not flagged"


EvidenceItem = GoldEvidence | ReviewEvidence | FlagEvidence
_ITEMS: dict[str, Any] = {
    "gold": GoldEvidence.from_pb,
    "review": ReviewEvidence.from_pb,
    "flag": FlagEvidence.from_pb,
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Evidence:
    """One item a sanction rests on: ``task_id``, ``submission_id`` (the claim id),
    ``submitted_at``, and ``item``: a ``GoldEvidence``, ``ReviewEvidence`` or
    ``FlagEvidence`` (None for a kind newer than this SDK)."""

    task_id: str
    submission_id: str
    submitted_at: datetime | None
    item: EvidenceItem | None
    raw: quality_api.Evidence = field(
        default_factory=quality_api.Evidence, repr=False, compare=False
    )

    @classmethod
    def from_pb(cls, message: quality_api.Evidence) -> Evidence:
        kind = message.WhichOneof("item")
        return cls(
            task_id=message.task_id,
            submission_id=message.submission_id,
            submitted_at=time_of(message, "submitted_at"),
            item=_ITEMS[kind](getattr(message, kind)) if kind else None,
            raw=message,
        )

    def __str__(self) -> str:
        return (
            f"{self.submission_id} (task {self.task_id}, {when(self.submitted_at)}):"
            f" {self.item or 'unknown'}"
        )

    def __repr__(self) -> str:
        return brief(self, "task_id", "submission_id", "item")


@dataclass(frozen=True, slots=True, kw_only=True)
class Sanction:
    """What a rule did to one contractor in one project, and why.

    ``sanction_id``, ``contractor_id``, ``project_id``, ``client_id``; ``rule``: the
    rule as it was when it acted; ``action``; ``measured_value`` (0-100) and
    ``sample`` (how many answers or submissions it rests on); ``state``: ACTIVE until
    ``ends_at``, then ENDED (a NOTIFY ends as it is given), or LIFTED by an upheld
    appeal; ``imposed_at``, ``ends_at``, ``ended_at``; ``evidence``: the items the value
    rests on, newest first (gold shown here is never issued again, to anyone).
    """

    sanction_id: str
    contractor_id: str
    project_id: str
    client_id: str
    rule: QualityRule | None
    action: RuleAction | None
    measured_value: int
    sample: int
    state: SanctionState | None
    imposed_at: datetime | None
    ends_at: datetime | None
    ended_at: datetime | None
    evidence: tuple[Evidence, ...]
    raw: quality_api.Sanction = field(
        default_factory=quality_api.Sanction, repr=False, compare=False
    )

    @classmethod
    def from_pb(cls, message: quality_api.Sanction) -> Sanction:
        return cls(
            sanction_id=message.sanction_id,
            contractor_id=message.contractor_id,
            project_id=message.project_id,
            client_id=message.client_id,
            rule=QualityRule.from_pb(message.rule) if message.HasField("rule") else None,
            action=RuleAction.from_pb(message.action),
            measured_value=message.measured_value,
            sample=message.sample,
            state=SanctionState.from_pb(message.state),
            imposed_at=time_of(message, "imposed_at"),
            ends_at=time_of(message, "ends_at"),
            ended_at=time_of(message, "ended_at"),
            evidence=tuple(map(Evidence.from_pb, message.evidence)),
            raw=message,
        )

    def __str__(self) -> str:
        rule = self.rule.rule_id if self.rule else "-"
        measure = self.rule.measure if self.rule and self.rule.measure else "UNKNOWN"
        until = f" until {when(self.ends_at)}" if self.ends_at else ""
        return (
            f"sanction {self.sanction_id}: {self.action or 'UNKNOWN'} {self.contractor_id} in"
            f" {self.project_id} by rule {rule} ({measure} {self.measured_value} over"
            f" {counted(self.sample, 'item')}), {self.state or 'UNKNOWN'}, imposed"
            f" {when(self.imposed_at)}{until}"
        )

    def __repr__(self) -> str:
        return brief(self, "sanction_id", "contractor_id", "action", "state", "evidence")


@dataclass(frozen=True, slots=True, kw_only=True)
class Appeal:
    """A contractor's appeal of a sanction (``sanction_id``) or of a rejected submission
    (``submission_id``, the claim id); the other is "".

    ``appeal_id``, ``contractor_id``, ``project_id``, ``client_id``; ``text``: the
    contractor's; ``state``: PENDING, then UPHELD or DENIED; ``filed_at``; ``decide_by``:
    still pending then, it is upheld; ``decided_at``, ``decided_by`` (CLIENT, OPERATOR or
    DEADLINE) and ``decision_note``; ``accepted_submission_ids``: upheld, the rejections
    it turns into acceptances.
    """

    appeal_id: str
    contractor_id: str
    project_id: str
    client_id: str
    sanction_id: str
    submission_id: str
    text: str
    state: AppealState | None
    filed_at: datetime | None
    decide_by: datetime | None
    decided_at: datetime | None
    decided_by: AppealDecider | None
    decision_note: str
    accepted_submission_ids: tuple[str, ...]
    raw: quality_api.Appeal = field(default_factory=quality_api.Appeal, repr=False, compare=False)

    @classmethod
    def from_pb(cls, message: quality_api.Appeal) -> Appeal:
        return cls(
            appeal_id=message.appeal_id,
            contractor_id=message.contractor_id,
            project_id=message.project_id,
            client_id=message.client_id,
            sanction_id=message.sanction_id,
            submission_id=message.submission_id,
            text=message.text,
            state=AppealState.from_pb(message.state),
            filed_at=time_of(message, "filed_at"),
            decide_by=time_of(message, "decide_by"),
            decided_at=time_of(message, "decided_at"),
            decided_by=AppealDecider.from_pb(message.decided_by),
            decision_note=message.decision_note,
            accepted_submission_ids=tuple(message.accepted_submission_ids),
            raw=message,
        )

    @property
    def subject(self) -> str:
        """``sanction S`` or ``submission S``: what is appealed."""
        if self.sanction_id:
            return f"sanction {self.sanction_id}"
        return f"submission {self.submission_id}" if self.submission_id else "nothing"

    def __str__(self) -> str:
        decided = (
            f", decided {when(self.decided_at)} by {self.decided_by or 'UNKNOWN'}"
            if self.decided_at
            else f", decided by {when(self.decide_by)} at the latest"
        )
        return (
            f"appeal {self.appeal_id} of {self.subject} by {self.contractor_id} in"
            f" {self.project_id}: {self.state or 'UNKNOWN'}, filed {when(self.filed_at)}{decided}"
        )

    def __repr__(self) -> str:
        return brief(self, "appeal_id", "contractor_id", "sanction_id", "submission_id", "state")
