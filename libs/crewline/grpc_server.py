"""The gRPC server every service runs: its servicers, health, reflection, interceptors.

The interceptors are passed in (the kit passes the kernel's edge first, see
``crewline.edge``), so every RPC of every shape passes through the same pipeline.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from crewline.tls import ServerTls

_OPTIONS = [
    # grpc core answers CANCELLED, unseen by any interceptor, to calls beyond 1,000-3,000
    # waiting for the server (seen with 4,000 ClaimTask calls in flight). Let them reach
    # the edge, which answers RESOURCE_EXHAUSTED above its limit and counts it.
    ("grpc.server.max_pending_requests", 100_000),
    ("grpc.server.max_pending_requests_hard_limit", 100_000),
]


def build_server(
    *,
    host: str,
    port: int,
    interceptors: Sequence[grpc.aio.ServerInterceptor],
    register: Iterable[Callable[[grpc.aio.Server], None]],
    service_names: Iterable[str],
    max_request_bytes: int | None = None,
    tls: ServerTls | None = None,
    reuse_port: bool = False,
) -> tuple[grpc.aio.Server, health.aio.HealthServicer]:
    """A server bound to host:port with the given servicers, health and reflection.

    Health starts NOT_SERVING; the runtime's dependency monitor flips it.
    ``max_request_bytes`` raises gRPC's 4 MiB limit on a request message, for a
    service whose contract takes larger ones. With ``tls`` the port speaks only TLS
    (and, when it names a client CA, only to clients with a certificate it signed).
    Without ``reuse_port`` (SO_REUSEPORT) a second process on the same port fails to
    start instead of silently sharing the port with the first; processes that all ask
    for it share the port, the kernel spreading connections among them.
    """
    options = [*_OPTIONS, ("grpc.so_reuseport", int(reuse_port))]
    if max_request_bytes is not None:
        options.append(("grpc.max_receive_message_length", max_request_bytes))
    server = grpc.aio.server(interceptors=list(interceptors), options=options)
    for add in register:
        add(server)
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    names = list(service_names)
    reflection.enable_server_reflection(
        [
            *names,
            health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
            reflection.SERVICE_NAME,
        ],
        server,
    )
    address = f"{host}:{port}"
    if tls is None:
        bound = server.add_insecure_port(address)
    else:
        bound = server.add_secure_port(address, tls.credentials())
    if bound == 0:
        raise OSError(f"cannot bind gRPC server to {host}:{port}")
    return server, health_servicer
