"""Fixtures that start the three services for the e2e tier (see harness.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import grpc
import pytest

from crewline.v1 import (
    client_admin_service_pb2_grpc,
    contractor_admin_service_pb2_grpc,
    ledger_service_pb2_grpc,
    task_service_pb2_grpc,
    work_service_pb2_grpc,
)

from flow import close_sdks
from harness import SERVICES, ServiceProcess, Stack, service_env
from stack import (
    ROOT,
    RUN_ID,
    create_topics,
    fresh_database,
    kafka_settings,
    run_secrets,
    start_infra,
)


@pytest.fixture(scope="session")
def log_dir() -> Iterator[Path]:
    path = ROOT / ".local" / "log" / f"e2e-{RUN_ID}"
    path.mkdir(parents=True, exist_ok=True)
    yield path


@pytest.fixture(scope="session")
async def stack(log_dir: Path) -> AsyncIterator[Stack]:
    start_infra()
    kafka = kafka_settings("e2e")
    await create_topics(kafka)
    services: dict[str, ServiceProcess] = {}
    for name in SERVICES:
        db = await fresh_database(f"e2e_{name}")
        env, addr, metrics_url = service_env(name, kafka.namespace, db.database)
        services[name] = ServiceProcess(name, env, log_dir / f"{name}.log", addr, metrics_url)
        services[name].start()
    channels = [grpc.aio.insecure_channel(services[n].grpc_addr) for n in SERVICES]
    s = Stack(
        services=services,
        tasks=task_service_pb2_grpc.TaskServiceStub(channels[0]),
        work=work_service_pb2_grpc.WorkServiceStub(channels[1]),
        ledger=ledger_service_pb2_grpc.LedgerServiceStub(channels[2]),
        clients=client_admin_service_pb2_grpc.ClientAdminServiceStub(channels[0]),
        contractors=contractor_admin_service_pb2_grpc.ContractorAdminServiceStub(channels[1]),
        operator_credential=run_secrets().operator_credential(),
        kafka=kafka,
    )
    try:
        await s.wait_healthy()
        yield s
    finally:
        await close_sdks(s)
        for ch in channels:
            await ch.close()
        for svc in services.values():
            if svc.proc and svc.proc.poll() is None:
                svc.terminate()


@pytest.fixture
def operator_credential(stack: Stack) -> str:
    return stack.operator_credential
