"""Errors that domain code raises and the gRPC edge maps to status codes.

Pure Python: the domain raises these without knowing about gRPC.
"""

from __future__ import annotations


class DomainError(Exception):
    """A refusal the caller can act on; never an internal fault."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidArgument(DomainError):
    """A request field is malformed. The message always names the field."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class NotFound(DomainError):
    """No such entity, or none the caller may see."""


class AlreadyExists(DomainError):
    """The entity exists and the request would create it again."""


class FailedPrecondition(DomainError):
    """The entity is not in a state that allows the request (a lost race, a full task)."""


class Unavailable(DomainError):
    """A dependency is down; the caller may retry the same request."""
