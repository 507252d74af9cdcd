"""Errors that domain code raises and the gRPC edge maps to status codes.

Pure Python: the domain raises these without knowing about gRPC. Each class
carries its own status code (by name) and a machine-readable ``reason`` that
travels to the caller as ``google.rpc.ErrorInfo``, so an app can act on the
reason without parsing prose. A subclass that forgets its code fails at import.

Messages quote what the caller sent, and travel back in the call's trailing metadata,
which a default gRPC client takes only up to 8 KiB. So every error bounds its own
message and metadata (``bounded``): a caller's 9,000-character value must not turn a
refusal into the client's RESOURCE_EXHAUSTED "received metadata size exceeds limit".
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import ClassVar

# A run of non-blank characters longer than any value Crewline takes (ids and names are at
# most 128 characters; quoted, or after a prefix such as "contractor:", a little more) is
# a caller's oversized value: it shows its first QUOTED_CHARS characters and its length.
LONG_RUN = 200
QUOTED_CHARS = 64
MESSAGE_BYTES = 1024  # a whole message at most, in UTF-8
_LONG_VALUE = re.compile(rf"\S{{{LONG_RUN + 1},}}")


def bounded(text: str) -> str:
    """``text`` fit to travel in a status: each run of more than ``LONG_RUN`` non-blank
    characters (an oversized value quoted from the request) cut to its first
    ``QUOTED_CHARS`` and its length, and the whole at most ``MESSAGE_BYTES`` bytes of
    UTF-8. Values of a size Crewline accepts are quoted whole."""
    whole = len(text)
    text = _LONG_VALUE.sub(lambda m: f"{m[0][:QUOTED_CHARS]}...({len(m[0])} characters)", text)
    data = text.encode()
    if len(data) <= MESSAGE_BYTES:
        return text
    cut = data[: MESSAGE_BYTES - 40].decode(errors="ignore")
    return f"{cut}...({whole} characters in all)"


class DomainError(Exception):
    """A refusal the caller can act on; never an internal fault."""

    code: ClassVar[str]  # the gRPC status code's name, e.g. "NOT_FOUND"
    default_reason: ClassVar[str]

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if "code" not in cls.__dict__ or "default_reason" not in cls.__dict__:
            raise TypeError(f"{cls.__name__} must set its own code and default_reason")

    def __init__(
        self, message: str, *, reason: str | None = None, metadata: Mapping[str, str] | None = None
    ) -> None:
        message = bounded(message)
        super().__init__(message)
        self.message = message
        self.reason = reason or self.default_reason
        self.metadata = {key: bounded(value) for key, value in (metadata or {}).items()}


class InvalidArgument(DomainError):
    """A request field is malformed. The message always names the field."""

    code = "INVALID_ARGUMENT"
    default_reason = "INVALID_FIELD"

    def __init__(self, field: str, problem: str, *, reason: str | None = None) -> None:
        super().__init__(f"{field}: {problem}", reason=reason, metadata={"field": field})
        self.field = field
        self.problem = problem


class NotFound(DomainError):
    """No such entity, or none the caller may see (existence never leaks)."""

    code = "NOT_FOUND"
    default_reason = "NOT_FOUND"


class AlreadyExists(DomainError):
    """The entity exists and the request would create it again, differently."""

    code = "ALREADY_EXISTS"
    default_reason = "ALREADY_EXISTS"


class FailedPrecondition(DomainError):
    """The entity is not in a state that allows the request (a full task, a closed claim)."""

    code = "FAILED_PRECONDITION"
    default_reason = "FAILED_PRECONDITION"


class Aborted(DomainError):
    """A concurrent change won; the same request may succeed if retried."""

    code = "ABORTED"
    default_reason = "ABORTED"


class Unauthenticated(DomainError):
    """The credential is missing, malformed, expired, forged, revoked or of the wrong kind."""

    code = "UNAUTHENTICATED"
    default_reason = "CREDENTIAL_INVALID"


class PermissionDenied(DomainError):
    """A known principal asked for something its kind may not do."""

    code = "PERMISSION_DENIED"
    default_reason = "PERMISSION_DENIED"


class ResourceExhausted(DomainError):
    """The service takes no more work right now; retry later with back-off."""

    code = "RESOURCE_EXHAUSTED"
    default_reason = "OVERLOADED"


class Unavailable(DomainError):
    """A dependency is down; the caller may retry the same request."""

    code = "UNAVAILABLE"
    default_reason = "DEPENDENCY_UNAVAILABLE"


class PermanentEventError(Exception):
    """A consumed event that can never be applied as it is: raise it from an event handler.

    For facts the event gets wrong that no retry will change: an unknown currency, an
    amount that is not positive or does not fit, a missing key, a reference to nothing.
    The consumer (``crewline.consumer``) rolls back the handler's transaction, keeps the
    whole record as a dead letter with this message, counts it, and goes on with the
    next record; an operator replays it once the cause is fixed (``crewctl deadletters
    replay``). A ``DomainError`` raised by a handler is taken as permanent too, except
    ``Aborted`` and ``ResourceExhausted`` (retried a few times first) and ``Unavailable``
    (retried until it passes). Never use it for a passing fault such as the database
    being away. Not a ``DomainError``: it never answers a gRPC call. The rules are
    ``crewline.dead_letters.classify``.
    """
