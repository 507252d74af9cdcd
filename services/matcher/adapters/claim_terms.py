"""What a claim on a task would be granted under, cached in the process.

A task never changes project, and a project changes rarely. ClaimTask builds its
ClaimGranted event (terms, lease, client) from the project revision it expects before
it calls ``claim_task()``, which writes the event in the same statement as the grant
(one round trip). The SQL function checks the revision against the database and
answers STALE, changing nothing, when it is out of date: a stale entry costs one
retry, never a wrong claim (old terms, an old claim timeout, a paused project).

The revision also fixes the project's answer spec version, which claim_task() does not
return: a STALE answer is followed by a fresh lookup (one more query, once per project
change) rather than learnt from that answer.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import asyncpg
from cachetools import LRUCache

from crewline.money import Money
from crewline.pay_terms import Basis, PayTerms


@dataclass(frozen=True)
class Expected:
    """The task's project at one revision: what a claim copies from it."""

    project_id: str
    client_id: str
    revision: int
    terms: PayTerms
    claim_timeout_seconds: int
    answer_spec_version: int  # the claim's (claims copy it in the database: 0008)


def terms_of(row: asyncpg.Record) -> PayTerms:
    return PayTerms(
        basis=Basis(row["terms_basis"]),
        rate=Money(row["rate_currency"], row["rate_minor"]),
        max_paid_seconds=row["max_paid_seconds"],
        version=row["terms_version"],
    )


class ClaimTerms:
    def __init__(self, *, tasks: int = 200_000, projects: int = 20_000) -> None:
        self._project_of: LRUCache[uuid.UUID, str] = LRUCache(tasks)
        self._projects: LRUCache[str, Expected] = LRUCache(projects)

    async def expected(
        self, db: asyncpg.Pool | asyncpg.Connection, task_id: uuid.UUID
    ) -> Expected | None:
        """The task's project as last seen; None for an unknown task."""
        project_id = self._project_of.get(task_id)
        found = self._projects.get(project_id) if project_id is not None else None
        if found is not None:
            return found
        row = await db.fetchrow(
            "SELECT t.project_id, p.client_id, p.revision, p.claim_timeout_seconds,"
            " p.answer_spec_version, p.terms_version, p.terms_basis, p.rate_currency,"
            " p.rate_minor, p.max_paid_seconds"
            " FROM open_tasks t JOIN projects p ON p.project_id = t.project_id"
            " WHERE t.task_id = $1",
            task_id,
        )
        if row is None:
            return None
        return self._learn(task_id, row)

    async def refreshed(
        self, db: asyncpg.Pool | asyncpg.Connection, task_id: uuid.UUID
    ) -> Expected | None:
        """The task's project as the database holds it now: claim_task() found what
        was expected out of date (STALE)."""
        project_id = self._project_of.get(task_id)
        if project_id is not None:
            self._projects.pop(project_id, None)
        return await self.expected(db, task_id)

    def _learn(self, task_id: uuid.UUID, row: asyncpg.Record) -> Expected:
        expected = Expected(
            project_id=row["project_id"],
            client_id=row["client_id"],
            revision=row["revision"],
            terms=terms_of(row),
            claim_timeout_seconds=row["claim_timeout_seconds"],
            answer_spec_version=row["answer_spec_version"],
        )
        self._project_of[task_id] = expected.project_id
        self._projects[expected.project_id] = expected
        return expected
