"""Settings read from the environment, once, into frozen dataclasses.

Nothing here runs at import. Services call ``ServiceSettings.from_env`` in their
own ``settings.py`` and pass the result down; no other module reads ``os.environ``.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from crewline.tls import ServerTls, TlsConfigError


class SettingsError(ValueError):
    """An environment variable is present but malformed."""


def env_str(env: Mapping[str, str], name: str, default: str) -> str:
    """The variable's value, or ``default`` when it is unset or empty."""
    value = env.get(name, "").strip()
    return value or default


def env_int(env: Mapping[str, str], name: str, default: int) -> int:
    """The variable as an integer; a malformed value names the variable."""
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not an integer") from None


def env_float(env: Mapping[str, str], name: str, default: float) -> float:
    """The variable as a float (for durations in seconds)."""
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a number") from None


def env_bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    """``1``/``true``/``yes`` or ``0``/``false``/``no`` (any case); unset: ``default``."""
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes"):
        return True
    if raw in ("0", "false", "no"):
        return False
    raise SettingsError(f"{name}={raw!r} is not one of 1, true, yes, 0, false, no")


def env_addr(env: Mapping[str, str], name: str, default: str) -> tuple[str, int]:
    """A ``host:port`` variable, split; loopback is the default host everywhere."""
    raw = env_str(env, name, default)
    host, sep, port = raw.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise SettingsError(f"{name}={raw!r} is not host:port")
    return host, int(port)


def env_list(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    """A comma-separated variable as its non-empty items."""
    return tuple(item.strip() for item in env.get(name, "").split(",") if item.strip())


def read_secret_file(name: str, path: str) -> bytes:
    """A file named by variable ``name``; a missing file names the variable."""
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise SettingsError(f"{name}={path!r}: cannot read ({exc.strerror})") from None


@dataclass(frozen=True, kw_only=True)
class AuthSettings:
    """Key material for authenticating every call locally (see crewline.auth).

    Only digests and public keys: a service never needs a client's or operator's
    secret to check it. The matcher's signing key is in its own settings.
    """

    operator_credential_sha256: frozenset[str] = frozenset()
    token_public_keys: tuple[bytes, ...] = ()  # PEM, Ed25519; several while rotating
    # How long a credential lookup is reused; bounds how late a revocation bites.
    cache_seconds: float = 1.0

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> AuthSettings:
        """``CREWLINE_OPERATOR_CREDENTIAL`` (or ``..._FILE``, or ``..._SHA256``, a list)
        and ``CREWLINE_TOKEN_PUBLIC_KEY_FILES`` (a list of PEM files)."""
        digests = set(env_list(env, "CREWLINE_OPERATOR_CREDENTIAL_SHA256"))
        plain = env_str(env, "CREWLINE_OPERATOR_CREDENTIAL", "")
        path = env_str(env, "CREWLINE_OPERATOR_CREDENTIAL_FILE", "")
        if path:
            plain = read_secret_file("CREWLINE_OPERATOR_CREDENTIAL_FILE", path).decode().strip()
        if plain:
            digests.add(hashlib.sha256(plain.encode()).hexdigest())
        keys = tuple(
            read_secret_file("CREWLINE_TOKEN_PUBLIC_KEY_FILES", p)
            for p in env_list(env, "CREWLINE_TOKEN_PUBLIC_KEY_FILES")
        )
        return cls(
            operator_credential_sha256=frozenset(digests),
            token_public_keys=keys,
            cache_seconds=env_float(env, "CREWLINE_AUTH_CACHE_SECONDS", 1.0),
        )


def grpc_tls_from_env(env: Mapping[str, str]) -> ServerTls | None:
    """The gRPC port's TLS (``CREWLINE_GRPC_TLS_*``), its files read and checked now."""
    try:
        return ServerTls.from_env(env)
    except TlsConfigError as err:
        raise SettingsError(str(err)) from None


@dataclass(frozen=True, kw_only=True)
class PostgresSettings:
    host: str = "127.0.0.1"
    port: int = 55432
    user: str = "crewline"
    password: str = ""
    database: str
    pool_max_size: int = 10

    @property
    def dsn(self) -> str:
        auth = f"{self.user}:{self.password}" if self.password else self.user
        return f"postgresql://{auth}@{self.host}:{self.port}/{self.database}"

    @classmethod
    def from_env(cls, env: Mapping[str, str], *, service: str) -> PostgresSettings:
        prefix = f"CREWLINE_{service.upper()}"
        return cls(
            host=env_str(env, "CREWLINE_PG_HOST", "127.0.0.1"),
            port=env_int(env, "CREWLINE_PG_PORT", 55432),
            user=env_str(env, "CREWLINE_PG_USER", "crewline"),
            password=env_str(env, "CREWLINE_PG_PASSWORD", ""),
            database=env_str(env, f"{prefix}_PG_DB", f"crewline_{service}"),
            pool_max_size=env_int(env, f"{prefix}_PG_POOL_SIZE", 10),
        )


@dataclass(frozen=True, kw_only=True)
class KafkaSettings:
    bootstrap_servers: str = "127.0.0.1:59092"
    topic_partitions: int = 6
    # Prepended to every topic and consumer group name: lets test runs and
    # several stacks share one cluster without seeing each other's events.
    namespace: str = ""

    def topic(self, name: str) -> str:
        """The cluster-side name of one of Crewline's topics."""
        return f"{self.namespace}{name}"

    def group(self, name: str) -> str:
        """The cluster-side name of a consumer group."""
        return f"{self.namespace}{name}"

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> KafkaSettings:
        return cls(
            bootstrap_servers=env_str(env, "CREWLINE_KAFKA_BOOTSTRAP", "127.0.0.1:59092"),
            topic_partitions=env_int(env, "CREWLINE_TOPIC_PARTITIONS", 6),
            namespace=env_str(env, "CREWLINE_KAFKA_NAMESPACE", ""),
        )


_DAY = 86_400.0


@dataclass(frozen=True, kw_only=True)
class RetentionSettings:
    """How long each bookkeeping table keeps a row it no longer needs (see
    ``crewline.retention``), in seconds, and how the pruning loop deletes them.

    The inbox is what makes a redelivered event change nothing, so an inbox row may
    go only once its event can no longer be delivered again: ``inbox_seconds`` must
    exceed ``kafka_record_seconds``, the longest a record stays readable in
    Crewline's topics. Kafka deletes whole segments, so that is the topics'
    ``retention.ms`` plus ``segment.ms`` (7 + 7 days with the broker's defaults).
    """

    outbox_seconds: float = _DAY  # sent rows; the events themselves are in Kafka
    inbox_seconds: float = 30 * _DAY
    deadlines_seconds: float = 7 * _DAY  # fired clocks
    watch_seconds: float = 7 * _DAY  # the dispatcher's Watch log
    kafka_record_seconds: float = 14 * _DAY
    batch_size: int = 1000  # rows deleted per transaction
    interval_seconds: float = 60.0  # between passes that found nothing more to delete

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> RetentionSettings:
        """``CREWLINE_RETENTION_{OUTBOX,INBOX,DEADLINES,WATCH,KAFKA_RECORD}_SECONDS``,
        ``CREWLINE_RETENTION_BATCH_SIZE`` and ``CREWLINE_RETENTION_INTERVAL_SECONDS``."""
        d = cls()
        p = "CREWLINE_RETENTION"
        settings = cls(
            outbox_seconds=env_float(env, f"{p}_OUTBOX_SECONDS", d.outbox_seconds),
            inbox_seconds=env_float(env, f"{p}_INBOX_SECONDS", d.inbox_seconds),
            deadlines_seconds=env_float(env, f"{p}_DEADLINES_SECONDS", d.deadlines_seconds),
            watch_seconds=env_float(env, f"{p}_WATCH_SECONDS", d.watch_seconds),
            kafka_record_seconds=env_float(
                env, f"{p}_KAFKA_RECORD_SECONDS", d.kafka_record_seconds
            ),
            batch_size=env_int(env, f"{p}_BATCH_SIZE", d.batch_size),
            interval_seconds=env_float(env, f"{p}_INTERVAL_SECONDS", d.interval_seconds),
        )
        settings.check()
        return settings

    def check(self) -> None:
        """Refuse settings that could drop a row still needed; the message names the variable."""
        p = "CREWLINE_RETENTION"
        for name, value in [
            ("OUTBOX_SECONDS", self.outbox_seconds),
            ("INBOX_SECONDS", self.inbox_seconds),
            ("DEADLINES_SECONDS", self.deadlines_seconds),
            ("WATCH_SECONDS", self.watch_seconds),
            ("KAFKA_RECORD_SECONDS", self.kafka_record_seconds),
            ("INTERVAL_SECONDS", self.interval_seconds),
        ]:
            if not 0 < value < 100 * 365 * _DAY:  # also refuses nan and inf
                raise SettingsError(f"{p}_{name}={value} must be positive, under 100 years")
        if self.inbox_seconds <= self.kafka_record_seconds:
            raise SettingsError(
                f"{p}_INBOX_SECONDS={self.inbox_seconds:g} must exceed"
                f" {p}_KAFKA_RECORD_SECONDS={self.kafka_record_seconds:g}: an event still"
                " in Kafka may be delivered again, and only its inbox row makes that harmless"
            )
        if not 1 <= self.batch_size <= 10_000:
            raise SettingsError(f"{p}_BATCH_SIZE={self.batch_size} must be 1 to 10000")


@dataclass(frozen=True, kw_only=True)
class ServiceSettings:
    """What every service needs, whatever its business."""

    name: str
    grpc_host: str
    grpc_port: int
    metrics_host: str
    metrics_port: int
    postgres: PostgresSettings
    kafka: KafkaSettings
    auth: AuthSettings = field(default_factory=AuthSettings)
    retention: RetentionSettings = field(default_factory=RetentionSettings)
    # TLS on the gRPC port (CREWLINE_GRPC_TLS_*, see crewline.tls); None: plaintext.
    grpc_tls: ServerTls | None = None
    log_format: str = "auto"
    shutdown_grace_seconds: float = 10.0
    # After SIGTERM, answer NOT_SERVING this long before closing the listener, so that load
    # balancers and readiness probes see it and stop sending calls (Kubernetes' preStop pause).
    shutdown_delay_seconds: float = 0.0
    poll_interval_seconds: float = 0.05
    # Calls handled at once; more get RESOURCE_EXHAUSTED at once, counted, never queued unseen.
    max_in_flight: int = 256
    # Streaming calls (offers, watch) open at once; each holds little but lives long.
    max_streams: int = 10_000
    # SO_REUSEPORT on the gRPC port: several processes of the service on one host share
    # it, the kernel spreading connections among them (a process is one core of Python).
    # Off by default, so that a second process on a taken port fails to start.
    grpc_reuse_port: bool = False

    @classmethod
    def from_env(
        cls,
        *,
        name: str,
        grpc_port: int,
        metrics_port: int,
        env: Mapping[str, str] | None = None,
    ) -> ServiceSettings:
        """Reads ``CREWLINE_<NAME>_GRPC_ADDR``, ``..._METRICS_ADDR`` and the shared variables."""
        env = os.environ if env is None else env
        prefix = f"CREWLINE_{name.upper()}"
        grpc_host, grpc_p = env_addr(env, f"{prefix}_GRPC_ADDR", f"127.0.0.1:{grpc_port}")
        m_host, m_port = env_addr(env, f"{prefix}_METRICS_ADDR", f"127.0.0.1:{metrics_port}")
        return cls(
            name=name,
            grpc_host=grpc_host,
            grpc_port=grpc_p,
            metrics_host=m_host,
            metrics_port=m_port,
            postgres=PostgresSettings.from_env(env, service=name),
            kafka=KafkaSettings.from_env(env),
            auth=AuthSettings.from_env(env),
            retention=RetentionSettings.from_env(env),
            grpc_tls=grpc_tls_from_env(env),
            max_in_flight=env_int(env, f"{prefix}_MAX_IN_FLIGHT", 256),
            max_streams=env_int(env, f"{prefix}_MAX_STREAMS", 10_000),
            grpc_reuse_port=env_bool(env, f"{prefix}_GRPC_REUSE_PORT", False),
            log_format=env_str(env, "CREWLINE_LOG_FORMAT", "auto"),
            shutdown_grace_seconds=env_float(env, "CREWLINE_SHUTDOWN_GRACE_SECONDS", 10.0),
            shutdown_delay_seconds=env_float(env, "CREWLINE_SHUTDOWN_DELAY_SECONDS", 0.0),
            poll_interval_seconds=env_float(env, "CREWLINE_POLL_INTERVAL_SECONDS", 0.05),
        )
