"""The answers bench's stage (see ``bench.answers``): two projects of one client with the
same pay terms, one with a five-field answer spec; contractors with real tokens; their
claims, granted through ClaimTask; and the results they hand in.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg

from bench import answers_raw
from bench.common import (
    Stack,
    new_client,
    new_contractors,
    new_project,
    submit_tasks,
    task_specs,
    wait_pooled,
)
from crewline.client import (
    answer_spec,
    choice_field,
    criterion,
    number_field,
    rubric_field,
    text_field,
)
from crewline.client.metadata import bearer_metadata
from crewline.v1 import project_pb2
from crewline.v1 import work_service_pb2 as work_api
from tools.demo_rpc import Metadata, bounded, call

CONTRACTORS = 300  # each may hold 100 live claims; the bench grants each 86
CALLS, WARMUP = 4_000, 400  # timed SubmitWork calls per side and load, and unmeasured first
LOADS = (16, 1)  # calls in flight: the matcher kept busy (closed loop), then one at a time
RESULT_BYTES = 400
# ANSWERS_CALIBRATE=1: the "on" project has no spec either, so both sides do the same
# work and the ratios show the bench's own noise (an A/A run).
CALIBRATE = os.environ.get("ANSWERS_CALIBRATE") == "1"
SETUP_IN_FLIGHT = 64
VERDICTS = ("correct", "partly_correct", "incorrect", "unsafe")
ISSUES = ("factual_error", "missing_context", "tone", "formatting", "outdated", "none")
CRITERIA = ("accuracy", "clarity", "completeness")
WHY = "It names the right drug but gives the adult dose for a child, without the weight limit. "


def spec() -> project_pb2.AnswerSpec:
    return answer_spec(
        choice_field("verdict", VERDICTS, prompt="Is the model's answer right?"),
        choice_field("issues", ISSUES, multiple=True, prompt="What is wrong with it?"),
        number_field("confidence", min=0, max=1, step=0.05, prompt="How sure are you?"),
        text_field("rationale", min_length=20, max_length=2000, prompt="Why?"),
        rubric_field(
            "quality",
            [criterion(c, min=1, max=5, step=1) for c in CRITERIA],
            prompt="Rate the answer.",
        ),
    )


def result(i: int) -> str:
    """Result i: valid under ``spec()``, exactly RESULT_BYTES bytes (the text fills it)."""
    answer: dict[str, Any] = {
        "verdict": VERDICTS[i % len(VERDICTS)],
        "issues": sorted({ISSUES[i % len(ISSUES)], ISSUES[(i // 4 + 3) % len(ISSUES)]}),
        "confidence": round(i % 21 * 0.05, 2),
        "rationale": "",
        "quality": {c: 1 + (i + k) % 5 for k, c in enumerate(CRITERIA)},
    }
    room = RESULT_BYTES - len(json.dumps(answer, separators=(",", ":")))
    answer["rationale"] = (WHY * (1 + room // len(WHY)))[:room]
    text = json.dumps(answer, separators=(",", ":"))
    assert len(text.encode()) == RESULT_BYTES, "ASCII only: one byte a character"
    return text


@dataclass
class Side:
    """One project's claims, handed in in order (claim i with result i)."""

    name: str
    project_id: str
    claims: list[str]  # claim i was granted to contractor token_of[i]
    token_of: list[int]
    done: int = 0  # claims submitted so far (timed or not)


@dataclass(frozen=True)
class Setup:
    tokens: list[str]
    off: Side
    on: Side
    raw: Side  # live claims of the project without a spec, for the raw baseline
    profiled: tuple[Side, Side]  # off, on


async def _claimed(
    stack: Stack, client: Metadata, callers: Sequence[Metadata], project: str, tag: str, count: int
) -> tuple[list[str], list[int]]:
    """``count`` one-slot tasks in the project, each claimed by a contractor in turn."""
    tasks = await submit_tasks(stack, client, project, task_specs(stack.name(tag), count, slots=1))
    await wait_pooled(stack, tasks)
    work, who = stack.work(), [i % len(callers) for i in range(count)]

    async def claim(i: int) -> str:
        reply: work_api.ClaimTaskResponse = await call(
            work.ClaimTask,
            work_api.ClaimTaskRequest(request_id=stack.name(f"{tag}-{i}"), task_id=tasks[i]),
            callers[who[i]],
        )
        return str(reply.claim.claim_id)

    return await bounded((claim(i) for i in range(count)), SETUP_IN_FLIGHT), who


async def _spec_version(stack: Stack, project: str, *, timeout: float = 60.0) -> int:
    """The project's spec version once the matcher has it (ProjectChanged consumed)."""
    conn = await asyncpg.connect(stack.matcher_dsn)
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            version = await conn.fetchval(
                "SELECT answer_spec_version FROM projects WHERE project_id = $1", project
            )
            if version:
                return int(version)
            await asyncio.sleep(0.1)
        raise TimeoutError(f"the matcher has no answer spec for project {project}")
    finally:
        await conn.close()


async def _versions(stack: Stack, side: Side) -> Counter[int]:
    """How many of the side's claims were granted under each spec version."""
    conn = await asyncpg.connect(stack.matcher_dsn)
    try:
        rows = await conn.fetch(
            "SELECT answer_spec_version v, count(*) n FROM claims"
            " WHERE claim_id = ANY($1::uuid[]) GROUP BY 1",
            [uuid.UUID(c) for c in side.claims],
        )
        return Counter({r["v"]: r["n"] for r in rows})
    finally:
        await conn.close()


async def setup(stack: Stack) -> Setup:
    client = await new_client(stack, stack.name("ans-client"))
    projects = {
        "off": await new_project(stack, client, title=stack.name("ans-off")),
        "on": await new_project(
            stack, client, title=stack.name("ans-on"), answer_spec=None if CALIBRATE else spec()
        ),
    }
    if not CALIBRATE:
        await _spec_version(stack, projects["on"])
    ids = [stack.name(f"ans-c{i}") for i in range(CONTRACTORS)]
    tokens = await new_contractors(stack, ids, max_concurrent_claims=100)
    callers = [bearer_metadata(t) for t in tokens]
    timed = len(LOADS) * (WARMUP + CALLS)
    counts = {
        "off": timed,
        "on": timed,
        "raw": answers_raw.RAW_CLAIMS,
        "prof-off": answers_raw.PROFILED,
        "prof-on": answers_raw.PROFILED,
    }
    sides = {}
    for name, count in counts.items():
        project = projects["on" if name.endswith("on") else "off"]
        claims, who = await _claimed(stack, client, callers, project, f"ans-{name}", count)
        sides[name] = Side(name, project, claims, who)
    for name, side in sides.items():
        want = 1 if name.endswith("on") and not CALIBRATE else 0
        found = await _versions(stack, side)
        if found != Counter({want: len(side.claims)}):
            raise RuntimeError(f"{name}: claims by spec version {dict(found)}, not v{want}")
    profiled = (sides["prof-off"], sides["prof-on"])
    return Setup(tokens, sides["off"], sides["on"], sides["raw"], profiled)
