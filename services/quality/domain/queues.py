"""Queues of things a contractor files and a client or operator decides (appeals,
disputes): which page of them a caller asks for. Pure: no I/O, no protobuf.

A contractor reads their own, newest first. A client or an operator reads a project's
(an operator may read all): the undecided ones first, oldest first (the queue to work
through), then the decided ones, newest first. Both kinds page the same way, so they
share one query; only the state enum and the noun in the messages differ.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Generic, TypeVar

from crewline import paging, validate
from crewline.auth.principal import Kind, Principal
from crewline.errors import InvalidArgument, NotFound

PAGE = 20
PAGE_MAX = 100

S = TypeVar("S", bound=enum.StrEnum)


@dataclass(frozen=True, kw_only=True)
class QueueQuery(Generic[S]):
    """A page of one kind of filed thing. A filter None lets all through."""

    contractor_id: str | None
    client_id: str | None
    project_id: str | None
    state: S | None
    limit: int
    after: tuple[int, int] | None  # (rank, seq) of the page before's last item

    @property
    def queue(self) -> bool:
        return self.contractor_id is None


def own(caller: Principal, *, noun: str, page_size: int, page_token: str) -> QueueQuery[S]:
    """A contractor's own ``noun`` (e.g. "appeals"); nobody else has any."""
    if caller.kind is not Kind.CONTRACTOR:
        raise NotFound(f"{caller} has no {noun}")
    limit, after = queue_paging(page_size, page_token)
    return QueueQuery(
        contractor_id=caller.id,
        client_id=None,
        project_id=None,
        state=None,
        limit=limit,
        after=after,
    )


def of_project(
    caller: Principal,
    *,
    project_id: str,
    state: S | None,
    page_size: int,
    page_token: str,
) -> QueueQuery[S]:
    """Clients name one of their projects (checked by the handler); operators may."""
    project = validate.identifier(project_id, field="project_id") if project_id else None
    limit, after = queue_paging(page_size, page_token)
    if caller.kind is Kind.CLIENT and project is None:
        raise InvalidArgument("project_id", "is required")
    if caller.kind not in (Kind.CLIENT, Kind.OPERATOR):
        raise NotFound(f"project {project_id} not found")
    return QueueQuery(
        contractor_id=None,
        client_id=caller.id if caller.kind is Kind.CLIENT else None,
        project_id=project,
        state=state,
        limit=limit,
        after=after,
    )


def queue_paging(size: int, token: str) -> tuple[int, tuple[int, int] | None]:
    """A queue's page size and where the page starts: (rank, seq) of the page before's
    last item."""
    limit = paging.page_size(size, default=PAGE, maximum=PAGE_MAX)
    if not token:
        return limit, None
    first, seq = paging.decode_token(token, parts=2)
    if first not in ("0", "1"):
        raise paging.not_ours()
    return limit, (int(first), paging.token_uint(seq))
