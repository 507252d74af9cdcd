"""What crewctl's task, claim and project-state tests share: the records crewctl should
print, the same values as the services send them (protobuf's JSON form), and helpers
that run crewctl as a client (or a contractor: the same variable holds a token)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from crewctl_golden.harness import Crewctl
from grpc_standin import StandIns

from crewline.ctl.records.claims import ClaimRecord
from crewline.ctl.records.projects import PayTermsRecord, ProjectRecord
from crewline.ctl.records.tasks import TaskRecord

KEY = "crwk_k1_client-secret"
TOKEN = "eyJ.contractor.token"
AT = "2026-01-02T03:04:05Z"
TASK_ID = "0f3e8c1a-5b7d-4c2e-9a6f-1d2b3c4e5f60"
TERMS: PayTermsRecord = {
    "version": 1,
    "basis": "hourly",
    "currency": "USD",
    "amount_minor": 3000,
    "max_paid_seconds": 7200,
    "effective_at": AT,
}
TASK: TaskRecord = {
    "task_id": TASK_ID,
    "client_id": "acme",
    "project_id": "p-1",
    "status": "open",
    "slots": 2,
    "live_claims": 1,
    "claimed_count": 1,
    "submitted_count": 0,
    "accepted_count": 0,
    "priority": 0,
    "idempotency_key": "row-17",
    "reserved_for": "",
    "payload_json": '{"image": "lesion-17.png"}',
    "payload_base64": None,
    "created_at": AT,
    "updated_at": AT,
    "expires_at": "2026-01-09T03:04:05Z",
    "cancelled_at": None,
}
CLAIM: ClaimRecord = {
    "claim_id": "c-1",
    "task_id": TASK_ID,
    "project_id": "p-1",
    "project_title": "",
    "contractor_id": "dr-lee",
    "status": "active",
    "granted_at": AT,
    "deadline_at": "2026-01-02T04:04:05Z",
    "max_deadline_at": "2026-01-02T06:04:05Z",
    "worked_seconds": 0,
    "cut": None,
    "end_reason": None,
    "ended_at": None,
    "pay_terms": TERMS,
    "unpaid": False,
    "answer_spec": None,
    "instructions": "Rate the lesion.",
    "payload_json": '{"image": "lesion-17.png"}',
    "payload_base64": None,
    "review": None,
    "feedback": "",
    "earned": None,
    "pending": None,
    "segments": [],
}
PROJECT: ProjectRecord = {
    "project_id": "p-1",
    "client_id": "acme",
    "title": "Dermatology ratings",
    "instructions": "",
    "requirements": [],
    "pay_terms": TERMS,
    "assignments_per_task": 1,
    "claim_timeout_seconds": 3600,
    "task_lifetime_seconds": 604_800,
    "auto_accept_delay_seconds": 259_200,
    "priority": 0,
    "max_claims_per_contractor": 0,
    "answer_spec": None,
    "revision": 2,
    "state": "active",
    "created_at": AT,
    "updated_at": AT,
}

# The same, as the services send them (protobuf's JSON form).
TERMS_PB = {
    "version": 1,
    "hourly": {"rate": {"currency_code": "USD", "amount_minor": 3000}, "max_paid_seconds": 7200},
    "effective_at": AT,
}
TASK_PB = {
    **{k: v for k, v in TASK.items() if v is not None},
    "status": "TASK_STATUS_OPEN",
}
CLAIM_PB = {
    **{k: v for k, v in CLAIM.items() if v not in (None, "", [], 0)},
    "status": "CLAIM_STATUS_ACTIVE",
    "pay_terms": TERMS_PB,
}
PROJECT_PB = {
    **{k: v for k, v in PROJECT.items() if v not in (None, "", [], 0)},
    "state": "PROJECT_STATE_ACTIVE",
    "pay_terms": TERMS_PB,
}
SUBMISSION_PB = {
    "submission_id": "s-1",
    "contractor_id": "dr-kim",
    "status": "SUBMISSION_STATUS_PENDING_REVIEW",
    "submitted_at": AT,
}


def task_answer(**changed: Any) -> dict[str, Any]:
    return {"task": {**TASK_PB, **changed}}


def claim_answer(**changed: Any) -> dict[str, Any]:
    return {"claim": {**CLAIM_PB, **changed}}


def project_answer(state: str) -> dict[str, Any]:
    return {"project": {**PROJECT_PB, "state": f"PROJECT_STATE_{state.upper()}"}}


def client_crewctl(servers: StandIns, tmp_path: Path) -> Crewctl:
    """crewctl as a client (or a contractor: the same variable holds a token)."""
    return Crewctl(servers, caller="none", env={"CREWLINE_CREDENTIAL": KEY}, cwd=tmp_path)


def human(crewctl: Crewctl, *args: str, **answers: Any) -> str:
    result = crewctl.run(*args, **answers)
    assert result.exit_code == 0, (result.stdout, result.stderr)
    return result.stdout


def called(crewctl: Crewctl) -> list[tuple[str, str, str | None]]:
    """Each call received: (server, method, authorization)."""
    return [(r.server, r.method, r.authorization) for r in crewctl.servers.received]


DETAILS = {**task_answer(), "submissions": [SUBMISSION_PB]}


def task_pages(pages: int) -> list[dict[str, Any]]:
    """``pages`` pages of one task each, each naming the next."""
    return [
        {"tasks": [TASK_PB], "next_page_token": str(n + 1) if n + 1 < pages else ""}
        for n in range(pages)
    ]
