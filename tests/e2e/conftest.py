"""Fixtures that start the four services for the e2e tier (see harness.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from flow import running_stack
from gold_flow import LiveOffers
from harness import Stack
from stack import ROOT, RUN_ID


@pytest.fixture(scope="session")
def log_dir() -> Iterator[Path]:
    path = ROOT / ".local" / "log" / f"e2e-{RUN_ID}"
    path.mkdir(parents=True, exist_ok=True)
    yield path


@pytest.fixture(scope="session")
async def stack(log_dir: Path) -> AsyncIterator[Stack]:
    async with running_stack("e2e", log_dir) as s:
        yield s


@pytest.fixture
def operator_credential(stack: Stack) -> str:
    return stack.operator_credential


@pytest.fixture
async def streams() -> AsyncIterator[list[LiveOffers]]:
    """Live StreamOffers calls a test opens (``LiveOffers``), closed after it."""
    opened: list[LiveOffers] = []
    yield opened
    for s in opened:
        await s.close()
