"""The quality service's settings, read from the environment in this one place."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from crewline.settings import ServiceSettings, SettingsError, env_int

DEFAULT_SCORE_WINDOW = 10
MAX_SCORE_WINDOW = 1000


@dataclass(frozen=True, kw_only=True)
class QualitySettings:
    service: ServiceSettings
    # A score counts the contractor's last this-many reviewed submissions in a project.
    # A change applies to each score at its next review.
    score_window: int = DEFAULT_SCORE_WINDOW

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> QualitySettings:
        env = os.environ if env is None else env
        settings = cls(
            service=ServiceSettings.from_env(
                name="quality", grpc_port=50054, metrics_port=9104, env=env
            ),
            score_window=env_int(env, "CREWLINE_QUALITY_SCORE_WINDOW", DEFAULT_SCORE_WINDOW),
        )
        if not 1 <= settings.score_window <= MAX_SCORE_WINDOW:
            raise SettingsError(f"CREWLINE_QUALITY_SCORE_WINDOW must be 1-{MAX_SCORE_WINDOW}")
        return settings
