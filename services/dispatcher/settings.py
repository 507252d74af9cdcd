"""The dispatcher's settings, read from the environment in this one place."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from crewline.settings import ServiceSettings, env_float


@dataclass(frozen=True, kw_only=True)
class DispatcherSettings:
    service: ServiceSettings
    # Unreviewed work is accepted (and so paid) after this delay.
    auto_accept_delay: timedelta

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> DispatcherSettings:
        env = os.environ if env is None else env
        return cls(
            service=ServiceSettings.from_env(
                name="dispatcher", grpc_port=50051, metrics_port=9101, env=env
            ),
            auto_accept_delay=timedelta(
                seconds=env_float(env, "CREWLINE_DISPATCHER_AUTO_ACCEPT_SECONDS", 0.0)
            ),
        )
