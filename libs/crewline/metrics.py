"""Prometheus metrics, one registry and one name prefix per service.

Labels come only from small fixed sets (method, code, topic, partition, type,
outcome, dependency, kind, worker), never from task, contractor or client ids.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    start_http_server,
)

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# A deadline fires within a poll interval, or minutes late after its handler failed.
_LATENESS_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0, 60.0, 300.0, 3600.0)


@dataclass(frozen=True)
class Metrics:
    """The kernel's metrics for one service, named ``crewline_<service>_...``."""

    registry: CollectorRegistry
    rpc_requests: Counter
    rpc_duration: Histogram
    events_consumed: Counter
    event_handling: Histogram
    consumer_lag: Gauge
    dead_letters: Counter
    dead_letters_open: Gauge
    dead_letter_replays: Counter
    outbox_backlog: Gauge
    outbox_oldest_age: Gauge
    outbox_published: Counter
    outbox_dead_letters: Counter
    deadlines_fired: Counter
    deadline_lateness: Histogram
    deadlines_failed: Counter
    deadlines_dead_lettered: Counter
    deadlines_dead_letters: Gauge
    dependency_up: Gauge
    worker_failures: Counter
    worker_healthy: Gauge
    ready: Gauge
    rows_pruned: Counter

    @classmethod
    def create(cls, service: str) -> Metrics:
        """A fresh registry, so several services (or tests) can live in one process."""
        # No ``*_created`` series: in the text format each counter and histogram would
        # get a second, gauge-typed series of Unix timestamps that Prometheus 2 does not
        # use. The switch is process-wide and applies to metrics made after it.
        disable_created_metrics()  # type: ignore[no-untyped-call]  # untyped upstream
        reg = CollectorRegistry()
        p = f"crewline_{service}"
        return cls(
            registry=reg,
            rpc_requests=Counter(
                f"{p}_rpc_requests_total", "gRPC calls handled", ["method", "code"], registry=reg
            ),
            rpc_duration=Histogram(
                f"{p}_rpc_duration_seconds",
                "gRPC handling time",
                ["method", "code"],
                buckets=_LATENCY_BUCKETS,
                registry=reg,
            ),
            events_consumed=Counter(
                f"{p}_events_consumed_total",
                "Kafka events consumed, by outcome (applied, duplicate, ignored, dead_lettered)",
                ["topic", "type", "outcome"],
                registry=reg,
            ),
            event_handling=Histogram(
                f"{p}_event_handling_seconds",
                "Time to apply one consumed event, transaction included",
                ["topic", "type"],
                buckets=_LATENCY_BUCKETS,
                registry=reg,
            ),
            consumer_lag=Gauge(
                f"{p}_consumer_lag_messages",
                "Records between the committed offset and the high watermark",
                ["topic", "partition"],
                registry=reg,
            ),
            dead_letters=Counter(
                f"{p}_dead_letters_total",
                "Consumed events set aside as dead letters: they could not be applied for a"
                " permanent reason (crewctl deadletters list)",
                ["topic"],
                registry=reg,
            ),
            dead_letters_open=Gauge(
                f"{p}_dead_letters_open",
                "Dead-lettered events not yet applied by a replay",
                ["topic"],
                registry=reg,
            ),
            dead_letter_replays=Counter(
                f"{p}_dead_letter_replays_total",
                "Dead letters replayed, by outcome (applied, failed, already_applied)",
                ["topic", "outcome"],
                registry=reg,
            ),
            outbox_backlog=Gauge(
                f"{p}_outbox_backlog_events", "Outbox rows not yet published", registry=reg
            ),
            outbox_oldest_age=Gauge(
                f"{p}_outbox_oldest_unsent_age_seconds",
                "Age of the oldest outbox row not yet published (0 when there is none)",
                registry=reg,
            ),
            outbox_published=Counter(
                f"{p}_outbox_published_total", "Outbox rows published", ["topic"], registry=reg
            ),
            outbox_dead_letters=Counter(
                f"{p}_outbox_dead_letters_total",
                "Outbox rows Kafka can never accept, set aside with their error",
                ["topic"],
                registry=reg,
            ),
            deadlines_fired=Counter(
                f"{p}_deadlines_fired_total", "Durable deadlines fired", ["kind"], registry=reg
            ),
            deadline_lateness=Histogram(
                f"{p}_deadline_lateness_seconds",
                "How long after its due time a deadline fired",
                ["kind"],
                buckets=_LATENESS_BUCKETS,
                registry=reg,
            ),
            deadlines_failed=Counter(
                f"{p}_deadline_failures_total",
                "Deadline handler runs that raised (each is retried, or dead-lettered)",
                ["kind"],
                registry=reg,
            ),
            deadlines_dead_lettered=Counter(
                f"{p}_deadlines_dead_lettered_total",
                "Deadlines set aside after their handler failed max_attempts times",
                ["kind"],
                registry=reg,
            ),
            deadlines_dead_letters=Gauge(
                f"{p}_deadlines_dead_letters",
                "Dead-lettered deadlines waiting for an operator (crewctl deadline dead)",
                ["kind"],
                registry=reg,
            ),
            dependency_up=Gauge(
                f"{p}_dependency_up",
                "1 when the dependency answered its last probe",
                ["dependency"],
                registry=reg,
            ),
            worker_failures=Counter(
                f"{p}_worker_failures_total",
                "Unexpected errors a long-running worker survived by backing off and retrying",
                ["worker"],
                registry=reg,
            ),
            worker_healthy=Gauge(
                f"{p}_worker_healthy",
                "0 while a long-running worker keeps failing (several unexpected errors in a"
                " row), 1 otherwise",
                ["worker"],
                registry=reg,
            ),
            ready=Gauge(
                f"{p}_ready",
                "1 while the readiness health check says SERVING, 0 otherwise (starting,"
                " PostgreSQL away, a worker failing)",
                registry=reg,
            ),
            rows_pruned=Counter(
                f"{p}_retention_pruned_rows_total",
                "Rows deleted once past their retention, by table",
                ["table"],
                registry=reg,
            ),
        )

    def serve(self, *, host: str, port: int) -> Any:
        """Serve ``/metrics`` on host:port in a daemon thread; returns the server."""
        server, _thread = start_http_server(port, addr=host, registry=self.registry)
        return server
