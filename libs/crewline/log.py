"""Structured logs: JSON lines off a terminal, a console renderer on one.

Request-scoped values (correlation id, task id, claim id) are bound with
contextvars at the edge (gRPC interceptor, consumer loop) and appear on every
line logged below it.
"""

from __future__ import annotations

import logging
import sys
import uuid
from typing import Any

import structlog
from structlog.contextvars import bind_contextvars, bound_contextvars, get_contextvars

CORRELATION_KEY = "correlation_id"


def configure_logging(*, service: str, log_format: str = "auto", level: int = logging.INFO) -> None:
    """Set up structlog once per process; ``log_format`` is auto, json or console."""
    use_console = log_format == "console" or (log_format == "auto" and sys.stderr.isatty())
    renderer: Any = (
        structlog.dev.ConsoleRenderer() if use_console else structlog.processors.JSONRenderer()
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.StackInfoRenderer(),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
    structlog.contextvars.clear_contextvars()
    bind_contextvars(service=service)


def get_logger(name: str) -> Any:
    """A structlog logger tagged with the module name."""
    return structlog.get_logger(module=name)


def new_correlation_id() -> str:
    return uuid.uuid4().hex


def current_correlation_id() -> str:
    """The correlation id bound at the edge, or a fresh one when none is bound."""
    value = get_contextvars().get(CORRELATION_KEY)
    return str(value) if value else new_correlation_id()


__all__ = [
    "CORRELATION_KEY",
    "bind_contextvars",
    "bound_contextvars",
    "configure_logging",
    "current_correlation_id",
    "get_logger",
    "new_correlation_id",
]
