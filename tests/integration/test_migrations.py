"""Versioned migrations against real PostgreSQL."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import asyncpg

from crewline.db import KERNEL_MIGRATIONS, create_pool, load_migrations, migrate, migrate_service
from crewline.settings import PostgresSettings

SERVICES = Path(__file__).parents[2] / "services"


async def test_every_service_migrates_once_even_when_replicas_start_together(
    pg: PostgresSettings,
) -> None:
    for name in ("dispatcher", "matcher", "ledger", "quality"):
        pool = await create_pool(pg)
        try:
            async with pool.acquire() as conn:
                await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
            replicas = [
                migrate_service(pool, service=name, directory=SERVICES / name / "migrations")
                for _ in range(3)
            ]
            await asyncio.gather(*replicas)
            rows = await pool.fetch("SELECT component, version FROM schema_migrations")
            expected = {("kernel", m.version) for m in load_migrations(KERNEL_MIGRATIONS)} | {
                (name, m.version) for m in load_migrations(SERVICES / name / "migrations")
            }
            assert {(r["component"], r["version"]) for r in rows} == expected
            # Again: nothing left to apply.
            await migrate_service(pool, service=name, directory=SERVICES / name / "migrations")
            assert await pool.fetchval("SELECT count(*) FROM schema_migrations") == len(expected)
        finally:
            await pool.close()


async def test_a_failing_migration_leaves_nothing_half_applied(
    pg: PostgresSettings, tmp_path: Path
) -> None:
    (tmp_path / "0001_good.sql").write_text("CREATE TABLE good (id int);")
    (tmp_path / "0002_bad.sql").write_text("CREATE TABLE half (id int); SELECT no_such_fn();")
    pool = await create_pool(pg)
    try:
        try:
            await migrate_service(pool, service="broken", directory=tmp_path)
        except asyncpg.exceptions.UndefinedFunctionError:
            pass
        else:
            raise AssertionError("the bad migration must fail")
        tables = {r["tablename"] for r in await pool.fetch("SELECT tablename FROM pg_tables")}
        assert "good" in tables and "half" not in tables
        versions = await pool.fetch(
            "SELECT version FROM schema_migrations WHERE component = 'broken'"
        )
        assert [r["version"] for r in versions] == [1]
    finally:
        await pool.close()


async def test_a_migration_outlasting_the_pools_command_timeout_still_completes(
    pg: PostgresSettings, tmp_path: Path
) -> None:
    (tmp_path / "0001_slow.sql").write_text("SELECT pg_sleep(1.5); CREATE TABLE slow (id int);")
    pool = await asyncpg.create_pool(dsn=pg.dsn, min_size=0, command_timeout=0.5)
    try:
        await migrate(pool, component="slow", directory=tmp_path)
        assert await pool.fetchval("SELECT to_regclass('slow') IS NOT NULL")
    finally:
        await pool.close()


async def test_dispatcher_projects_migration_keeps_tasks_from_before_projects(
    pg: PostgresSettings, tmp_path: Path
) -> None:
    directory = SERVICES / "dispatcher" / "migrations"
    for m in load_migrations(directory):
        if m.version < 3:
            (tmp_path / f"{m.name}.sql").write_text(m.sql)
    pool = await create_pool(pg)
    try:
        await migrate_service(pool, service="dispatcher", directory=tmp_path)
        await pool.execute(
            "INSERT INTO tasks (task_id, client_id, request_id, fingerprint, project_id, status,"
            " slots, reward_currency, reward_minor, instructions, created_at)"
            " VALUES (gen_random_uuid(), 'acme', 'req-1', 'f', 'derm ratings (old)', 'open',"
            " 2, 'USD', 900, 'Rate it.', '2026-01-01T00:00:00Z')"
        )
        await pool.execute(
            "INSERT INTO submissions (submission_id, task_id, contractor_id, status,"
            " reward_currency, reward_minor, result, submitted_at)"
            " SELECT gen_random_uuid(), task_id, 'ann', 'pending_review', 'USD', 900, 'ok',"
            " created_at FROM tasks"
        )
        await migrate_service(pool, service="dispatcher", directory=directory)
        task = await pool.fetchrow("SELECT * FROM tasks")
        assert (task["idempotency_key"], task["project_id"]) == ("req-1", "derm ratings (old)")
        assert task["updated_at"] == task["created_at"]
        assert (task["expires_at"] - task["created_at"]).days == 7
        assert (task["payload_json"], task["payload_bytes"], task["priority"]) == (None, None, 0)
        assert await pool.fetchval("SELECT reward_minor FROM submissions") == 900
    finally:
        await pool.close()


async def test_a_pooled_connection_comes_back_without_the_callers_transaction_or_locks(
    pg: PostgresSettings,
) -> None:
    """The pool skips asyncpg's reset query (one round trip per checkout): what it still
    guarantees, and the migration lock, the one session-level lock, given back."""
    pool = await create_pool(dataclasses.replace(pg, pool_max_size=1))
    try:
        await migrate(pool, component="kernel", directory=KERNEL_MIGRATIONS)
        async with pool.acquire() as conn:
            tx = conn.transaction()
            await tx.start()
            await conn.execute("SELECT pg_advisory_xact_lock(42)")
            await conn.execute("CREATE TABLE left_open (x int)")
            # Released without commit or rollback (a cancelled handler, say).
        async with pool.acquire() as conn:  # the one connection again
            assert not conn.is_in_transaction()
            assert await conn.fetchval("SELECT to_regclass('left_open')") is None
            held = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = $1"
            assert await conn.fetchval(held, conn.get_server_pid()) == 0
    finally:
        await pool.close()
