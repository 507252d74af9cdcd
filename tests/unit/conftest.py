"""The unit tier's shared fixtures."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from crewctl_golden.harness import Crewctl
from grpc_standin import StandIns


@pytest.fixture(scope="module")
def servers() -> Iterator[StandIns]:
    """Stand-in dispatcher, matcher, ledger and quality (``grpc_standin``), one set per test
    module; each command run plays its own answers on them."""
    with StandIns() as started:
        yield started


@pytest.fixture
def as_client(servers: StandIns, tmp_path: Path) -> Crewctl:
    return Crewctl(servers, caller="client", cwd=tmp_path)


@pytest.fixture
def as_operator(servers: StandIns, tmp_path: Path) -> Crewctl:
    return Crewctl(servers, caller="operator", cwd=tmp_path)
