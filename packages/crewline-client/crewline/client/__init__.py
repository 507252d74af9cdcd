"""Crewline's Python SDK: typed async clients for each audience.

    from crewline.client import Client, Contractor, Operator, per_submission, usd

    async with Client() as client:            # CREWLINE_CREDENTIAL: the API key
        project = await client.create_project(title="...", pay_terms=per_submission(usd(250)))
        await client.submit_task(project.project_id, {"text": "..."})
        async for event in client.watch(project_id=project.project_id):
            ...

``crewline.client.sync`` has the same objects for code that does not use asyncio.
Addresses and credentials come from arguments or the environment (see
``crewline.client.config``); refusals are ``CrewlineError`` subclasses
(``crewline.client.errors``) carrying the code, the reason, the field and the message.
"""

from __future__ import annotations

from crewline.client import results
from crewline.client.build import (
    answer_spec,
    choice_field,
    criterion,
    gold_task,
    hourly,
    money,
    number_field,
    per_submission,
    requirement,
    rubric_field,
    task,
    text_field,
    usd,
)
from crewline.client.client import Client
from crewline.client.config import ConfigError, Endpoints
from crewline.client.contractor import Contractor
from crewline.client.errors import (
    Aborted,
    AlreadyExists,
    CrewlineError,
    DeadlineExceeded,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    Overloaded,
    PermissionDenied,
    Refused,
    Unauthenticated,
    Unavailable,
)
from crewline.client.offers import Offered, OfferEvent, OfferStream, Resync, SnapshotEnd, Withdrawn
from crewline.client.operator import Operator
from crewline.client.results import *  # noqa: F403 (the results' own __all__)
from crewline.client.review import WatchStream
from crewline.client.streams import Reconnect

__all__ = [
    "Aborted",
    "AlreadyExists",
    "Client",
    "ConfigError",
    "Contractor",
    "CrewlineError",
    "DeadlineExceeded",
    "Endpoints",
    "FailedPrecondition",
    "InvalidArgument",
    "NotFound",
    "OfferEvent",
    "OfferStream",
    "Offered",
    "Operator",
    "Overloaded",
    "PermissionDenied",
    "Reconnect",
    "Refused",
    "Resync",
    "SnapshotEnd",
    "Unauthenticated",
    "Unavailable",
    "WatchStream",
    "Withdrawn",
    "answer_spec",
    "choice_field",
    "criterion",
    "gold_task",
    "hourly",
    "money",
    "number_field",
    "per_submission",
    "requirement",
    "rubric_field",
    "task",
    "text_field",
    "usd",
]

# What the calls return: typed results, money and enums (crewline.client.results).
__all__ += results.__all__
