"""A lab declares the shape of its results, then changes it.

    CREWLINE_CREDENTIAL=<API key> python examples/sdk_answer_spec.py

It creates a project whose results are JSON objects of four fields: a choice, a number
on a scale, free text and a rubric. Then it adds a label, which makes a new version of
the spec: claims granted from then on answer to it, claims granted before keep theirs.
The dispatcher's address comes from CREWLINE_DISPATCHER_GRPC_ADDR.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from crewline.client import (
    Client,
    answer_spec,
    choice_field,
    criterion,
    number_field,
    per_submission,
    rubric_field,
    text_field,
    usd,
)
from crewline.v1 import project_pb2

SEVERITIES = ["benign", "watch", "refer"]


def triage_spec(severities: Sequence[str]) -> project_pb2.AnswerSpec:
    return answer_spec(
        choice_field("severity", severities, prompt="How urgently should this be seen?"),
        number_field("confidence", min=0, max=1, step=0.05, prompt="How sure are you?"),
        text_field("notes", max_length=2000, optional=True, prompt="What did you see?"),
        rubric_field(
            "quality",
            [
                criterion("focus", min=1, max=5, step=1, description="Is the lesion sharp?"),
                criterion("lighting", min=1, max=5, step=1, description="Is it evenly lit?"),
            ],
            prompt="Rate the photograph itself.",
        ),
    )


async def main() -> None:
    async with Client() as client:
        project = await client.create_project(
            title="Dermatology triage",
            instructions="Look at the photograph and answer every question.",
            pay_terms=per_submission(usd(1250)),
            answer_spec=triage_spec(SEVERITIES),
        )
        print(f"project {project.project_id}: {project.answer_spec}")

        # A new label: the spec's next version. Claims already granted keep theirs.
        change = project_pb2.Project(
            project_id=project.project_id, answer_spec=triage_spec([*SEVERITIES, "urgent"])
        )
        updated = await client.update_project(
            change, paths=["answer_spec"], expected_revision=project.revision
        )
        print(f"now {updated.answer_spec}")


if __name__ == "__main__":
    asyncio.run(main())
