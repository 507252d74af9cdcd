"""Operators' list of contractors: which ones, and where a page starts. Pure."""

from __future__ import annotations

from dataclasses import dataclass

from crewline.paging import decode_token, encode_token, page_size, token_identifier
from crewline.qualifications import type_name
from matcher.domain.contractors import Contractor

PAGE = 50
PAGE_MAX = 500


@dataclass(frozen=True, kw_only=True)
class ListContractors:
    """Query: contractors by id after ``after``; each filter None lets every one through."""

    qualification: str | None
    blocked: bool | None
    active: bool | None
    limit: int
    after: str | None

    @staticmethod
    def next_token(last: Contractor) -> str:
        return encode_token(last.contractor_id)


@dataclass(frozen=True, kw_only=True)
class ListedContractor:
    contractor: Contractor
    blocked: bool  # a block in force on some project, or on every project
    blocked_everywhere: bool  # a block in force on every project


def list_contractors(
    *,
    qualification: str,
    blocked: bool | None,
    active: bool | None,
    size: int,
    page_token: str,
) -> ListContractors:
    after = None
    if page_token:
        [text] = decode_token(page_token, parts=1)
        after = token_identifier(text)
    return ListContractors(
        qualification=type_name(qualification, field="qualification") if qualification else None,
        blocked=blocked,
        active=active,
        limit=page_size(size, default=PAGE, maximum=PAGE_MAX),
        after=after,
    )
