"""A lab adds gold tasks to a project, sets the share of gold, reads how the gold was
answered, and opens a second project only to contractors with a gold accuracy of 80 or
more in the first.

    CREWLINE_CREDENTIAL=<API key> python examples/sdk_gold.py PROJECT_ID

PROJECT_ID: a project with the answer spec of examples/sdk_answer_spec.py (severity,
confidence, ...). The addresses come from CREWLINE_QUALITY_GRPC_ADDR and
CREWLINE_DISPATCHER_GRPC_ADDR. Run it again and it adds nothing twice: each gold task's
idempotency key returns the gold task it made.
"""

from __future__ import annotations

import asyncio
import sys

from crewline.client import Client, gold_task, per_submission, requirement, usd
from crewline.v1 import project_pb2

IMAGES = "https://images.example.org/cases"
GOLD = [
    gold_task(
        {"image": f"{IMAGES}/101.jpg"},
        {"severity": "refer", "confidence": 0.9},  # the key: sent as compact JSON
        idempotency_key="triage-gold-1",
        tolerance={"confidence": 0.15},  # 0.75 to 1 is right
    ),
    gold_task(
        {"image": f"{IMAGES}/102.jpg"},
        {"severity": "watch"},  # confidence is not scored: it is not in the key
        idempotency_key="triage-gold-2",
        also_accepted={"severity": ["benign"]},  # a borderline case
    ),
]


async def main(project_id: str) -> None:
    async with Client() as client:
        added = await client.add_gold_tasks(project_id, GOLD)
        print(f"{len(added)} gold tasks in {project_id}")
        print(await client.set_quality_policy(project_id, gold_share_percent=10))
        async for gold in client.gold_tasks(project_id):
            print(f"{gold.idempotency_key}: {gold.correct} of {gold.answered} answered correctly")

        # Second opinions only from those who did well on the first project's gold.
        second = await client.create_project(
            title="Dermatology triage: second opinions",
            pay_terms=per_submission(usd(2500)),
            requirements=[
                requirement(
                    "quality.gold_accuracy",
                    project_pb2.COMPARATOR_GREATER_OR_EQUAL,
                    scores=[80],
                    project_id=project_id,  # measured there; empty: in this project
                )
            ],
            request_id=f"second-opinions-{project_id}",
        )
        print(f"project {second.project_id} requires {second.requirements[0]}")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
