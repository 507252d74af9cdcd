"""crewctl's exit codes, and how a refusal becomes a one-line message and one of them."""

from __future__ import annotations

from enum import IntEnum

import click

from crewline.ctl.api import RpcFailed


class ExitCode(IntEnum):
    OK = 0
    REFUSED = 1
    USAGE = 2
    CREDENTIAL = 3
    NOT_FOUND = 4
    UNAVAILABLE = 5
    UNHEALTHY = 6


EXIT_CODE_MEANINGS: dict[ExitCode, str] = {
    ExitCode.OK: "ok",
    ExitCode.REFUSED: "the server refused (any other gRPC error)",
    ExitCode.USAGE: "usage error (arguments, addresses, config file)",
    ExitCode.CREDENTIAL: "credential problem (UNAUTHENTICATED, PERMISSION_DENIED, none found)",
    ExitCode.NOT_FOUND: "not found (NOT_FOUND)",
    ExitCode.UNAVAILABLE: "service unavailable (UNAVAILABLE, DEADLINE_EXCEEDED, cannot connect)",
    ExitCode.UNHEALTHY: "health: not every check says SERVING",
}

_EXIT_BY_STATUS: dict[str, ExitCode] = {
    "UNAUTHENTICATED": ExitCode.CREDENTIAL,
    "PERMISSION_DENIED": ExitCode.CREDENTIAL,
    "NOT_FOUND": ExitCode.NOT_FOUND,
    "UNAVAILABLE": ExitCode.UNAVAILABLE,
    "DEADLINE_EXCEEDED": ExitCode.UNAVAILABLE,
}

CREDENTIAL_HINT = (
    "check the operator credential (--credential, $CREWLINE_OPERATOR_CREDENTIAL, the config"
    " file); `make operator-credential` prints the local one"
)
UP_HINT = "is the stack up? `make up`"
STACK_HINT = f"{UP_HINT}, then `crewctl health`"

_HINTS: dict[str, str] = {
    "UNAUTHENTICATED": CREDENTIAL_HINT,
    "PERMISSION_DENIED": "this credential may not do that; use the operator credential",
    "UNAVAILABLE": STACK_HINT,
    "DEADLINE_EXCEEDED": f"no answer in time; {STACK_HINT}",
}


def exit_code_for(status: str) -> ExitCode:
    """The exit code for a gRPC status code name (e.g. ``"NOT_FOUND"``)."""
    return _EXIT_BY_STATUS.get(status, ExitCode.REFUSED)


class CtlError(click.ClickException):
    """A failure reported as one line on stderr, with its exit code."""

    def __init__(self, message: str, *, exit_code: ExitCode, hint: str | None = None) -> None:
        super().__init__(f"{message}. Hint: {hint}" if hint else message)
        self._exit_code = int(exit_code)

    @property
    def exit_code(self) -> int:  # type: ignore[override]  # Click reads it per instance
        return self._exit_code


def describe(failure: RpcFailed) -> str:
    """One line: the status code, the details and the machine-readable reason."""
    reason = f" (reason: {failure.reason})" if failure.reason else ""
    details = failure.details or "no details"
    return f"{failure.code}: {details}{reason} [{failure.service} at {failure.address}]"


def from_rpc(failure: RpcFailed) -> CtlError:
    """The error crewctl reports for a failed call."""
    return CtlError(
        describe(failure),
        exit_code=exit_code_for(failure.code),
        hint=_HINTS.get(failure.code),
    )


def exit_codes_help() -> str:
    """The exit codes as a help paragraph Click will not rewrap."""
    lines = [f"  {int(code)}  {meaning}" for code, meaning in EXIT_CODE_MEANINGS.items()]
    return "\b\nExit codes:\n" + "\n".join(lines)
