"""The stand-in servers' canned resources, in protobuf's JSON form: one of each kind,
with every field set that crewctl shows, so the goldens pin how each is printed."""

from __future__ import annotations

from typing import Any

AT = "2026-01-02T03:04:05Z"
LATER = "2026-01-09T03:04:05Z"
PROJECT_ID = "6f1c2a4e-8b1d-4f7e-9a51-3d2b7c9e0f12"
TASK_ID = "0f3e8c1a-5b7d-4c2e-9a6f-1d2b3c4e5f60"
CLAIM_ID = "01JA2B3C4D5E6F7G8H9J0KMNPQ"
OTHER_CLAIM_ID = "01JA2B3C4D5E6F7G8H9J0KMNPR"
FLAGGED_CLAIM_ID = "01JA2B3C4D5E6F7G8H9J0KMNPS"


def usd(minor: int) -> dict[str, Any]:
    return {"currency_code": "USD", "amount_minor": minor}


PER_SUBMISSION = {"version": 1, "per_submission": {"reward": usd(1250)}, "effective_at": AT}
HOURLY = {
    "version": 2,
    "hourly": {"rate": usd(3000), "max_paid_seconds": 7200},
    "effective_at": LATER,
}

PROJECT: dict[str, Any] = {
    "project_id": PROJECT_ID,
    "client_id": "acme-labs",
    "title": "Dermatology ratings",
    "instructions": "Rate each image 1-5.",
    "requirements": [
        {
            "qualification": "domain.dermatology",
            "comparator": "COMPARATOR_GREATER_OR_EQUAL",
            "scores": [80],
        },
        {"qualification": "locale", "comparator": "COMPARATOR_IN", "strings": ["US", "CA"]},
    ],
    "pay_terms": PER_SUBMISSION,
    "assignments_per_task": 3,
    "claim_timeout_seconds": 3600,
    "task_lifetime_seconds": 604800,
    "auto_accept_delay_seconds": 259200,
    "priority": 10,
    "max_claims_per_contractor": 0,
    "revision": 4,
    "created_at": AT,
    "updated_at": LATER,
    "state": "PROJECT_STATE_ACTIVE",
}
# The spec of tests/crewctl_golden/files/project-answers.yaml, one field of each kind.
ANSWER_SPEC: dict[str, Any] = {
    "version": 2,
    "fields": [
        {
            "name": "severity",
            "prompt": "How severe is it?",
            "choice": {"labels": ["mild", "moderate", "severe"]},
        },
        {
            "name": "signs",
            "optional": True,
            "choice": {"labels": ["rash", "itch"], "multiple": True},
        },
        {"name": "confidence", "number": {"min": 0, "max": 1, "step": 0.1}},
        {"name": "notes", "optional": True, "text": {"max_length": 2000}},
        {
            "name": "quality",
            "rubric": {
                "criteria": [
                    {
                        "name": "focus",
                        "description": "Is the lesion sharp?",
                        "scale": {"min": 1, "max": 5, "step": 1},
                    },
                    {"name": "lighting", "scale": {"min": 0, "max": 10}},
                ]
            },
        },
    ],
}
PAUSED = {**PROJECT, "state": "PROJECT_STATE_PAUSED", "revision": 5}
CLOSED = {**PROJECT, "state": "PROJECT_STATE_CLOSED", "revision": 6}

TASK: dict[str, Any] = {
    "task_id": TASK_ID,
    "client_id": "acme-labs",
    "project_id": PROJECT_ID,
    "status": "TASK_STATUS_IN_PROGRESS",
    "slots": 3,
    "claimed_count": 2,
    "submitted_count": 1,
    "accepted_count": 1,
    "created_at": AT,
    "idempotency_key": "row-17",
    "payload_json": '{"image": "lesion-17.png"}',
    "priority": 10,
    "expires_at": LATER,
    "updated_at": AT,
    "live_claims": 1,
}

SUBMISSION: dict[str, Any] = {
    "submission_id": CLAIM_ID,
    "contractor_id": "dr-lee",
    "status": "SUBMISSION_STATUS_ACCEPTED",
    "submitted_at": AT,
    "task_id": TASK_ID,
    "project_id": PROJECT_ID,
    "result": "eyJyYXRpbmciOiA0fQ==",  # {"rating": 4}
    "earned": usd(1250),
    "worked_seconds": 1500,
    "reviewed_at": LATER,
    "accepted_by": "ACCEPTED_BY_CLIENT",
    "feedback": "Clear notes.",
    "auto_accept_at": "2026-01-05T03:04:05Z",
    "bonuses": [
        {
            "bonus_id": "b-1",
            "idempotency_key": "bonus-row-17",
            "amount": usd(500),
            "reason": "Thorough notes",
            "granted_at": LATER,
        },
    ],
}
PENDING = {
    **SUBMISSION,
    "submission_id": OTHER_CLAIM_ID,
    "status": "SUBMISSION_STATUS_PENDING_REVIEW",
    "result": "AP8=",  # not UTF-8
    "reviewed_at": None,
    "accepted_by": "ACCEPTED_BY_UNSPECIFIED",
    "feedback": "",
    "earned": None,
    "bonuses": [],
}
PENDING = {k: v for k, v in PENDING.items() if v is not None}
REJECTED = {
    **PENDING,
    "status": "SUBMISSION_STATUS_REJECTED",
    "reviewed_at": LATER,
    "feedback": "The rating ignores the second image.",
    "revert_until": "2026-02-08T03:04:05Z",
}
# Work whose time was flagged (both kinds, as docs/quality.md words them): it has no
# auto_accept_at and waits for its client.
FLAGGED: dict[str, Any] = {
    **{k: v for k, v in PENDING.items() if k != "auto_accept_at"},
    "submission_id": FLAGGED_CLAIM_ID,
    "result": "eyJyYXRpbmciOiAxfQ==",  # {"rating": 1}
    "worked_seconds": 300,
    "flags": [
        {
            "kind": "FLAG_KIND_FAST",
            "evidence": (
                "worked 300 s; the project's last 20 timed submissions took a median of"
                " 3000 s (median absolute deviation 120 s, taken as its floor 300 s);"
                " z = 0.6745 x (300 - 3000) / 300 = -6.07, at or below -3"
            ),
            "worked_seconds": 300,
            "median_seconds": 3000,
            "mad_seconds": 120,
            "scale_seconds": 300,
            "z_score": -6.0705,
            "sample_size": 20,
        },
        {
            "kind": "FLAG_KIND_IMPLAUSIBLE_TIME",
            "evidence": (
                "tracked 300 s, of which 240 s overlap the contractor's tracked time on 1"
                " other hourly claim: the same time billed twice (more than the 60 s allowed)"
            ),
            "worked_seconds": 300,
            "overlap_seconds": 240,
            "overlapping_claims": 1,
        },
    ],
}

CLAIM: dict[str, Any] = {
    "claim_id": CLAIM_ID,
    "task_id": TASK_ID,
    "contractor_id": "dr-lee",
    "status": "CLAIM_STATUS_ACTIVE",
    "granted_at": AT,
    "project_id": PROJECT_ID,
    "project_title": "Dermatology ratings",
    "pay_terms": HOURLY,
    "payload_json": '{"image": "lesion-17.png"}',
    "instructions": "Rate each image 1-5.",
    "deadline_at": "2026-01-02T04:04:05Z",
    "max_deadline_at": "2026-01-02T07:04:05Z",
    "worked_seconds": 600,
    "segments": [{"started_at": AT, "ended_at": "2026-01-02T03:14:05Z"}],
}
SUBMITTED_CLAIM = {
    **CLAIM,
    "status": "CLAIM_STATUS_SUBMITTED",
    "worked_seconds": 2400,
    "review": "REVIEW_STATE_PENDING",
    "earned": usd(2000),
}
ENDED_CLAIM = {
    **CLAIM,
    "status": "CLAIM_STATUS_ENDED",
    "end_reason": "CLAIM_END_REASON_RELEASED",
    "ended_at": "2026-01-02T03:20:05Z",
    "cut": "CLAIM_END_REASON_PROJECT_PAUSED",
}

OFFER: dict[str, Any] = {
    "task_id": TASK_ID,
    "project_id": PROJECT_ID,
    "title": "Dermatology ratings",
    "instructions": "Rate each image 1-5.",
    "pay_terms": PER_SUBMISSION,
    "free_slots": 2,
    "priority": 10,
    "published_at": AT,
    "expires_at": LATER,
}
HOURLY_OFFER = {**OFFER, "task_id": "1a2b3c4d-0000-4000-8000-000000000001", "pay_terms": HOURLY}
# An unpaid exam's question: it says so and shows no pay terms.
UNPAID_OFFER = {
    **{k: v for k, v in OFFER.items() if k != "pay_terms"},
    "task_id": "1a2b3c4d-0000-4000-8000-000000000002",
    "unpaid": True,
}
UNPAID_CLAIM = {
    **{k: v for k, v in CLAIM.items() if k != "pay_terms"},
    "status": "CLAIM_STATUS_SUBMITTED",
    "review": "REVIEW_STATE_ACCEPTED",
    "unpaid": True,
}

CLIENT = {"client_id": "acme-labs", "display_name": "Acme Labs", "created_at": AT}
KEY = {"key_id": "3f9c2a7d1b", "client_id": "acme-labs", "created_at": AT}
REVOKED_KEY = {**KEY, "revoked_at": LATER}

CONTRACTOR: dict[str, Any] = {
    "contractor_id": "dr-lee",
    "display_name": "Dr. Ada Lee",
    "created_at": AT,
    "domains": ["medicine", "law"],
    "languages": ["en", "pt-BR"],
    "locale": "US",
    "max_concurrent_claims": 5,
    "referred_by": "dr-kim",
    "active": True,
    "updated_at": LATER,
    "revision": 2,
}
TOKEN = {
    "token_id": "01J9Z6W3YQ8C",
    "contractor_id": "dr-lee",
    "issued_at": AT,
    "expires_at": "2026-01-02T04:04:05Z",
}
QUALIFICATION_TYPE = {
    "name": "domain.dermatology",
    "kind": "QUALIFICATION_KIND_SCORE",
    "description": "Dermatology, 0-100",
    "created_at": AT,
}
QUALIFICATION = {
    "contractor_id": "dr-lee",
    "qualification": "domain.dermatology",
    "kind": "QUALIFICATION_KIND_SCORE",
    "score": 87,
    "granted_at": AT,
    "updated_at": LATER,
}
BLOCK = {
    "block_id": "coi-dr-lee",
    "contractor_id": "dr-lee",
    "project_id": PROJECT_ID,
    "reason": "conflict of interest",
    "blocked_at": AT,
}

DEAD_LETTER = {
    "event_id": "3f2b8c1e-9d4a-4c0e-8f5b-2a7d6e1c9b30",
    "topic": "crewline.claims.v1",
    "partition": 2,
    "offset": 4711,
    "type": "crewline.v1.WorkSubmitted",
    "error": "unknown project",
    "dead_at": AT,
    "correlation_id": "corr-17",
    "replays": 1,
}
DEADLINE = {
    "kind": "lease",
    "ref": CLAIM_ID,
    "generation": 3,
    "due_at": AT,
    "attempts": 5,
    "correlation_id": "corr-18",
    "state": "DEADLINE_STATE_DEAD_LETTERED",
    "dead_at": LATER,
    "last_error": "database timeout",
}

BATCH = {
    "batch_id": "2026-w18",
    "currency_code": "USD",
    "threshold": usd(5000),
    "payouts": [
        {
            "payout_id": "po-1",
            "contractor_id": "dr-lee",
            "amount": usd(12500),
            "status": "PAYOUT_STATUS_IN_FLIGHT",
            "transaction_id": "tx-9",
        },
    ],
    "total": usd(12500),
    "created_at": AT,
}
VERIFIED = {
    "balanced": True,
    "transaction_count": 40,
    "entry_count": 120,
    "total_paid_to_contractors": [usd(98000)],
    "account_count": 9,
    "accepted_submission_count": 30,
    "paid_once_count": 30,
    "verified_at": AT,
}
UNRECONCILED = {
    **VERIFIED,
    "balanced": False,
    "unbalanced_transaction_count": 1,
    "paid_twice_count": 1,
}
STATEMENT = {
    "account_id": "contractor:dr-lee",
    "entries": [
        {
            "transaction_id": "tx-2",
            "kind": "POSTING_KIND_BONUS",
            "source": "b-1",
            "amount": usd(500),
            "balance_after": usd(1750),
            "posted_at": LATER,
            "memo": "Thorough notes",
        },
        {
            "transaction_id": "tx-1",
            "kind": "POSTING_KIND_PAY",
            "source": CLAIM_ID,
            "amount": usd(1250),
            "balance_after": usd(1250),
            "posted_at": AT,
        },
    ],
}
EARNINGS = {
    "contractor_id": "dr-lee",
    "by_project": [
        {
            "key": PROJECT_ID,
            "paid": usd(1750),
            "submissions": 1,
            "claimed_seconds": 3600,
            "tracked_seconds": 1500,
            "per_claimed_hour": usd(1750),
            "per_tracked_hour": usd(4200),
        },
    ],
    "by_week": [{"key": "2026-W01", "paid": usd(1750), "submissions": 1}],
    "total": [{"key": "USD", "paid": usd(1750), "submissions": 1}],
    "other": [usd(300)],
}
SCORE = {
    "contractor_id": "dr-lee",
    "project_id": PROJECT_ID,
    "measure": "SCORE_MEASURE_ACCEPTANCE_RATE",
    "value": 75,
    "accepted": 1,
    "reviewed": 1,
    "window": 10,
    "updated_at": LATER,
}
OTHER_SCORE = {
    **SCORE,
    "project_id": "7a2d3b5f-9c2e-4a8f-8b62-4e3c8d0f1a23",
    "value": 38,
    "accepted": 3,
    "reviewed": 8,
}
