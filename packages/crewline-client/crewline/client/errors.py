"""gRPC failures as exceptions an app can branch on.

Every refusal becomes a ``CrewlineError`` carrying the status ``code``, the
machine-readable ``reason`` (the server's ``google.rpc.ErrorInfo.reason``, e.g.
``NO_FREE_SLOT``), the ``field`` an ``INVALID_ARGUMENT`` names, the server's
``message`` and the ``correlation_id`` to quote in a support request. The class says
the code: ``except NotFound`` reads better than comparing codes. The ErrorInfo's other
metadata is in ``metadata``, and the values a reason carries are read from it:
``retake_after`` for EXAM_COOLDOWN.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar

import grpc
from google.rpc import error_details_pb2  # type: ignore[import-untyped,unused-ignore]
from grpc_status import rpc_status  # type: ignore[import-untyped,unused-ignore]

from crewline.client.metadata import CORRELATION_METADATA


def error_info(err: Any) -> tuple[str | None, dict[str, str]]:
    """The ``google.rpc.ErrorInfo`` reason and metadata in a failed call's status details."""
    try:
        status = rpc_status.from_call(err)
    except ValueError:  # details that contradict the status: ignore them
        return None, {}
    for detail in status.details if status is not None else ():
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            return info.reason or None, dict(info.metadata)
    return None, {}


def error_reason(err: Any) -> str | None:
    """The ``google.rpc.ErrorInfo`` reason in a failed call's status details, if any."""
    return error_info(err)[0]


class CrewlineError(Exception):
    """A call the server refused, or could not be reached for."""

    status: ClassVar[grpc.StatusCode | None] = None  # the code a subclass stands for

    def __init__(
        self,
        message: str,
        *,
        code: grpc.StatusCode,
        reason: str | None = None,
        field: str | None = None,
        metadata: Mapping[str, str] | None = None,
        method: str = "",
        correlation_id: str | None = None,
        rpc_error: grpc.RpcError | None = None,
        service: str = "",
        address: str = "",
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.reason = reason
        self.field = field
        self.metadata = dict(metadata or {})
        self.method = method
        self.correlation_id = correlation_id
        # Which service was called, at which address ("" when not known).
        self.service = service
        self.address = address
        # The gRPC error underneath, for what the fields above leave out.
        self.rpc_error = rpc_error

    @property
    def retake_after(self) -> datetime | None:
        """For EXAM_COOLDOWN: when the exam may be taken again (the ErrorInfo's
        ``retake_after``, an aware UTC datetime); None when the refusal names no time."""
        return _instant(self.metadata.get("retake_after"))

    @property
    def code_name(self) -> str:
        """The status code's name, e.g. ``"NOT_FOUND"``."""
        return str(self.code.name)

    def __str__(self) -> str:
        where = f"{self.method}: " if self.method else ""
        why = f" [{self.reason}]" if self.reason else ""
        return f"{where}{self.code_name}{why}: {self.message}"


class InvalidArgument(CrewlineError):
    """A request field is malformed; ``field`` names it."""

    status = grpc.StatusCode.INVALID_ARGUMENT


class NotFound(CrewlineError):
    """No such entity, or none the caller may see."""

    status = grpc.StatusCode.NOT_FOUND


class AlreadyExists(CrewlineError):
    status = grpc.StatusCode.ALREADY_EXISTS


class PermissionDenied(CrewlineError):
    """The credential's kind may not make this call."""

    status = grpc.StatusCode.PERMISSION_DENIED


class Unauthenticated(CrewlineError):
    """The credential is missing, malformed, expired, forged or revoked (see ``reason``)."""

    status = grpc.StatusCode.UNAUTHENTICATED


class Refused(CrewlineError):
    """The entity's state does not allow the request (``reason``: e.g. NO_FREE_SLOT)."""

    status = grpc.StatusCode.FAILED_PRECONDITION


class Aborted(CrewlineError):
    """A concurrent change won; the same request may succeed if retried."""

    status = grpc.StatusCode.ABORTED


class Overloaded(CrewlineError):
    """The service takes no more work right now (RESOURCE_EXHAUSTED), even after retries."""

    status = grpc.StatusCode.RESOURCE_EXHAUSTED


class Unavailable(CrewlineError):
    """The service (or one of its dependencies) could not be reached, even after retries."""

    status = grpc.StatusCode.UNAVAILABLE


class DeadlineExceeded(CrewlineError):
    status = grpc.StatusCode.DEADLINE_EXCEEDED


FailedPrecondition = Refused

_BY_CODE: dict[grpc.StatusCode, type[CrewlineError]] = {
    cls.status: cls
    for cls in (
        InvalidArgument,
        NotFound,
        AlreadyExists,
        PermissionDenied,
        Unauthenticated,
        Refused,
        Aborted,
        Overloaded,
        Unavailable,
        DeadlineExceeded,
    )
    if cls.status is not None
}


def _instant(text: str | None) -> datetime | None:
    """An ISO-8601 time from ErrorInfo metadata; None when absent or unreadable (a
    refusal is still a refusal without it)."""
    try:
        at = datetime.fromisoformat((text or "").replace("Z", "+00:00"))
    except ValueError:
        return None
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(UTC)


def _trailing(err: Any, key: str) -> str | None:
    try:
        pairs = err.trailing_metadata() or ()
    except Exception:  # a locally made error may have none
        return None
    for name, value in pairs:
        if name == key:
            return str(value)
    return None


def from_rpc_error(
    err: grpc.RpcError, *, method: str = "", service: str = "", address: str = ""
) -> CrewlineError:
    """The ``CrewlineError`` subclass for a failed call (``CrewlineError`` for other codes),
    naming the ``service`` called and its ``address`` when given."""
    code: grpc.StatusCode = err.code()
    reason, metadata = error_info(err)
    cls = _BY_CODE.get(code, CrewlineError)
    return cls(
        " ".join((err.details() or "").split()),
        code=code,
        reason=reason,
        field=metadata.get("field"),
        metadata=metadata,
        method=method,
        correlation_id=_trailing(err, CORRELATION_METADATA),
        rpc_error=err,
        service=service,
        address=address,
    )
