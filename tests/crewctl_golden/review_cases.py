"""Golden cases of a client's watch and review of submissions, made with the client's
API key."""

from __future__ import annotations

from functools import partial

from grpc_standin import Refusal

from crewctl_golden.harness import Case, case, missing
from crewctl_golden.records import (
    AT,
    CLAIM_ID,
    FLAGGED,
    FLAGGED_CLAIM_ID,
    OTHER_CLAIM_ID,
    PENDING,
    PROJECT_ID,
    REJECTED,
    SUBMISSION,
    TASK,
    TASK_ID,
    usd,
)

as_client = partial(case, caller="client")


WATCH = [
    as_client(
        "watch",
        "watch",
        f"--project {PROJECT_ID} --from c-0 --limit 2",
        Watch=[
            {"events": [], "cursor": "c-0"},
            {
                "events": [
                    {
                        "cursor": "c-1",
                        "at": AT,
                        "task_id": TASK_ID,
                        "project_id": PROJECT_ID,
                        "task_changed": TASK,
                    }
                ]
            },
            {
                "events": [
                    {
                        "cursor": "c-2",
                        "at": AT,
                        "task_id": TASK_ID,
                        "project_id": PROJECT_ID,
                        "claim_ended": {
                            "claim_id": CLAIM_ID,
                            "task_id": TASK_ID,
                            "contractor_id": "dr-lee",
                            "project_id": PROJECT_ID,
                            "reason": "CLAIM_END_REASON_EXPIRED",
                            "ended_at": AT,
                            "worked_seconds": 600,
                            "reoffered": True,
                        },
                    }
                ]
            },
        ],
    ),
    as_client(
        "watch_other_client",
        "watch",
        "--project not-mine",
        fails=True,
        Watch=[missing("project not-mine")],
    ),
]

REVIEW = [
    as_client(
        "submission_list",
        "submission list",
        f"--project {PROJECT_ID} --status pending_review",
        ListSubmissions={"submissions": [PENDING], "next_page_token": "p2"},
    ),
    as_client(
        "submission_list_all",
        "submission list",
        f"--task {TASK_ID} --all",
        ListSubmissions=[
            {"submissions": [SUBMISSION], "next_page_token": "p2"},
            {"submissions": [REJECTED]},
        ],
    ),
    as_client(
        "submission_list_flagged",
        "submission list",
        f"--project {PROJECT_ID} --flagged --status pending_review",
        ListSubmissions={"submissions": [FLAGGED]},
    ),
    as_client(
        "submission_list_flagged_table",
        "submission list",
        f"--task {TASK_ID}",
        options=(),
        ListSubmissions={"submissions": [PENDING, FLAGGED]},
    ),
    as_client(
        "submission_list_unknown",
        "submission list",
        "--project nope",
        fails=True,
        ListSubmissions=missing("project nope"),
    ),
    as_client(
        "submission_get", "submission get", CLAIM_ID, GetSubmission={"submission": SUBMISSION}
    ),
    as_client(
        "submission_get_flagged",
        "submission get",
        FLAGGED_CLAIM_ID,
        options=(),
        GetSubmission={"submission": FLAGGED},
    ),
    as_client(
        "submission_get_unknown",
        "submission get",
        "nope",
        fails=True,
        GetSubmission=missing("submission nope"),
    ),
    as_client(
        "submission_accept",
        "submission accept",
        f"{OTHER_CLAIM_ID} --feedback 'Good.' --override-rejection",
        AcceptSubmission={
            "submission": {
                **REJECTED,
                "status": "SUBMISSION_STATUS_ACCEPTED",
                "earned": usd(1250),
                "accepted_by": "ACCEPTED_BY_OVERRIDE",
            }
        },
    ),
    as_client(
        "submission_accept_rejected",
        "submission accept",
        OTHER_CLAIM_ID,
        fails=True,
        AcceptSubmission=Refusal("FAILED_PRECONDITION", "the work was rejected", "REJECTED"),
    ),
    as_client(
        "submission_reject",
        "submission reject",
        f"{OTHER_CLAIM_ID} --feedback 'The rating ignores the second image.'",
        RejectSubmission={"submission": REJECTED},
    ),
    as_client(
        "submission_reject_accepted",
        "submission reject",
        f"{CLAIM_ID} --feedback no",
        fails=True,
        RejectSubmission=Refusal(
            "FAILED_PRECONDITION", "accepted work is final", "ALREADY_ACCEPTED"
        ),
    ),
    as_client(
        "submission_bonus",
        "submission bonus",
        f"{CLAIM_ID} 5.00 USD --reason 'Thorough notes' --key bonus-row-17",
        GrantBonus={"bonus": SUBMISSION["bonuses"][0], "submission": SUBMISSION},
    ),
    as_client(
        "submission_bonus_refused",
        "submission bonus",
        f"{CLAIM_ID} 5 EUR --reason x",
        fails=True,
        GrantBonus=Refusal(
            "INVALID_ARGUMENT",
            "amount.currency_code: the submission is paid in USD",
            "INVALID_ARGUMENT",
            {"field": "amount.currency_code"},
        ),
    ),
    as_client(
        "submission_export",
        "submission export",
        f"--project {PROJECT_ID}",
        ListSubmissions=[
            {"submissions": [SUBMISSION], "next_page_token": "p2"},
            {"submissions": [PENDING]},
        ],
        ListTasks={"tasks": [TASK]},
    ),
    as_client(
        "submission_export_csv",
        "submission export",
        f"--task {TASK_ID} --format csv",
        ListSubmissions={"submissions": [SUBMISSION, REJECTED]},
        GetTask={"task": TASK},
    ),
    as_client(
        "submission_export_flagged",
        "submission export",
        f"--task {TASK_ID} --flagged",
        ListSubmissions={"submissions": [FLAGGED]},
        GetTask={"task": TASK},
    ),
    as_client(
        "submission_export_unknown",
        "submission export",
        "--task nope",
        fails=True,
        ListSubmissions=missing("task nope"),
    ),
    as_client(
        "submission_review",
        "submission review",
        "--file decisions.jsonl",
        AcceptSubmission={"submission": SUBMISSION},
        RejectSubmission={"submission": REJECTED},
        GrantBonus={"bonus": SUBMISSION["bonuses"][0], "submission": SUBMISSION},
    ),
    as_client(
        "submission_review_one_refused",
        "submission review",
        "--file decisions.jsonl",
        fails=True,
        AcceptSubmission={"submission": SUBMISSION},
        RejectSubmission=missing(f"submission {OTHER_CLAIM_ID}"),
        GrantBonus={"bonus": SUBMISSION["bonuses"][0], "submission": SUBMISSION},
    ),
    as_client(
        "submission_review_stopped",
        "submission review",
        "--file decisions.jsonl",
        fails=True,
        AcceptSubmission=Refusal("UNAUTHENTICATED", "API key revoked", "CREDENTIAL_REVOKED"),
    ),
    as_client(
        "submission_review_bad_file", "submission review", "--file bad-decisions.jsonl", fails=True
    ),
]

CASES: list[Case] = [*WATCH, *REVIEW]
