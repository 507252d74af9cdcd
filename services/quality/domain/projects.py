"""What the quality service keeps of a project, from the dispatcher's ProjectChanged:
whose it is, whether it takes work, how long its tasks live and the shape of its
answers (gold keys must fit it). Pure."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from crewline.answers import AnswerSpec


class ProjectState(enum.StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"
    CLOSED = "closed"


@dataclass(frozen=True, kw_only=True)
class Project:
    project_id: str
    client_id: str
    revision: int
    state: ProjectState
    task_lifetime_seconds: int
    # The current spec (None: none, or removed); its version counts removals too.
    answer_spec: AnswerSpec | None
    answer_spec_version: int = 0
