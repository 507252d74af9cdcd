"""Marks each test by its tier, from the folder it lives in; disruptive tests run last."""

from __future__ import annotations

import asyncio

import pytest
from aiokafka.errors import KafkaConnectionError

from stack import delete_run_topics, drop_created_databases, remove_run_secrets

_TIERS = ("unit", "handlers", "integration", "e2e")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        for tier in _TIERS:
            if f"/tests/{tier}/" in str(item.path):
                item.add_marker(getattr(pytest.mark, tier))
    # Tests that stop PostgreSQL or Kafka go last, so no other test sees the outage.
    items.sort(key=lambda item: item.get_closest_marker("disruptive") is not None)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Leave the test instance as it was: this run's databases and topics go."""
    asyncio.run(drop_created_databases())
    remove_run_secrets()
    if any(item.get_closest_marker("unit") is None for item in session.items):
        try:
            asyncio.run(delete_run_topics())
        except KafkaConnectionError:  # never started (e.g. collection failed): nothing to delete
            pass
