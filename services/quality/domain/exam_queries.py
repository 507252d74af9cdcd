"""Who may list which exams and attempts, and their pages. Pure.

Exams are listed by qualification name; attempts newest first. A client lists the
attempts at an exam whose project is theirs, operators any; an exam the caller may not
see is NOT_FOUND, as one that does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass

from crewline import paging, validate
from crewline.auth.principal import Kind, Principal
from crewline.errors import InvalidArgument, NotFound
from crewline.qualifications import type_name
from quality.domain.exams import Attempt, Exam

PAGE = 20
PAGE_MAX = 100


@dataclass(frozen=True, kw_only=True)
class ExamQuery:
    limit: int
    after: str | None  # the page before's last qualification


def exams(*, page_size: int = 0, page_token: str = "") -> ExamQuery:
    limit = paging.page_size(page_size, default=PAGE, maximum=PAGE_MAX)
    if not page_token:
        return ExamQuery(limit=limit, after=None)
    [name] = paging.decode_token(page_token, parts=1)
    try:
        return ExamQuery(limit=limit, after=type_name(name, field="page_token"))
    except InvalidArgument:
        raise paging.not_ours() from None


def exams_token(last: Exam | None) -> str:
    return paging.encode_token(last.qualification) if last is not None else ""


@dataclass(frozen=True, kw_only=True)
class AttemptQuery:
    """A page of attempts, newest first. ``contractor_id`` None: anyone's;
    ``qualification`` None: any exam's; ``client_id`` set: the exam must be theirs."""

    contractor_id: str | None
    qualification: str | None
    client_id: str | None
    limit: int
    after: int | None  # seq of the page before's last attempt


def my_attempts(caller: Principal, *, page_size: int = 0, page_token: str = "") -> AttemptQuery:
    if caller.kind is not Kind.CONTRACTOR:
        raise NotFound(f"{caller} has no exam attempts")
    limit, after = _paging(page_size, page_token)
    return AttemptQuery(
        contractor_id=caller.id, qualification=None, client_id=None, limit=limit, after=after
    )


def attempts(
    caller: Principal,
    *,
    qualification: str,
    contractor_id: str = "",
    page_size: int = 0,
    page_token: str = "",
) -> AttemptQuery:
    """The attempts at one exam (required), of one contractor when named."""
    name = type_name(qualification, field="qualification")
    who = validate.identifier(contractor_id, field="contractor_id") if contractor_id else None
    limit, after = _paging(page_size, page_token)
    if caller.kind not in (Kind.CLIENT, Kind.OPERATOR):
        raise NotFound(f"qualification: no exam grants qualification {name}")
    return AttemptQuery(
        contractor_id=who,
        qualification=name,
        client_id=caller.id if caller.kind is Kind.CLIENT else None,
        limit=limit,
        after=after,
    )


def attempts_token(last: Attempt | None) -> str:
    return paging.encode_token(str(last.seq)) if last is not None else ""


def _paging(size: int, token: str) -> tuple[int, int | None]:
    limit = paging.page_size(size, default=PAGE, maximum=PAGE_MAX)
    if not token:
        return limit, None
    [seq] = paging.decode_token(token, parts=1)
    return limit, paging.token_uint(seq)
