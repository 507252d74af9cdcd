"""Gold tasks and a project's quality policy, as ``Client.add_gold_tasks``,
``gold_tasks`` and ``quality_policy`` return them. The policy's rules are
``QualityRule`` values (``crewline.client.results.sanctions``)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from crewline.client.results.sanctions import QualityRule
from crewline.client.results.wire import Payload, brief, counted, payload_of, time_of, when
from crewline.v1 import quality_service_pb2 as quality_api


@dataclass(frozen=True, slots=True, kw_only=True)
class GoldFieldRule:
    """How one field of a gold answer is scored when not by exact equality: ``field``
    (one the key holds); ``also_accepted``: for a single-choice field, labels that are
    correct too besides the key's; ``tolerance``: for a number field, how far from the
    key's value an answer may be and still be correct (0: equal). A value to send as
    well as to read: ``to_pb`` makes the message ``gold_task`` puts in a gold task."""

    field: str
    also_accepted: tuple[str, ...] = ()
    tolerance: float = 0.0

    @classmethod
    def from_pb(cls, message: quality_api.GoldFieldRule) -> GoldFieldRule:
        return cls(
            field=message.field,
            also_accepted=tuple(message.also_accepted),
            tolerance=message.tolerance,
        )

    def to_pb(self) -> quality_api.GoldFieldRule:
        return quality_api.GoldFieldRule(
            field=self.field, also_accepted=list(self.also_accepted), tolerance=self.tolerance
        )

    def __str__(self) -> str:
        said = [f"also {', '.join(self.also_accepted)}"] if self.also_accepted else []
        said += [f"within {self.tolerance:g}"] if self.tolerance else []
        return f"{self.field}: {'; '.join(said) or 'exactly'}"


@dataclass(frozen=True, slots=True, kw_only=True)
class GoldTask:
    """A task whose answer the client knows, offered to contractors as ordinary work.

    ``gold_id``, ``project_id``, ``idempotency_key`` (the client's own key for it); ``payload``: the
    work as the client gave it (JSON text as str, opaque bytes as bytes); ``answer_json``:
    the key, a JSON object of the answer spec's fields (``answer``: parsed); ``rules``:
    how fields are scored when not by equality; ``answered``: how many contractors
    answered it, ``correct`` how many of them correctly; ``created_at``. Each contractor
    it is issued to meets it as a task of its own, ``Task.reserved_for`` them.
    """

    gold_id: str
    project_id: str
    idempotency_key: str
    payload: Payload
    answer_json: str
    rules: tuple[GoldFieldRule, ...]
    answered: int
    correct: int
    created_at: datetime | None
    raw: quality_api.GoldTask = field(
        default_factory=quality_api.GoldTask, repr=False, compare=False
    )

    @classmethod
    def from_pb(cls, message: quality_api.GoldTask) -> GoldTask:
        return cls(
            gold_id=message.gold_id,
            project_id=message.project_id,
            idempotency_key=message.idempotency_key,
            payload=payload_of(message),
            answer_json=message.answer_json,
            rules=tuple(map(GoldFieldRule.from_pb, message.rules)),
            answered=message.answered,
            correct=message.correct,
            created_at=time_of(message, "created_at"),
            raw=message,
        )

    @property
    def answer(self) -> Any:
        """The key as JSON values (a dict of the spec's fields); None when there is none."""
        return json.loads(self.answer_json) if self.answer_json else None

    def __str__(self) -> str:
        return (
            f"gold {self.gold_id} ({self.idempotency_key}) in {self.project_id}:"
            f" {self.correct} of {self.answered} answered correctly, added {when(self.created_at)}"
        )

    def __repr__(self) -> str:
        return brief(self, "gold_id", "idempotency_key", "answer_json", "answered", "correct")


@dataclass(frozen=True, slots=True, kw_only=True)
class QualityPolicy:
    """A project's quality settings: ``project_id``; ``gold_share_percent``: the share
    of gold, 0-50 %, in what each contractor takes in the project (about one task in
    100 / share; never the same gold task twice to one contractor). Read back with every
    default filled in (5 when never set); None only where a message leaves it unset.
    ``rules``: what follows from each contractor's measures in the project (at most 20,
    read back with their defaults filled in)."""

    project_id: str
    gold_share_percent: int | None
    rules: tuple[QualityRule, ...] = ()
    raw: quality_api.QualityPolicy = field(
        default_factory=quality_api.QualityPolicy, repr=False, compare=False
    )

    @classmethod
    def from_pb(cls, message: quality_api.QualityPolicy) -> QualityPolicy:
        share = message.gold_share_percent if message.HasField("gold_share_percent") else None
        return cls(
            project_id=message.project_id,
            gold_share_percent=share,
            rules=tuple(map(QualityRule.from_pb, message.rules)),
            raw=message,
        )

    def __str__(self) -> str:
        share = "unset" if self.gold_share_percent is None else f"{self.gold_share_percent}%"
        rules = f", {counted(len(self.rules), 'rule')}" if self.rules else ""
        return f"quality policy of {self.project_id}: gold share {share}{rules}"

    def __repr__(self) -> str:
        return brief(self, "project_id", "gold_share_percent", "rules")
