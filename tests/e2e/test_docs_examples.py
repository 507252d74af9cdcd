"""The documentation's SDK examples (examples/*.py, included into docs/), run against the
stack as a reader would run them: the operator's set-up, then a lab's project, then the
expert's script without asyncio. (examples/sdk_client.py and sdk_contractor.py run in
test_sdk.py.)"""

from __future__ import annotations

import asyncio
import os
import sys

from crewline.client import Client, Contractor, build
from crewline.v1.project_pb2 import COMPARATOR_GREATER_OR_EQUAL

from flow import endpoints, unique
from harness import Stack
from stack import ROOT, eventually


async def run_example(stack: Stack, script: str, *args: str, **env: str) -> list[str]:
    """The lines ``examples/<script>`` prints, run with the stack's addresses and ``env``;
    it must exit 0 within two minutes."""
    given = {k: v for k, v in os.environ.items() if not k.startswith("CREWLINE_")}
    for name in stack.services:
        given[f"CREWLINE_{name.upper()}_GRPC_ADDR"] = stack.services[name].grpc_addr
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        f"examples/{script}",
        *args,
        cwd=ROOT,
        env={**given, **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), 120)
    except TimeoutError:
        proc.kill()
        out, err = await proc.communicate()
    assert proc.returncode == 0, f"{script} exited {proc.returncode}:\n{out.decode()}{err.decode()}"
    print(out.decode())
    return out.decode().splitlines()


def exported(lines: list[str], name: str) -> str:
    """The value of ``export NAME=value  # ...`` among ``lines``."""
    line = next(line for line in lines if line.startswith(f"export {name}="))
    return line.split("=", 1)[1].split()[0]


async def test_the_operator_example_sets_up_an_expert_who_claims_with_the_sync_example(
    stack: Stack,
) -> None:
    lab, expert = unique("docs-lab"), unique("docs-expert")
    setup = await run_example(
        stack,
        "sdk_operator.py",
        lab,
        expert,
        CREWLINE_OPERATOR_CREDENTIAL=stack.operator_credential,
    )
    assert setup[0] == (
        "health: dispatcher SERVING, matcher SERVING, ledger SERVING, quality SERVING"
    )
    assert setup[-1].startswith("books balanced: True")
    key, token = exported(setup, "LAB_KEY"), exported(setup, "EXPERT_TOKEN")

    # A second run keeps what exists and issues fresh credentials.
    again = await run_example(
        stack,
        "sdk_operator.py",
        lab,
        expert,
        CREWLINE_OPERATOR_CREDENTIAL=stack.operator_credential,
    )
    assert exported(again, "LAB_KEY") != key

    async with Client(credential=key, endpoints=endpoints(stack)) as client:
        project = await client.create_project(
            title="Dermatology image ratings",
            pay_terms=build.per_submission(build.usd(1250)),
            requirements=[
                build.requirement("domain.dermatology", COMPARATOR_GREATER_OR_EQUAL, scores=[80])
            ],
        )
        tasks = await client.submit_tasks(
            project.project_id, [build.task({"case": n}) for n in range(3)]
        )
    async with Contractor(credential=token, endpoints=endpoints(stack)) as me:

        async def all_offered() -> bool:  # the tasks reach the matcher through Kafka
            offers = [o.task_id async for o in me.offers(project_id=project.project_id)]
            return sorted(offers) == sorted(t.task_id for t in tasks)

        await eventually(all_offered)

    worked = await run_example(
        stack, "sdk_sync.py", project.project_id, "2", CREWLINE_CREDENTIAL=token
    )
    assert sum(line.endswith("claimed; a retry gives the same claim: True") for line in worked) == 2
    assert worked[-1] == "handed in 2"
