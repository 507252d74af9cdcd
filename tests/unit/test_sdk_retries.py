"""The SDK's retry policy, as gRPC applies it (to crewctl's calls too): a loopback server that
fails on purpose.

No Crewline service runs here: the server is a stand-in that answers UNAVAILABLE or
RESOURCE_EXHAUSTED a set number of times and records every attempt, so the test sees
what gRPC's own retries sent (the e2e tier checks the real services' idempotency).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import grpc
import pytest
from click.testing import CliRunner, Result

from crewline.client import Client, Endpoints, Operator, Overloaded, Unavailable, build
from crewline.ctl.main import cli
from crewline.v1 import contractor_admin_service_pb2 as contractor_admin
from crewline.v1 import project_pb2
from crewline.v1 import task_service_pb2 as task_api


@dataclass
class Flaky:
    """Fails the first ``failures`` attempts with ``code``, then answers."""

    failures: int
    code: grpc.StatusCode = grpc.StatusCode.UNAVAILABLE
    attempts: list[Any] = field(default_factory=list)
    metadata: list[dict[str, str]] = field(default_factory=list)

    def handler(self, answer: Callable[[Any], Any]) -> Callable[..., Any]:
        async def handle(request: Any, context: grpc.aio.ServicerContext) -> Any:
            self.attempts.append(request)
            self.metadata.append(dict(context.invocation_metadata() or ()))
            if len(self.attempts) <= self.failures:
                await context.abort(self.code, "try again")
            return answer(request)

        return handle


def project_answer(request: task_api.CreateProjectRequest) -> task_api.CreateProjectResponse:
    return task_api.CreateProjectResponse(
        project=project_pb2.Project(project_id=f"p-{request.request_id}", title=request.title)
    )


def token_answer(
    request: contractor_admin.IssueContractorTokenRequest,
) -> contractor_admin.IssueContractorTokenResponse:
    return contractor_admin.IssueContractorTokenResponse(secret="s")


async def serve(
    service: str, method: str, flaky: Flaky, answer: Callable[[Any], Any], reply: Any, request: Any
) -> tuple[grpc.aio.Server, str]:
    server = grpc.aio.server()
    handler = grpc.unary_unary_rpc_method_handler(
        flaky.handler(answer),
        request_deserializer=request.FromString,
        response_serializer=reply.SerializeToString,
    )
    server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler(service, {method: handler}),)
    )
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    return server, f"127.0.0.1:{port}"


async def serve_tokens(flaky: Flaky) -> tuple[grpc.aio.Server, str]:
    """A stand-in matcher whose IssueContractorToken is ``flaky``."""
    return await serve(
        "crewline.v1.ContractorAdminService",
        "IssueContractorToken",
        flaky,
        token_answer,
        contractor_admin.IssueContractorTokenResponse,
        contractor_admin.IssueContractorTokenRequest,
    )


@pytest.fixture
async def flaky_projects(request: pytest.FixtureRequest) -> AsyncIterator[tuple[Flaky, str]]:
    flaky: Flaky = request.param
    server, address = await serve(
        "crewline.v1.TaskService",
        "CreateProject",
        flaky,
        project_answer,
        task_api.CreateProjectResponse,
        task_api.CreateProjectRequest,
    )
    try:
        yield flaky, address
    finally:
        await server.stop(None)


def client_at(address: str) -> Client:
    return Client(credential="crwk_test", endpoints=Endpoints(dispatcher=address), timeout=20)


@pytest.mark.parametrize(
    "flaky_projects",
    [Flaky(2, grpc.StatusCode.UNAVAILABLE), Flaky(2, grpc.StatusCode.RESOURCE_EXHAUSTED)],
    indirect=True,
)
async def test_an_idempotent_call_is_retried_with_the_request_id_it_was_given_first(
    flaky_projects: tuple[Flaky, str],
) -> None:
    flaky, address = flaky_projects
    async with client_at(address) as client:
        project = await client.create_project(
            title="t", pay_terms=build.per_submission(build.usd(100))
        )
    made = [a.request_id for a in flaky.attempts]
    assert len(made) == 3 and len(set(made)) == 1 and made[0]  # generated once, kept
    assert project.project_id == f"p-{made[0]}"
    assert {m["authorization"] for m in flaky.metadata} == {"Bearer crwk_test"}


@pytest.mark.parametrize(
    "flaky_projects", [Flaky(99, grpc.StatusCode.RESOURCE_EXHAUSTED)], indirect=True
)
async def test_overload_that_outlasts_the_retries_is_raised_as_overloaded(
    flaky_projects: tuple[Flaky, str],
) -> None:
    flaky, address = flaky_projects
    async with client_at(address) as client:
        with pytest.raises(Overloaded) as caught:
            await client.create_project(
                title="t", pay_terms=build.per_submission(build.usd(1)), request_id="mine"
            )
    assert caught.value.code == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert [a.request_id for a in flaky.attempts] == ["mine"] * 5  # gRPC's cap on attempts


async def test_a_call_that_would_do_something_new_each_time_is_not_retried() -> None:
    flaky = Flaky(1)
    server, address = await serve_tokens(flaky)
    try:
        async with Operator(credential="crwo_x", endpoints=Endpoints(matcher=address)) as op:
            with pytest.raises(Unavailable):
                await op.issue_token("ann")
            assert len(flaky.attempts) == 1
            assert (await op.issue_token("ann")).secret == "s"
    finally:
        await server.stop(None)


async def test_one_channel_serves_every_call_of_an_object() -> None:
    flaky = Flaky(0)
    server, address = await serve(
        "crewline.v1.TaskService",
        "CreateProject",
        flaky,
        project_answer,
        task_api.CreateProjectResponse,
        task_api.CreateProjectRequest,
    )
    try:
        async with client_at(address) as client:
            terms = build.per_submission(build.usd(1))
            await client.create_project(title="a", pay_terms=terms)
            first = client._rpc.channel("dispatcher")
            await client.create_project(title="b", pay_terms=terms)
            assert client._rpc.channel("dispatcher") is first
        assert client._rpc._channels == {}  # closed on leaving the block
    finally:
        await server.stop(None)


def crewctl(*args: str, **addresses: str) -> Result:
    """crewctl as a user runs it, at these addresses (``dispatcher=...``), with a credential."""
    env = {f"CREWLINE_{name.upper()}_GRPC_ADDR": at for name, at in addresses.items()}
    env |= {"CREWLINE_CREDENTIAL": "crwk_test", "CREWLINE_OPERATOR_CREDENTIAL": "crwo_x"}
    return CliRunner().invoke(cli, ["--json", *args], env=env, prog_name="crewctl")


@pytest.mark.parametrize(
    "flaky_projects",
    [Flaky(2, grpc.StatusCode.UNAVAILABLE), Flaky(2, grpc.StatusCode.RESOURCE_EXHAUSTED)],
    indirect=True,
)
async def test_crewctl_retries_what_the_sdk_retries(flaky_projects: tuple[Flaky, str]) -> None:
    flaky, address = flaky_projects
    # crewctl is synchronous: it runs on a thread while this loop serves.
    result = await asyncio.to_thread(
        crewctl,
        "project",
        "create",
        "t",
        "--reward",
        "1",
        "USD",
        "--request-id",
        "r-1",
        dispatcher=address,
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["project_id"] == "p-r-1"
    assert [a.request_id for a in flaky.attempts] == ["r-1"] * 3


async def test_crewctl_does_not_retry_what_the_sdk_does_not() -> None:
    flaky = Flaky(1)
    server, address = await serve_tokens(flaky)
    try:
        result = await asyncio.to_thread(crewctl, "contractor", "token", "ann", matcher=address)
        assert result.exit_code == 5 and "UNAVAILABLE" in result.stderr
        assert len(flaky.attempts) == 1
    finally:
        await server.stop(None)
