"""The handler tier: each service's handlers called directly, on a real PostgreSQL
database of the test's own (kernel and service migrations applied) and a fake clock.
No Kafka, no gRPC: events land in the outbox table, where tests read them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from crewline.db import create_pool, migrate_service
from crewline.timekeeping import FakeClock

from stack import fresh_database, run_secrets, start_infra

SERVICES = Path(__file__).resolve().parents[2] / "services"


@pytest.fixture(scope="session")
def infra() -> None:
    start_infra()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


async def service_pool(name: str, test: str) -> asyncpg.Pool:
    pool = await create_pool(await fresh_database(f"h_{name}_{test}"))
    await migrate_service(pool, service=name, directory=SERVICES / name / "migrations")
    return pool


@pytest.fixture
async def dispatcher_deps(
    infra: None, clock: FakeClock, request: pytest.FixtureRequest
) -> AsyncIterator[object]:
    from dispatcher.deps import Deps
    from dispatcher.settings import DispatcherSettings

    pool = await service_pool("dispatcher", request.node.name)
    yield Deps.build(pool=pool, clock=clock, settings=DispatcherSettings.from_env({}))
    await pool.close()


@pytest.fixture
async def matcher_deps(
    infra: None, clock: FakeClock, request: pytest.FixtureRequest
) -> AsyncIterator[object]:
    from matcher.deps import Deps
    from matcher.settings import MatcherSettings

    pool = await service_pool("matcher", request.node.name)
    settings = MatcherSettings.from_env(
        {"CREWLINE_TOKEN_SIGNING_KEY_FILE": str(run_secrets().signing_key_file)}
    )
    yield Deps.build(pool=pool, clock=clock, settings=settings)
    await pool.close()


@pytest.fixture
async def quality_deps(
    infra: None, clock: FakeClock, request: pytest.FixtureRequest
) -> AsyncIterator[object]:
    from quality.deps import Deps
    from quality.settings import QualitySettings

    pool = await service_pool("quality", request.node.name)
    yield Deps.build(pool=pool, clock=clock, settings=QualitySettings.from_env({}))
    await pool.close()
