"""The unit tier's shared fixtures."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from grpc_standin import StandIns


@pytest.fixture(scope="module")
def servers() -> Iterator[StandIns]:
    """Stand-in dispatcher, matcher and ledger (``grpc_standin``), one set per test module;
    each command run plays its own answers on them."""
    with StandIns() as started:
        yield started
