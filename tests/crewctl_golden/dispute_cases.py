"""Golden cases of disputes of gold keys: disputes as each audience reads them, disputing
a key (a contractor) and resolving a dispute (a client: correcting the key from a file,
or dismissing), what is refused before any call, and the client's Watch showing a
dispute."""

from __future__ import annotations

from functools import partial
from typing import Any

from grpc_standin import Echo, Refusal

from crewctl_golden.harness import Case, case, invalid, missing
from crewctl_golden.records import AT, CLAIM_ID, LATER, OTHER_CLAIM_ID, PROJECT_ID, TASK_ID

as_client = partial(case, caller="client")
as_contractor = partial(case, caller="contractor")
DISPUTE_ID = "4d3c2b1a-9e8f-4a7b-8c6d-5e4f3a2b1c0d"
GOLD_ID = "7a6b5c4d-3e2f-4a1b-9c8d-7e6f5a4b3c2d"
SANCTION_ID = "9c4d2e1f-3a5b-4c6d-8e7f-0a1b2c3d4e5f"

OPEN: dict[str, Any] = {
    "dispute_id": DISPUTE_ID,
    "contractor_id": "dr-lee",
    "project_id": PROJECT_ID,
    "client_id": "acme-labs",
    "task_id": TASK_ID,
    "note": "the lesion is severe, not mild",
    "state": "DISPUTE_STATE_OPEN",
    "filed_at": AT,
}
SEEN_BY_CLIENT: dict[str, Any] = {**OPEN, "gold_id": GOLD_ID}
CORRECTED: dict[str, Any] = {
    **SEEN_BY_CLIENT,
    "state": "DISPUTE_STATE_CORRECTED",
    "resolved_at": LATER,
    "resolution_note": "you were right",
    "accepted_submission_ids": [CLAIM_ID, OTHER_CLAIM_ID],
    "overturned_sanction_ids": [SANCTION_ID],
}
DISMISSED: dict[str, Any] = {
    **OPEN,
    "dispute_id": "4d3c2b1a-9e8f-4a7b-8c6d-5e4f3a2b1c0e",
    "state": "DISPUTE_STATE_DISMISSED",
    "resolved_at": LATER,
    "resolution_note": "mild is right: see the guide",
}


def _filed(request: dict[str, Any]) -> dict[str, Any]:
    return {"dispute": {**OPEN, "task_id": request["task_id"], "note": request["note"]}}


def _resolved(request: dict[str, Any]) -> dict[str, Any]:
    if request.get("dismiss"):
        state = {"state": "DISPUTE_STATE_DISMISSED", "resolved_at": LATER}
        return {"dispute": {**SEEN_BY_CLIENT, **state, "resolution_note": request.get("note", "")}}
    return {"dispute": {**CORRECTED, "resolution_note": request.get("note", "")}}


_ALREADY = Refusal(
    "FAILED_PRECONDITION", "the dispute was corrected already", "DISPUTE_ALREADY_RESOLVED"
)

LIST_CASES = [
    as_contractor("disputes_own", "disputes", "", ListMyDisputes={"disputes": [OPEN, DISMISSED]}),
    as_contractor(
        "disputes_own_table",
        "disputes",
        "",
        options=(),
        ListMyDisputes={"disputes": [OPEN, DISMISSED], "next_page_token": "d2"},
    ),
    as_contractor("disputes_own_by_state", "disputes", "--state open", fails=True),
    as_client(
        "disputes_client_open_table",
        "disputes",
        f"--project {PROJECT_ID} --state open",
        options=(),
        ListDisputes={"disputes": [SEEN_BY_CLIENT], "next_page_token": "d2"},
    ),
    as_client("disputes_client_no_project", "disputes", "--state open", fails=True),
    as_client(
        "disputes_client_other_project",
        "disputes",
        "--project not-mine",
        fails=True,
        ListDisputes=missing("project not-mine"),
    ),
    case(
        "disputes_operator_all",
        "disputes",
        "--state corrected --all",
        ListDisputes=[{"disputes": [CORRECTED], "next_page_token": "d2"}, {"disputes": []}],
    ),
]

FILE_CASES = [
    as_contractor(
        "dispute_file",
        "dispute file",
        f"--task {TASK_ID} --note 'the lesion is severe, not mild' --key dispute-1",
        DisputeGoldKey=Echo(_filed),
    ),
    as_contractor(
        "dispute_file_table",
        "dispute file",
        f"--task {TASK_ID} --note 'severe'",
        options=(),
        DisputeGoldKey=Echo(_filed),
    ),
    as_contractor(
        "dispute_file_not_found",
        "dispute file",
        "--task 0e6f5a4b-3c2d-4e1f-8a9b-7c6d5e4f3a2b --note wrong --key dispute-2",
        fails=True,
        DisputeGoldKey=missing("task 0e6f5a4b-3c2d-4e1f-8a9b-7c6d5e4f3a2b"),
    ),
    as_contractor(
        "dispute_file_unreachable",
        "dispute file",
        f"--task {TASK_ID} --note wrong --key dispute-3",
        fails=True,
        DisputeGoldKey=Refusal("UNAVAILABLE", "connection refused"),
    ),
    as_client(
        "dispute_file_client_key", "dispute file", f"--task {TASK_ID} --note mine", fails=True
    ),
]

RESOLVE_CASES = [
    as_client(
        "dispute_resolve_correct",
        "dispute resolve",
        f"{DISPUTE_ID} --correct-file key.json --note 'you were right'",
        ResolveDispute=Echo(_resolved),
    ),
    as_client(
        "dispute_resolve_dismiss_table",
        "dispute resolve",
        f"{DISPUTE_ID} --dismiss --note 'mild is right: see the guide'",
        options=(),
        ResolveDispute=Echo(_resolved),
    ),
    as_client(
        "dispute_resolve_bad_key",
        "dispute resolve",
        f"{DISPUTE_ID} --correct-file bad-key.json",
        fails=True,
    ),
    as_client("dispute_resolve_neither", "dispute resolve", DISPUTE_ID, fails=True),
    as_client(
        "dispute_resolve_refused_key",
        "dispute resolve",
        f"{DISPUTE_ID} --correct-file key.json",
        fails=True,
        ResolveDispute=invalid(
            "correct.answer_json", "correct.answer_json: severity: 'severe' is not a label"
        ),
    ),
    as_client(
        "dispute_resolve_other_resolution",
        "dispute resolve",
        f"{DISPUTE_ID} --dismiss",
        fails=True,
        ResolveDispute=_ALREADY,
    ),
    as_contractor(
        "dispute_resolve_contractor", "dispute resolve", f"{DISPUTE_ID} --dismiss", fails=True
    ),
    case("dispute_resolve_operator", "dispute resolve", f"{DISPUTE_ID} --dismiss", fails=True),
]

_EVENT = {"at": AT, "project_id": PROJECT_ID}
# As DisputeChanged carries it: never with the gold task.
WATCHED = {k: v for k, v in CORRECTED.items() if k != "gold_id"}
WATCH_CASES = [
    as_client(
        "watch_dispute",
        "watch",
        f"--project {PROJECT_ID} --limit 2",
        options=(),
        Watch=[
            {
                "events": [
                    {**_EVENT, "cursor": "c-1", "dispute_changed": {"dispute": OPEN}},
                    {**_EVENT, "cursor": "c-2", "dispute_changed": {"dispute": WATCHED}},
                ]
            }
        ],
    ),
    as_client(
        "watch_dispute_json",
        "watch",
        f"--project {PROJECT_ID} --limit 1",
        Watch=[{"events": [{**_EVENT, "cursor": "c-1", "dispute_changed": {"dispute": WATCHED}}]}],
    ),
]

CASES: list[Case] = [*LIST_CASES, *FILE_CASES, *RESOLVE_CASES, *WATCH_CASES]
