"""The quality service's settings, read from the environment in this one place."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from crewline.settings import ServiceSettings, SettingsError, env_int

DEFAULT_SCORE_WINDOW = 10
MAX_SCORE_WINDOW = 1000
DAY = 86_400
DEFAULT_APPEAL_WINDOW = 7 * DAY
DEFAULT_APPEAL_DECISION = 9 * DAY
# Appeal periods may be as short as a second (the local stack and the tests, as the
# dispatcher's CREWLINE_DISPATCHER_MIN_DURATION_SECONDS there) and at most a year, so
# a deadline stays a time PostgreSQL and Python can both hold.
MAX_APPEAL_SECONDS = 365 * DAY


@dataclass(frozen=True, kw_only=True)
class QualitySettings:
    service: ServiceSettings
    # A score counts the contractor's last this-many reviewed submissions in a project.
    # A change applies to each score at its next review.
    score_window: int = DEFAULT_SCORE_WINDOW
    # How long after a sanction is imposed, or a submission rejected, it may be appealed.
    appeal_window_seconds: int = DEFAULT_APPEAL_WINDOW
    # How long after filing an appeal waits for a decision; undecided then, it is upheld.
    # A change applies to appeals filed after it.
    appeal_decision_seconds: int = DEFAULT_APPEAL_DECISION

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> QualitySettings:
        env = os.environ if env is None else env
        settings = cls(
            service=ServiceSettings.from_env(
                name="quality", grpc_port=50054, metrics_port=9104, env=env
            ),
            score_window=env_int(env, "CREWLINE_QUALITY_SCORE_WINDOW", DEFAULT_SCORE_WINDOW),
            appeal_window_seconds=env_int(
                env, "CREWLINE_QUALITY_APPEAL_WINDOW_SECONDS", DEFAULT_APPEAL_WINDOW
            ),
            appeal_decision_seconds=env_int(
                env, "CREWLINE_QUALITY_APPEAL_DECISION_SECONDS", DEFAULT_APPEAL_DECISION
            ),
        )
        if not 1 <= settings.score_window <= MAX_SCORE_WINDOW:
            raise SettingsError(f"CREWLINE_QUALITY_SCORE_WINDOW must be 1-{MAX_SCORE_WINDOW}")
        for name, value in (
            ("CREWLINE_QUALITY_APPEAL_WINDOW_SECONDS", settings.appeal_window_seconds),
            ("CREWLINE_QUALITY_APPEAL_DECISION_SECONDS", settings.appeal_decision_seconds),
        ):
            if not 1 <= value <= MAX_APPEAL_SECONDS:
                raise SettingsError(f"{name} must be 1-{MAX_APPEAL_SECONDS}")
        return settings
