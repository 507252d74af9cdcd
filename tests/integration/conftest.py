from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest

from crewline.db import KERNEL_MIGRATIONS, create_pool, migrate
from crewline.metrics import Metrics
from crewline.settings import KafkaSettings, PostgresSettings

from stack import create_topics, fresh_database, kafka_settings, start_infra


@pytest.fixture(scope="session")
def infra() -> None:
    start_infra()


@pytest.fixture
async def kafka(infra: None, request: pytest.FixtureRequest) -> KafkaSettings:
    """Crewline's topics in a namespace of this test's own."""
    settings = kafka_settings(request.node.name)
    await create_topics(settings)
    return settings


@pytest.fixture
async def pg(infra: None, request: pytest.FixtureRequest) -> PostgresSettings:
    """A fresh, empty database, one per test."""
    return await fresh_database(request.node.name)


@pytest.fixture
async def pool(pg: PostgresSettings) -> AsyncIterator[asyncpg.Pool]:
    """A pool on the test's database, with the kernel's tables."""
    p = await create_pool(pg)
    await migrate(p, component="kernel", directory=KERNEL_MIGRATIONS)
    yield p
    await p.close()


@pytest.fixture
def metrics() -> Metrics:
    return Metrics.create("test")
