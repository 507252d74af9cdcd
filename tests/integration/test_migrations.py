"""Versioned migrations against real PostgreSQL."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg

from crewline.db import KERNEL_MIGRATIONS, create_pool, load_migrations, migrate, migrate_service
from crewline.settings import PostgresSettings

SERVICES = Path(__file__).parents[2] / "services"


async def test_every_service_migrates_once_even_when_replicas_start_together(
    pg: PostgresSettings,
) -> None:
    for name in ("dispatcher", "matcher", "ledger"):
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
