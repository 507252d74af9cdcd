"""The dispatcher's settings, read from the environment in this one place."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from crewline.settings import ServiceSettings, SettingsError, env_float, env_int
from dispatcher.domain.projects import DEFAULT_CLAIM_TIMEOUT, MIN_SECONDS
from dispatcher.domain.review import DEFAULT_REVERT_WINDOW


@dataclass(frozen=True, kw_only=True)
class DispatcherSettings:
    service: ServiceSettings
    # The shortest claim timeout, task lifetime and auto-accept delay a client may set
    # (a test stack lowers it so that leases elapse within a test).
    min_duration_seconds: int = MIN_SECONDS
    # A Watch stream with nothing to send sends an empty response this often.
    watch_keepalive_seconds: float = 15.0
    # How long after a rejection its client may still accept the work (override).
    revert_window_seconds: int = DEFAULT_REVERT_WINDOW

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> DispatcherSettings:
        env = os.environ if env is None else env
        settings = cls(
            service=ServiceSettings.from_env(
                name="dispatcher", grpc_port=50051, metrics_port=9101, env=env
            ),
            min_duration_seconds=env_int(
                env, "CREWLINE_DISPATCHER_MIN_DURATION_SECONDS", MIN_SECONDS
            ),
            watch_keepalive_seconds=env_float(
                env, "CREWLINE_DISPATCHER_WATCH_KEEPALIVE_SECONDS", 15.0
            ),
            revert_window_seconds=env_int(
                env, "CREWLINE_DISPATCHER_REVERT_WINDOW_SECONDS", DEFAULT_REVERT_WINDOW
            ),
        )
        # At most the shortest default, so that every default stays valid.
        if not 1 <= settings.min_duration_seconds <= DEFAULT_CLAIM_TIMEOUT:
            raise SettingsError(
                f"CREWLINE_DISPATCHER_MIN_DURATION_SECONDS must be 1-{DEFAULT_CLAIM_TIMEOUT}"
            )
        if settings.watch_keepalive_seconds <= 0:
            raise SettingsError("CREWLINE_DISPATCHER_WATCH_KEEPALIVE_SECONDS must be positive")
        if settings.revert_window_seconds < 1:
            raise SettingsError("CREWLINE_DISPATCHER_REVERT_WINDOW_SECONDS must be positive")
        return settings
