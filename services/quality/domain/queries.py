"""Which scores a caller may read, and a page of them. Pure.

A contractor reads their own; a client one contractor's in the client's own projects
only (scores earned elsewhere are not there for it: the list is empty, as it is for a
contractor it never reviewed, so nothing leaks about other clients' work); an operator
any contractor's. Pages run by project id, then measure.
"""

from __future__ import annotations

from dataclasses import dataclass

from crewline import validate
from crewline.auth.principal import Kind, Principal
from crewline.errors import NotFound
from crewline.paging import decode_token, encode_token, not_ours, page_size, token_identifier
from quality.domain.scores import Measure, Score

PAGE = 50
PAGE_MAX = 500


@dataclass(frozen=True, kw_only=True)
class After:
    """Where a page ended: its last score's project and measure."""

    project_id: str
    measure: Measure

    def token(self) -> str:
        return encode_token(self.project_id, self.measure.value)

    @classmethod
    def from_token(cls, token: str) -> After:
        project, measure = decode_token(token, parts=2)
        try:
            return cls(project_id=token_identifier(project), measure=Measure(measure))
        except ValueError:
            raise not_ours() from None

    @classmethod
    def of(cls, score: Score) -> After:
        return cls(project_id=score.project_id, measure=score.measure)


@dataclass(frozen=True, kw_only=True)
class ScoreQuery:
    contractor_id: str
    client_id: str | None  # only this client's projects; None: every project
    project_id: str | None
    limit: int
    after: After | None


def _paging(page_size_: int, page_token: str) -> tuple[int, After | None]:
    limit = page_size(page_size_, default=PAGE, maximum=PAGE_MAX)
    return limit, After.from_token(page_token) if page_token else None


def _project(project_id: str) -> str | None:
    return validate.identifier(project_id, field="project_id") if project_id else None


def my_scores(
    caller: Principal, *, project_id: str = "", page_size: int = 0, page_token: str = ""
) -> ScoreQuery:
    """The calling contractor's own scores."""
    if caller.kind is not Kind.CONTRACTOR:
        raise NotFound(f"{caller} has no scores")
    limit, after = _paging(page_size, page_token)
    return ScoreQuery(
        contractor_id=caller.id,
        client_id=None,
        project_id=_project(project_id),
        limit=limit,
        after=after,
    )


def contractor_scores(
    caller: Principal,
    contractor_id: str,
    *,
    project_id: str = "",
    page_size: int = 0,
    page_token: str = "",
) -> ScoreQuery:
    """One contractor's scores as ``caller`` may see them. The fields are checked
    first, so a malformed one is INVALID_ARGUMENT whoever asks."""
    validate.identifier(contractor_id, field="contractor_id")
    project = _project(project_id)
    limit, after = _paging(page_size, page_token)
    if caller.kind is Kind.CONTRACTOR and contractor_id != caller.id:
        raise NotFound(f"contractor {contractor_id} not found")
    return ScoreQuery(
        contractor_id=contractor_id,
        client_id=caller.id if caller.kind is Kind.CLIENT else None,
        project_id=project,
        limit=limit,
        after=after,
    )
