"""Helpers for the quality service's gold tests on the handler tier: the events it
consumes (ProjectChanged, ClaimGranted, ClaimEnded, WorkSubmitted), gold added as a
client adds it, and the events it wrote to its outbox."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from google.protobuf.message import Message

from crewline.answers import AnswerField, AnswerSpec, Choice, Scale, Text
from crewline.auth.principal import Kind, Principal
from crewline.consumer import EventContext
from crewline.events import CLAIMS_TOPIC, parse_envelope
from crewline.protobuf import answer_spec_to_pb, timestamp
from crewline.v1 import claim_pb2, events_pb2, project_pb2
from quality.deps import Deps
from quality.domain import gold
from quality.domain.gold import GoldInput, GoldTask
from quality.domain.gold_keys import FieldRule
from quality.handlers import event_routes
from quality.handlers.gold import add_gold_tasks

CTX = EventContext("e", "c", "matcher", CLAIMS_TOPIC, 0, 0)
ACME = Principal(Kind.CLIENT, "acme")
GLOBEX = Principal(Kind.CLIENT, "globex")
SPEC = AnswerSpec(
    version=1,
    fields=(
        AnswerField(name="severity", kind=Choice(labels=("benign", "watch", "refer"))),
        AnswerField(name="signs", kind=Choice(labels=("rash", "itch"), multiple=True)),
        AnswerField(name="confidence", kind=Scale(min=0, max=1, step=0.05)),
        AnswerField(name="notes", optional=True, kind=Text(max_length=200)),
    ),
)
STATES = {
    "active": project_pb2.PROJECT_STATE_ACTIVE,
    "paused": project_pb2.PROJECT_STATE_PAUSED,
    "closed": project_pb2.PROJECT_STATE_CLOSED,
}


class Draws:
    """A random source that returns what it is told: ``draw`` from random(), ``index``
    (modulo the count) from randrange()."""

    def __init__(self, draw: float = 0.0, index: int = 0) -> None:
        self.draw, self.index = draw, index

    def random(self) -> float:
        return self.draw

    def randrange(self, stop: int, /) -> int:
        return self.index % stop


async def deliver(deps: Deps, *events: Message) -> None:
    """Each event as the consumer applies it, in a transaction of its own (no inbox)."""
    routes = event_routes(deps)
    for event in events:
        async with deps.pool.acquire() as conn, conn.transaction():
            await routes[type(event)](conn, event, CTX)


def project_changed(
    project_id: str = "p1",
    *,
    client: str = "acme",
    revision: int = 1,
    spec: AnswerSpec | None = SPEC,
    state: str = "active",
    lifetime: int = 3600,
) -> events_pb2.ProjectChanged:
    project = project_pb2.Project(
        project_id=project_id,
        client_id=client,
        title="Rate rashes",
        revision=revision,
        state=STATES[state],
        task_lifetime_seconds=lifetime,
    )
    if spec is not None:
        project.answer_spec.CopyFrom(answer_spec_to_pb(spec))
    return events_pb2.ProjectChanged(project=project)


def item(n: int, answer: str = '{"severity": "refer"}', *rules: FieldRule) -> GoldInput:
    return GoldInput(
        idempotency_key=f"g{n}",
        payload_json=f'{{"case": {n}}}',
        answer_json=answer,
        rules=tuple(rules),
    )


async def add(
    deps: Deps, *items: GoldInput, project_id: str = "p1", caller: Principal = ACME
) -> list[GoldTask]:
    return await add_gold_tasks(gold.add_gold(caller, project_id=project_id, gold=items), deps)


def granted(
    claim: str, task: str, *, contractor: str = "ann", project: str = "p1"
) -> events_pb2.ClaimGranted:
    return events_pb2.ClaimGranted(
        claim_id=claim, task_id=task, contractor_id=contractor, project_id=project, client_id="acme"
    )


def ended(claim: str, task: str, at: datetime, *, contractor: str = "ann") -> events_pb2.ClaimEnded:
    return events_pb2.ClaimEnded(
        claim_id=claim,
        task_id=task,
        contractor_id=contractor,
        project_id="p1",
        reason=claim_pb2.CLAIM_END_REASON_RELEASED,
        ended_at=timestamp(at),
        client_id="acme",
    )


def submitted(
    claim: str, task: str, result: bytes, at: datetime, *, contractor: str = "ann"
) -> events_pb2.WorkSubmitted:
    return events_pb2.WorkSubmitted(
        claim_id=claim,
        task_id=task,
        contractor_id=contractor,
        project_id="p1",
        client_id="acme",
        result=result,
        submitted_at=timestamp(at),
    )


def new_id() -> str:
    return str(uuid.uuid4())


async def outbox(deps: Deps, kind: type[Message]) -> list[tuple[bytes, Message, bytes]]:
    """Each event of ``kind`` in the outbox, in order: its key, the event, its envelope."""
    found = []
    for row in await deps.pool.fetch("SELECT key, envelope FROM outbox ORDER BY id"):
        envelope = parse_envelope(row["envelope"])
        event = kind()
        if envelope.payload.Unpack(event):
            found.append((bytes(row["key"]), event, bytes(row["envelope"])))
    return found


async def issued(deps: Deps) -> list[events_pb2.GoldIssued]:
    return [e for _, e, _ in await outbox(deps, events_pb2.GoldIssued)]  # type: ignore[misc]


async def gold_of(deps: Deps, task_id: str) -> str:
    """Which gold task an issued task is (the quality service's own record)."""
    return str(
        await deps.pool.fetchval("SELECT gold_id FROM gold_instances WHERE task_id = $1", task_id)
    )


def ids(found: Sequence[GoldTask]) -> list[str]:
    return [str(g.gold_id) for g in found]
