"""PostgreSQL: the asyncpg pool and versioned SQL migrations.

Each service owns one database. Its migrations live in ``migrations/NNNN_name.sql``
beside the service; the kernel's own tables (outbox, inbox, deadlines) are a
second migration set, ``component='kernel'``, applied to every service database.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from crewline.log import get_logger
from crewline.settings import PostgresSettings

log = get_logger(__name__)

KERNEL_MIGRATIONS = Path(__file__).parent / "migrations"
_MIGRATION_FILE = re.compile(r"(\d{4})_[a-z0-9_]+\.sql")
# Any fixed number will do: it serialises migrations between replicas starting at once.
_MIGRATION_LOCK = 0x6372_6577_6C69_6E65 & 0x7FFF_FFFF_FFFF_FFFF

_MIGRATION_TIMEOUT = 24 * 3600.0

# Errors that mean "try the same thing again": the database is not reachable right
# now, or it refused this attempt for a reason that passes (a deadlock, a
# serialisation failure, a lock it could not get, a cancelled statement).
TRANSIENT_DB_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    ConnectionError,
    TimeoutError,
    asyncpg.exceptions.InterfaceError,
    # The client's protocol state was left mid-operation by a dropped server
    # (seen when PostgreSQL restarts under a busy pool): the connection is discarded.
    asyncpg.exceptions.InternalClientError,
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.TooManyConnectionsError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CrashShutdownError,
    asyncpg.exceptions.SerializationError,
    asyncpg.exceptions.DeadlockDetectedError,
    asyncpg.exceptions.LockNotAvailableError,
    asyncpg.exceptions.QueryCanceledError,
)


async def create_pool(settings: PostgresSettings) -> asyncpg.Pool:
    """A pool that opens connections lazily, so a service starts while PostgreSQL is down."""
    pool = await asyncpg.create_pool(
        dsn=settings.dsn,
        min_size=0,
        max_size=settings.pool_max_size,
        command_timeout=30,
        max_inactive_connection_lifetime=60,
        reset=_release_as_is,
    )
    assert pool is not None
    return pool


async def _release_as_is(conn: asyncpg.Connection) -> None:
    """What a connection needs on its way back to the pool beyond asyncpg's own step
    (which rolls back a transaction left open): nothing. asyncpg's default also sends
    ``SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL`` - one more round
    trip per checkout, the price of one more statement on every request and every group
    of events. Crewline leaves no session state on pooled connections: advisory locks are
    transaction-scoped (the migration lock is released where it is taken), cursors live in
    transactions, settings are ``SET LOCAL`` / ``set_config(..., true)``, and LISTEN has
    connections of its own (the watch and offer hubs)."""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def load_migrations(directory: Path) -> list[Migration]:
    """Numbered SQL files in order; a misnamed or repeated number is an error."""
    found: dict[int, Migration] = {}
    for path in sorted(directory.glob("*.sql")):
        match = _MIGRATION_FILE.fullmatch(path.name)
        if not match:
            raise ValueError(f"migration {path} is not named NNNN_name.sql")
        version = int(match.group(1))
        if version in found:
            raise ValueError(f"migration version {version} appears twice in {directory}")
        found[version] = Migration(version, path.stem, path.read_text())
    return [found[v] for v in sorted(found)]


async def migrate(pool: asyncpg.Pool, *, component: str, directory: Path) -> list[int]:
    """Apply the component's pending migrations, each in its own transaction.

    Returns the versions applied. Safe to run from several replicas at once.
    """
    migrations = load_migrations(directory)
    applied: list[int] = []
    async with pool.acquire() as conn:
        # Lock first: even CREATE TABLE IF NOT EXISTS races between replicas.
        await conn.execute("SELECT pg_advisory_lock($1)", _MIGRATION_LOCK)
        try:
            await conn.execute(
                """CREATE TABLE IF NOT EXISTS schema_migrations (
                       component text NOT NULL,
                       version integer NOT NULL,
                       name text NOT NULL,
                       applied_at timestamptz NOT NULL DEFAULT now(),
                       PRIMARY KEY (component, version))"""
            )
            done = {
                r["version"]
                for r in await conn.fetch(
                    "SELECT version FROM schema_migrations WHERE component = $1", component
                )
            }
            for m in migrations:
                if m.version in done:
                    continue
                async with conn.transaction():
                    # No command timeout: a long migration must finish, not retry forever.
                    await conn.execute(m.sql, timeout=_MIGRATION_TIMEOUT)
                    await conn.execute(
                        "INSERT INTO schema_migrations (component, version, name)"
                        " VALUES ($1, $2, $3)",
                        component,
                        m.version,
                        m.name,
                    )
                applied.append(m.version)
                log.info("migration_applied", component=component, migration=m.name)
        finally:
            try:
                await conn.execute("SELECT pg_advisory_unlock($1)", _MIGRATION_LOCK)
            except BaseException:
                # The pool keeps no session state for us (``_release_as_is``): a
                # connection that may still hold the session-level lock is closed.
                conn.terminate()
                raise
    return applied


async def migrate_service(pool: asyncpg.Pool, *, service: str, directory: Path) -> None:
    """The kernel's tables, then the service's own."""
    await migrate(pool, component="kernel", directory=KERNEL_MIGRATIONS)
    await migrate(pool, component=service, directory=directory)


class Where:
    """A WHERE clause of only the filters a query was given, with numbered parameters.

    Leaving absent filters out of the statement (rather than ``$n IS NULL OR ...``) gives
    each shape its own plan, one that walks its index from the cursor. Each ``{}`` in a
    condition takes the next value as a parameter.
    """

    def __init__(self, condition: str, *values: object) -> None:
        self.args: list[object] = []
        self._conditions: list[str] = []
        self.add(condition, *values)

    def add(self, condition: str, *values: object) -> None:
        numbered = []
        for value in values:
            self.args.append(value)
            numbered.append(f"${len(self.args)}")
        self._conditions.append(condition.format(*numbered))

    @property
    def sql(self) -> str:
        return " AND ".join(self._conditions)
