"""Operator commands for the local stack.

python -m crewline.cli topics                     create the topics (idempotent)
python -m crewline.cli wait-healthy ADDR... [-t S]  wait until each gRPC health check says SERVING
python -m crewline.cli secrets DIR                make the local stack's keys if missing
python -m crewline.cli certs DIR [--host H]...    make a local CA, server and client certificates

wait-healthy speaks TLS when CREWLINE_TLS_CA_FILE is set (see crewline.client.tls).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from crewline import local_certs
from crewline.auth import local_secrets
from crewline.client.tls import ClientTls, aio_channel
from crewline.events import ALL_TOPICS
from crewline.kafka import ensure_topics
from crewline.settings import KafkaSettings


async def health_status(addr: str, *, timeout: float = 2.0, tls: ClientTls | None = None) -> str:
    """The overall health status name of the gRPC server at ``addr``, or UNREACHABLE
    (a TLS handshake that fails is UNREACHABLE too)."""
    async with aio_channel(addr, tls) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        try:
            reply = await stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=timeout)
        except grpc.aio.AioRpcError:
            return "UNREACHABLE"
        return str(health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status))


async def wait_healthy(
    addrs: list[str], *, timeout: float, tls: ClientTls | None = None
) -> dict[str, str]:
    """Poll until every address is SERVING or ``timeout`` passes; the last statuses."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        statuses = {a: await health_status(a, tls=tls) for a in addrs}
        if all(s == "SERVING" for s in statuses.values()) or loop.time() > deadline:
            return statuses
        await asyncio.sleep(0.25)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="crewline.cli")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("topics", help="create Crewline's topics if missing")
    wait = sub.add_parser("wait-healthy", help="wait for gRPC health checks to say SERVING")
    wait.add_argument("addrs", nargs="+")
    wait.add_argument("-t", "--timeout", type=float, default=60.0)
    secrets = sub.add_parser("secrets", help="make the local operator credential and token keys")
    secrets.add_argument("directory", type=Path)
    certs = sub.add_parser("certs", help="make a local CA, server and client certificates")
    certs.add_argument("directory", type=Path)
    certs.add_argument(
        "--host", action="append", default=[], help="another name or IP for the server"
    )
    args = parser.parse_args(argv)

    if args.command == "certs":
        hosts = [h.strip() for h in args.host if h.strip()]
        written = local_certs.ensure(args.directory, hosts=hosts).made
        print(f"certificates in {args.directory}: {', '.join(written) or 'kept as they were'}")
        return 0

    if args.command == "secrets":
        local = local_secrets.ensure(args.directory)
        if local.created:
            print(
                f"Operator credential (shown once; `make operator-credential` prints it again):\n"
                f"  {local.operator_credential()}\n  stored in {local.operator_file} (mode 0600)"
            )
        return 0

    if args.command == "topics":
        made = asyncio.run(ensure_topics(KafkaSettings.from_env(os.environ), ALL_TOPICS))
        print(f"topics: {', '.join(ALL_TOPICS)} ({len(made)} created)")
        return 0
    tls = ClientTls.from_env(os.environ)
    statuses = asyncio.run(wait_healthy(args.addrs, timeout=args.timeout, tls=tls))
    for addr, status in statuses.items():
        print(f"  {addr:<22} {status}")
    return 0 if all(s == "SERVING" for s in statuses.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
