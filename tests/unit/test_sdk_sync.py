"""The blocking wrapper: calls and iterators run on the SDK's loop thread."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
import pytest
from unit.test_sdk_retries import Flaky, project_answer, serve

from crewline.client import Endpoints, build, sync
from crewline.v1 import task_service_pb2 as task_api


def test_a_blocking_client_calls_through_the_background_loop_with_retries() -> None:
    flaky = Flaky(1)
    server, address = sync.run(
        serve(
            "crewline.v1.TaskService",
            "CreateProject",
            flaky,
            project_answer,
            task_api.CreateProjectResponse,
            task_api.CreateProjectRequest,
        )
    )
    try:
        with sync.Client(credential="crwk_t", endpoints=Endpoints(dispatcher=address)) as client:
            project = client.create_project(
                title="t", pay_terms=build.per_submission(build.usd(5)), request_id="r1"
            )
        assert project.project_id == "p-r1"
        assert [a.request_id for a in flaky.attempts] == ["r1", "r1"]
    finally:
        sync.run(server.stop(None))


def test_an_async_iterator_becomes_a_plain_one_and_closing_it_ends_it() -> None:
    closed: list[bool] = []

    async def numbers() -> AsyncIterator[int]:
        try:
            for n in range(100):
                yield n
        finally:
            closed.append(True)

    with sync.SyncIterator(numbers()) as it:
        assert [next(it) for _ in range(3)] == [0, 1, 2]
    assert closed == [True]
    assert list(it) == []
    assert list(sync.SyncIterator(numbers())) == list(range(100))


def test_errors_cross_the_thread_as_they_are() -> None:
    async def fail() -> None:
        raise grpc.RpcError("x")

    with pytest.raises(grpc.RpcError, match="x"):
        sync.run(fail())
