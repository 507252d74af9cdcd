"""The matcher's settings, read from the environment in this one place."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from crewline.settings import ServiceSettings, env_float, env_int, env_str, read_secret_file


@dataclass(frozen=True, kw_only=True)
class MatcherSettings:
    service: ServiceSettings
    # Ed25519 private key (PEM) that signs contractor tokens; only the matcher has it.
    token_signing_key: bytes | None = None
    # Messages an offer stream may have queued before it is told to resync.
    offer_buffer: int = 1000
    # An idle offer stream sends a keepalive this often.
    offer_keepalive_seconds: float = 15.0
    # After a first notification, the hub gathers more for this long before it queues
    # offers: the commits of one SubmitTasks (one per partition) then reach each stream as
    # one message, not one each. A few ms of latency for far fewer writes per stream.
    offer_coalesce_seconds: float = 0.02
    # Group commit: at most this many ClaimTask calls go to PostgreSQL in one statement
    # (those that arrived while the previous batch ran). 1 sends each on its own.
    claim_batch_max: int = 64

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> MatcherSettings:
        env = os.environ if env is None else env
        key_file = env_str(env, "CREWLINE_TOKEN_SIGNING_KEY_FILE", "")
        return cls(
            service=ServiceSettings.from_env(
                name="matcher", grpc_port=50052, metrics_port=9102, env=env
            ),
            token_signing_key=(
                read_secret_file("CREWLINE_TOKEN_SIGNING_KEY_FILE", key_file) if key_file else None
            ),
            offer_buffer=env_int(env, "CREWLINE_OFFER_BUFFER", 1000),
            offer_keepalive_seconds=env_float(env, "CREWLINE_OFFER_KEEPALIVE_SECONDS", 15.0),
            offer_coalesce_seconds=env_float(env, "CREWLINE_OFFER_COALESCE_SECONDS", 0.02),
            claim_batch_max=env_int(env, "CREWLINE_CLAIM_BATCH_MAX", 64),
        )
