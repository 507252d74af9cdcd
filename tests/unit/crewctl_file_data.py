"""What the tests of crewctl's project file and its neighbours share: a project file,
the project the dispatcher answers for it, and crewctl run as a client."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from crewctl_golden.harness import Crewctl
from google.protobuf import json_format
from grpc_standin import StandIns

from crewline.ctl.records.projects import ProjectRecord, project_record
from crewline.v1 import project_pb2

KEY = "crwk_k1_client-secret"
FILE = {
    "title": "Dermatology ratings",
    "pay": {"per_submission": "12.50 USD"},
    "requirements": [
        "domain.derm:>=:80",
        {"qualification": "locale", "comparator": "in", "values": ["US", "CA"]},
    ],
    "slots": 3,
    "claim_timeout": "30m",
    "state": "active",
}


def project(**changes: Any) -> dict[str, Any]:
    """A project as the dispatcher sends it, in protobuf's JSON form: the one FILE describes."""
    found: dict[str, Any] = {
        "project_id": "p-1",
        "client_id": "acme",
        "title": "Dermatology ratings",
        "requirements": [
            {"qualification": "locale", "comparator": "COMPARATOR_IN", "strings": ["US", "CA"]},
            {
                "qualification": "domain.derm",
                "comparator": "COMPARATOR_GREATER_OR_EQUAL",
                "scores": [80],
            },
        ],
        "pay_terms": {
            "version": 1,
            "per_submission": {"reward": {"currency_code": "USD", "amount_minor": 1250}},
            "effective_at": "2026-01-02T03:04:05Z",
        },
        "assignments_per_task": 3,
        "claim_timeout_seconds": 1800,
        "task_lifetime_seconds": 604_800,
        "auto_accept_delay_seconds": 259_200,
        "revision": 4,
        "state": "PROJECT_STATE_ACTIVE",
    }
    return {**found, **changes}


def record(**changes: Any) -> ProjectRecord:
    """``project(**changes)`` as the record crewctl makes of it."""
    return project_record(json_format.ParseDict(project(**changes), project_pb2.Project()))


def client_crewctl(servers: StandIns, tmp_path: Path) -> Crewctl:
    return Crewctl(servers, caller="client", env={"CREWLINE_CREDENTIAL": KEY}, cwd=tmp_path)


def methods(crewctl: Crewctl) -> list[str]:
    return [r.method.rsplit("/", 1)[1] for r in crewctl.servers.received]
