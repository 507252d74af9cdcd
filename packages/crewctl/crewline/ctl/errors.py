"""crewctl's exit codes, and how a refusal becomes a one-line message and one of them."""

from __future__ import annotations

import sys
from enum import IntEnum
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from crewline.client.errors import CrewlineError


class ExitCode(IntEnum):
    OK = 0
    REFUSED = 1
    USAGE = 2
    CREDENTIAL = 3
    NOT_FOUND = 4
    UNAVAILABLE = 5
    UNHEALTHY = 6
    UNRECONCILED = 7


EXIT_CODE_MEANINGS: dict[ExitCode, str] = {
    ExitCode.OK: "ok",
    ExitCode.REFUSED: "the server refused (any other gRPC error; also NOT_QUALIFIED, BLOCKED)",
    ExitCode.USAGE: "usage error (arguments, addresses, config file)",
    ExitCode.CREDENTIAL: "credential problem (UNAUTHENTICATED, PERMISSION_DENIED, none found)",
    ExitCode.NOT_FOUND: "not found (NOT_FOUND)",
    ExitCode.UNAVAILABLE: "service unavailable (UNAVAILABLE, DEADLINE_EXCEEDED, cannot connect)",
    ExitCode.UNHEALTHY: "health: not every check says SERVING",
    ExitCode.UNRECONCILED: "ledger verify: the books do not reconcile",
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

CLIENT_KEY_HINT = (
    "check the client's API key (--credential, $CREWLINE_CREDENTIAL); an operator makes"
    " one with `crewctl client key create CLIENT_ID`"
)
CONTRACTOR_TOKEN_HINT = (
    "check the contractor token (--credential, $CREWLINE_CREDENTIAL); tokens expire, and an"
    " operator issues a new one with `crewctl contractor token CONTRACTOR_ID`"
)
CALLER_HINT = (
    "check the credential: --credential, $CREWLINE_CREDENTIAL (a client's API key or a"
    " contractor's token), else the operator credential; each sees only its own account"
)

_HINTS: dict[str, str] = {
    "UNAUTHENTICATED": CREDENTIAL_HINT,
    "PERMISSION_DENIED": "this credential may not do that; use the operator credential",
    "UNAVAILABLE": STACK_HINT,
    "DEADLINE_EXCEEDED": f"no answer in time; {STACK_HINT}",
}
_CREDENTIAL_CODES = ("UNAUTHENTICATED", "PERMISSION_DENIED")
# PERMISSION_DENIED refusals about the contractor, not the credential: exit 1, not 3.
_NOT_CREDENTIAL_REASONS = frozenset({"NOT_QUALIFIED", "BLOCKED"})
_CUT = (
    "the lease is not extended any more, but work submitted before the claim's deadline_at"
    " is still reviewed and paid"
)
# Refusals whose machine-readable reason says more than their status code.
_REASON_HINTS: dict[str, str] = {
    "LEASE_AT_MAXIMUM": "the lease is at its max_deadline_at; submit the work before then",
    "CLAIM_EXPIRED": "the lease ran out and the slot went back on offer; claim the task again",
    "CLAIM_ENDED": "the claim is over; `crewctl claim list --status active` shows the live ones",
    "TASK_CANCELLED": f"the client cancelled the task: {_CUT}",
    "PROJECT_PAUSED": f"the client paused the project: {_CUT}",
    "PROJECT_CLOSED": "the project is closed for good; claims already running may still submit",
    "TASK_FINISHED": "the task is over; `crewctl task get TASK_ID` shows how it ended",
    "REJECTED": (
        "the work was rejected; to accept it after all (within 30 days of the rejection)"
        " add --override-rejection"
    ),
    "REVERT_WINDOW_OVER": "the rejection is older than the revert window and stands for good",
    "ALREADY_ACCEPTED": "accepted work is final (and paid); a bonus is the way to add to it",
    "ALREADY_SUBMITTED": (
        "this claim's work was submitted already and a submission is final; `crewctl claim"
        " get CLAIM_ID` shows what was received (the same work again is answered as before)"
    ),
    "DEPENDENCY_UNAVAILABLE": (
        "the service is up but its database or Kafka is not, for now; run the same command"
        " again shortly (`crewctl health` shows when it is ready)"
    ),
    "ANSWER_DOES_NOT_FIT": (
        "the result does not fit the claim's answer spec and nothing was stored;"
        " `crewctl claim get CLAIM_ID` shows the fields it takes: fix the one named and"
        " submit again"
    ),
    "NO_FREE_SLOT": "someone was faster; `crewctl offers list` shows what is still open",
    "ALREADY_CLAIMED": "you hold a claim on this task; `crewctl claim list --status active`",
    "AT_CLAIM_LIMIT": "submit or release a live claim first (`crewctl claim list --status active`)",
    "NOT_QUALIFIED": "the project requires qualifications you do not hold",
    "BLOCKED": "you are blocked from this project; an operator can lift it",
    "EXAM_COOLDOWN": "the exam's retake cooldown since your last attempt has not ended yet",
    "EXAM_UNAVAILABLE": (
        "the exam's project has too few gold tasks to ask; its client or an operator adds"
        " them (`crewctl gold add`)"
    ),
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


def bad_lines(source: str, problems: list[str], *, nothing_done: str) -> CtlError:
    """A file with bad lines: the first ten of them, one usage error, nothing applied."""
    shown = "; ".join(problems[:10])
    more = f" (and {len(problems) - 10} more)" if len(problems) > 10 else ""
    return CtlError(
        f"{source}: {shown}{more}",
        exit_code=ExitCode.USAGE,
        hint=f"{nothing_done}; fix the lines and run it again",
    )


def refusal(error: BaseException) -> CrewlineError | None:
    """``error`` when it is the SDK's refusal of a call, else None. The SDK is not
    imported here: until a command has called it, nothing can be its refusal."""
    if "crewline.client.errors" not in sys.modules:
        return None
    from crewline.client.errors import CrewlineError

    return error if isinstance(error, CrewlineError) else None


def unreachable(failure: CrewlineError) -> bool:
    """The call may not have reached the service (so a retry may be needed)."""
    return failure.code_name in ("UNAVAILABLE", "DEADLINE_EXCEEDED")


def describe(failure: CrewlineError, *, credential: str | None = None) -> str:
    """One line: the status code, the details, the machine-readable reason, where, and
    ``credential``: which credential the call was made with (``as the operator, ...``)."""
    reason = f" (reason: {failure.reason})" if failure.reason else ""
    details = failure.message or "no details"
    made = f", {credential}" if credential else ""
    return f"{failure.code_name}: {details}{reason} [{failure.service} at {failure.address}{made}]"


def from_rpc(
    failure: CrewlineError,
    *,
    credential_hint: str | None = None,
    hint: str | None = None,
    credential: str | None = None,
) -> CtlError:
    """The error crewctl reports for a failed call.

    ``credential_hint`` says which credential to check when the call was refused as
    unauthenticated (the operator credential's when not given); ``hint``, when given,
    says what to do instead of the reason's usual hint; ``credential`` which credential
    the call was made with.
    """
    reason_hint = hint or _REASON_HINTS.get(failure.reason or "")
    shown = reason_hint or _HINTS.get(failure.code_name)
    if credential_hint and failure.code_name in _CREDENTIAL_CODES and not reason_hint:
        shown = credential_hint
    code = exit_code_for(failure.code_name)
    if failure.reason in _NOT_CREDENTIAL_REASONS:
        code = ExitCode.REFUSED  # the credential is fine: the contractor may not do this
    return CtlError(describe(failure, credential=credential), exit_code=code, hint=shown)


def exit_codes_help() -> str:
    """The exit codes as a help paragraph Click will not rewrap."""
    lines = [f"  {int(code)}  {meaning}" for code, meaning in EXIT_CODE_MEANINGS.items()]
    return "\b\nExit codes:\n" + "\n".join(lines)
