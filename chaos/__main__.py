"""Crewline's chaos harness: the marketplace under a storm of faults, then the checker.

    python -m chaos [--tasks N] [--contractors N] [--clients N] [--kills N] [--pauses N]
        [--broker-kills N] [--postgres-restarts N] [--seed N] [--out DIR] [--keep]
    python -m chaos check DIR     the verdict of a finished run, again, from its files

``make chaos`` runs it with the sizes in CHAOS_ARGS. It starts a stack of its own
(state in .local/chaos; ports 61436, 61096-61097, 61061-61064, 9121-9124 and 9221-9224
unless --ports), fresh each run, and stops it at the end unless --keep.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from chaos.nemesis import FaultPlan
from chaos.run import Options, check_folder, run
from chaos.stack import Ports
from chaos.workload import Sizes


def main(argv: list[str]) -> int:
    if argv[:1] == ["check"]:
        if len(argv) != 2:
            print("usage: python -m chaos check DIR", file=sys.stderr)
            return 2
        return check_folder(Path(argv[1]))
    parser = argparse.ArgumentParser(prog="python -m chaos", description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", type=int, default=500)
    parser.add_argument("--contractors", type=int, default=30)
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--kills", type=int, default=10, help="SIGKILL of a service process")
    parser.add_argument("--pauses", type=int, default=2, help="SIGSTOP/SIGCONT of one")
    parser.add_argument("--broker-kills", type=int, default=1)
    parser.add_argument("--postgres-restarts", type=int, default=1)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=Path(".local/chaos-run"))
    parser.add_argument("--home", type=Path, default=Path(".local/chaos"))
    parser.add_argument(
        "--ports",
        default="61436,61096,61061,9121",
        help="PostgreSQL, Kafka (and + 1), first gRPC, first metrics port",
    )
    parser.add_argument("--limit", type=float, default=1800.0, help="seconds for the workload")
    parser.add_argument("--keep", action="store_true", help="leave the stack running")
    args = parser.parse_args(argv)
    pg, kafka, grpc, metrics = (int(p) for p in args.ports.split(","))
    options = Options(
        sizes=Sizes(tasks=args.tasks, contractors=args.contractors, clients=args.clients),
        faults=FaultPlan(
            kills=args.kills,
            pauses=args.pauses,
            broker_kills=args.broker_kills,
            postgres_restarts=args.postgres_restarts,
        ),
        seed=args.seed,
        home=args.home,
        ports=Ports(postgres=pg, kafka=kafka, grpc=grpc, metrics=metrics),
        out=args.out,
        limit=args.limit,
        keep=args.keep,
    )
    return asyncio.run(run(options))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
