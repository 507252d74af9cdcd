"""The matcher's settings, read from the environment in this one place."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from crewline.settings import ServiceSettings


@dataclass(frozen=True, kw_only=True)
class MatcherSettings:
    service: ServiceSettings

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> MatcherSettings:
        env = os.environ if env is None else env
        return cls(
            service=ServiceSettings.from_env(
                name="matcher", grpc_port=50052, metrics_port=9102, env=env
            )
        )
