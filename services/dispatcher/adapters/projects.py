"""SQL for projects, their pay terms and the qualification types replica.

Every function runs on the caller's connection.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

import asyncpg

from crewline import answers
from crewline.answers import AnswerSpec
from crewline.money import Money
from crewline.pay_terms import Basis, PayTerms
from crewline.qualifications import Kind, Requirement
from dispatcher.domain.projects import NO_SPEC, ListProjects, Project, ProjectState

# A project with its current pay terms.
_SELECT = (
    "SELECT p.*, t.basis, t.rate_currency, t.rate_minor, t.max_paid_seconds, t.effective_at"
    " FROM projects p JOIN project_pay_terms t"
    " ON t.project_id = p.project_id AND t.version = p.terms_version"
)


def _terms(row: asyncpg.Record, version: int) -> PayTerms:
    return PayTerms(
        basis=Basis(row["basis"]),
        rate=Money(row["rate_currency"], row["rate_minor"]),
        max_paid_seconds=row["max_paid_seconds"],
        version=version,
        effective_at=row["effective_at"],
    )


def _project(row: asyncpg.Record) -> Project:
    return Project(
        project_id=row["project_id"],
        client_id=row["client_id"],
        title=row["title"],
        instructions=row["instructions"],
        requirements=tuple(Requirement.from_json(r) for r in json.loads(row["requirements"])),
        pay_terms=_terms(row, row["terms_version"]),
        assignments_per_task=row["assignments_per_task"],
        claim_timeout_seconds=row["claim_timeout_seconds"],
        task_lifetime_seconds=row["task_lifetime_seconds"],
        auto_accept_delay_seconds=row["auto_accept_delay_seconds"],
        priority=row["priority"],
        max_claims_per_contractor=row["max_claims_per_contractor"],
        answer_spec=_answer_spec(row["answer_spec"]),
        revision=row["revision"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        state=ProjectState(row["state"]),
    )


def _requirements(project: Project) -> str:
    return json.dumps([r.to_json() for r in project.requirements])


def _answer_spec(stored: str | None) -> AnswerSpec:
    return NO_SPEC if stored is None else answers.from_json(json.loads(stored))


def _answer_spec_json(spec: AnswerSpec) -> str | None:
    """NULL for a project that never had a spec (version 0), else the version, whose
    fields may be none (the spec was removed)."""
    return json.dumps(answers.to_json(spec)) if spec.version else None


async def insert_project(
    conn: asyncpg.Connection, project: Project, *, request_id: str, fingerprint: str
) -> bool:
    """Insert with its first pay terms unless (client, request id) exists; False if it did."""
    inserted = await conn.fetchval(
        "INSERT INTO projects (project_id, client_id, request_id, fingerprint, title,"
        " instructions, requirements, assignments_per_task, claim_timeout_seconds,"
        " task_lifetime_seconds, auto_accept_delay_seconds, priority,"
        " max_claims_per_contractor, terms_version, revision, created_at, updated_at, state,"
        " answer_spec)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8, $9, $10, $11, $12, $13, $14, $15,"
        " $16, $17, $18, $19::json)"
        " ON CONFLICT (client_id, request_id) DO NOTHING RETURNING true",
        project.project_id,
        project.client_id,
        request_id,
        fingerprint,
        project.title,
        project.instructions,
        _requirements(project),
        project.assignments_per_task,
        project.claim_timeout_seconds,
        project.task_lifetime_seconds,
        project.auto_accept_delay_seconds,
        project.priority,
        project.max_claims_per_contractor,
        project.pay_terms.version,
        project.revision,
        project.created_at,
        project.updated_at,
        project.state.value,
        _answer_spec_json(project.answer_spec),
    )
    if inserted:
        await insert_pay_terms(conn, project)
    return bool(inserted)


async def insert_pay_terms(conn: asyncpg.Connection, project: Project) -> None:
    """The project's current terms, as their version."""
    terms = project.pay_terms
    await conn.execute(
        "INSERT INTO project_pay_terms (project_id, version, basis, rate_currency, rate_minor,"
        " max_paid_seconds, effective_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        project.project_id,
        terms.version,
        terms.basis.value,
        terms.rate.currency,
        terms.rate.amount_minor,
        terms.max_paid_seconds,
        terms.effective_at,
    )


async def save_project(conn: asyncpg.Connection, project: Project) -> None:
    """Store a changed project (its new pay terms version, if any, goes separately; its
    answer spec is only ever the current one)."""
    await conn.execute(
        "UPDATE projects SET title = $2, instructions = $3, requirements = $4::jsonb,"
        " assignments_per_task = $5, claim_timeout_seconds = $6, task_lifetime_seconds = $7,"
        " auto_accept_delay_seconds = $8, priority = $9, max_claims_per_contractor = $10,"
        " terms_version = $11, revision = $12, updated_at = $13, state = $14,"
        " answer_spec = $15::json"
        " WHERE project_id = $1",
        project.project_id,
        project.title,
        project.instructions,
        _requirements(project),
        project.assignments_per_task,
        project.claim_timeout_seconds,
        project.task_lifetime_seconds,
        project.auto_accept_delay_seconds,
        project.priority,
        project.max_claims_per_contractor,
        project.pay_terms.version,
        project.revision,
        project.updated_at,
        project.state.value,
        _answer_spec_json(project.answer_spec),
    )


async def project_by_request(
    conn: asyncpg.Connection, *, client_id: str, request_id: str
) -> tuple[Project, str] | None:
    """The project a request id created, with the fingerprint of that request."""
    row = await conn.fetchrow(
        f"{_SELECT} WHERE p.client_id = $1 AND p.request_id = $2", client_id, request_id
    )
    return (_project(row), row["fingerprint"]) if row else None


async def get_project(
    conn: asyncpg.Connection, project_id: str, *, for_update: bool = False, share: bool = False
) -> Project | None:
    """``for_update`` to change it; ``share`` to rely on its state (closed or not) until
    commit: concurrent readers share, a change waits."""
    # NO KEY UPDATE: an update never changes the key, so it need not block key-share locks.
    lock = " FOR NO KEY UPDATE OF p" if for_update else (" FOR SHARE OF p" if share else "")
    row = await conn.fetchrow(f"{_SELECT} WHERE p.project_id = $1{lock}", project_id)
    return _project(row) if row else None


async def client_holds(conn: asyncpg.Connection, client_id: str, project_id: str) -> bool:
    """Whether ``project_id`` is the client's: a project of theirs, or the project id
    their tasks from before projects hold (no project row names it)."""
    return bool(
        await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM projects WHERE project_id = $1 AND client_id = $2)"
            " OR EXISTS (SELECT 1 FROM tasks WHERE project_id = $1 AND client_id = $2)",
            project_id,
            client_id,
        )
    )


async def projects_of_client(
    conn: asyncpg.Connection, client_id: str, project_ids: Iterable[str]
) -> set[str]:
    """Which of ``project_ids`` are the client's projects."""
    rows = await conn.fetch(
        "SELECT project_id FROM projects WHERE client_id = $1 AND project_id = ANY($2::text[])",
        client_id,
        list(project_ids),
    )
    return {r["project_id"] for r in rows}


async def pay_terms_history(conn: asyncpg.Connection, project_id: str) -> list[PayTerms]:
    rows = await conn.fetch(
        "SELECT * FROM project_pay_terms WHERE project_id = $1 ORDER BY version", project_id
    )
    return [_terms(r, r["version"]) for r in rows]


async def list_projects(conn: asyncpg.Connection, query: ListProjects) -> list[Project]:
    """One page, newest first, plus one more row when there is a next page."""
    after = query.after
    cursor = " AND (p.created_at, p.project_id) < ($2, $3)" if after else ""
    rows = await conn.fetch(
        f"{_SELECT} WHERE p.client_id = $1{cursor}"
        f" ORDER BY p.created_at DESC, p.project_id DESC LIMIT {query.page_size + 1:d}",
        query.client_id,
        *((after.at, after.id) if after else ()),
    )
    return [_project(r) for r in rows]


async def qualification_kinds(conn: asyncpg.Connection, names: Iterable[str]) -> dict[str, Kind]:
    """The kinds of the named qualification types the dispatcher knows of."""
    rows = await conn.fetch(
        "SELECT name, kind FROM qualification_types WHERE name = ANY($1::text[])", list(names)
    )
    return {r["name"]: Kind(r["kind"]) for r in rows}


async def upsert_qualification_type(conn: asyncpg.Connection, name: str, kind: Kind) -> None:
    await conn.execute(
        "INSERT INTO qualification_types (name, kind) VALUES ($1, $2)"
        " ON CONFLICT (name) DO UPDATE SET kind = EXCLUDED.kind",
        name,
        kind.value,
    )
