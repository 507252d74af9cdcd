"""What every dispatcher handler may use, built once in ``bootstrap.py``."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg
from google.protobuf.message import Message

from crewline.events import IDENTITY_TOPIC, PROJECTS_TOPIC, TASKS_TOPIC
from crewline.publisher import Publisher, Route
from crewline.timekeeping import Clock
from crewline.v1 import events_pb2
from dispatcher.settings import DispatcherSettings

SERVICE = "dispatcher"

# Every event the dispatcher publishes, its topic and its key (one entity's events in order).
PUBLISHES: dict[type[Message], Route] = {
    events_pb2.ProjectChanged: Route(PROJECTS_TOPIC, key=lambda e: e.project.project_id),
    events_pb2.TaskPublished: Route(TASKS_TOPIC, key=lambda e: e.task_id),
    events_pb2.TaskChanged: Route(TASKS_TOPIC, key=lambda e: e.task_id),
    events_pb2.LeaseElapsed: Route(TASKS_TOPIC, key=lambda e: e.task_id),
    events_pb2.SubmissionAccepted: Route(TASKS_TOPIC, key=lambda e: e.task_id),
    events_pb2.SubmissionRejected: Route(TASKS_TOPIC, key=lambda e: e.task_id),
    events_pb2.SubmissionFlagged: Route(TASKS_TOPIC, key=lambda e: e.task_id),
    events_pb2.BonusGranted: Route(TASKS_TOPIC, key=lambda e: e.task_id),
    events_pb2.ClientCreated: Route(IDENTITY_TOPIC, key=lambda e: e.client_id),
    events_pb2.ApiKeyCreated: Route(IDENTITY_TOPIC, key=lambda e: e.client_id),
    events_pb2.ApiKeyRevoked: Route(IDENTITY_TOPIC, key=lambda e: e.client_id),
}


@dataclass(frozen=True, kw_only=True)
class Deps:
    pool: asyncpg.Pool
    clock: Clock
    settings: DispatcherSettings
    publisher: Publisher

    @classmethod
    def build(cls, *, pool: asyncpg.Pool, clock: Clock, settings: DispatcherSettings) -> Deps:
        return cls(
            pool=pool,
            clock=clock,
            settings=settings,
            publisher=Publisher(producer=SERVICE, routes=PUBLISHES),
        )
