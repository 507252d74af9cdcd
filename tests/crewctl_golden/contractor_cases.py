"""Golden cases of a contractor's commands, made with the contractor's token (offers,
claims), and of statement, earnings and scores, made as whoever the credential is."""

from __future__ import annotations

from functools import partial

from grpc_standin import Refusal

from crewctl_golden.harness import Case, case, missing
from crewctl_golden.records import (
    ANSWER_SPEC,
    AT,
    CLAIM,
    CLAIM_ID,
    EARNINGS,
    ENDED_CLAIM,
    HOURLY_OFFER,
    OFFER,
    OTHER_SCORE,
    PROJECT_ID,
    SCORE,
    STATEMENT,
    SUBMITTED_CLAIM,
    TASK_ID,
    UNPAID_CLAIM,
    UNPAID_OFFER,
)

as_contractor = partial(case, caller="contractor")


_EXPIRED = Refusal("FAILED_PRECONDITION", "the lease ran out", "CLAIM_EXPIRED")

OFFERS = [
    as_contractor(
        "offers_list",
        "offers list",
        f"--project {PROJECT_ID} --page-size 2",
        ListOffers={"offers": [OFFER, HOURLY_OFFER], "next_page_token": "p2"},
    ),
    as_contractor(
        "offers_list_unpaid",
        "offers list",
        "",
        ListOffers={"offers": [UNPAID_OFFER, OFFER]},
    ),
    as_contractor(
        "offers_list_all",
        "offers list",
        "--all",
        ListOffers=[{"offers": [OFFER], "next_page_token": "p2"}, {"offers": [HOURLY_OFFER]}],
    ),
    as_contractor(
        "offers_list_expired_token",
        "offers list",
        fails=True,
        ListOffers=Refusal("UNAUTHENTICATED", "token expired", "CREDENTIAL_EXPIRED"),
    ),
    # Streams end by crewctl's own --limit or --snapshot-only, not by the server closing
    # them: a client may take a closed stream for a lost connection and reconnect.
    as_contractor(
        "offers_stream",
        "offers stream",
        f"--project {PROJECT_ID} --max-offers 10 --limit 3",
        StreamOffers=[
            {"changes": {"changes": [{"offered": OFFER}]}},
            {"snapshot_end": {"offers": 1}},
            {"keepalive": {"sent_at": AT}},
            {"resync": {}},
            {
                "changes": {
                    "changes": [
                        {"offered": HOURLY_OFFER},
                        {"withdrawn": {"task_id": TASK_ID, "reason": "WITHDRAWAL_REASON_FILLED"}},
                    ]
                }
            },
            {"changes": {"changes": [{"offered": OFFER}]}},
        ],
    ),
    as_contractor(
        "offers_stream_snapshot_only",
        "offers stream",
        "--snapshot-only",
        StreamOffers=[
            {"changes": {"changes": [{"offered": OFFER}]}},
            {"snapshot_end": {"offers": 1}},
            {"changes": {"changes": [{"offered": HOURLY_OFFER}]}},
        ],
    ),
    as_contractor(
        "offers_stream_refused",
        "offers stream",
        fails=True,
        StreamOffers=[
            {"snapshot_end": {"offers": 0}},
            Refusal("PERMISSION_DENIED", "contractor dr-lee is deactivated", "CONTRACTOR_INACTIVE"),
        ],
    ),
]

CLAIMS = [
    as_contractor(
        "claim_create",
        "claim create",
        f"{TASK_ID} --request-id crewctl-golden-3",
        ClaimTask={"claim": CLAIM},
    ),
    as_contractor("claim_create_fresh_id", "claim create", TASK_ID, ClaimTask={"claim": CLAIM}),
    as_contractor(
        "claim_create_no_slot",
        "claim create",
        TASK_ID,
        fails=True,
        ClaimTask=Refusal("FAILED_PRECONDITION", "no free slot", "NO_FREE_SLOT"),
    ),
    as_contractor(
        "claim_create_not_qualified",
        "claim create",
        TASK_ID,
        fails=True,
        ClaimTask=Refusal(
            "PERMISSION_DENIED",
            "requirements not met",
            "NOT_QUALIFIED",
            {"missing": "domain.dermatology"},
        ),
    ),
    as_contractor("claim_create_no_credential", "claim create", TASK_ID, caller="none", fails=True),
    as_contractor("claim_get", "claim get", CLAIM_ID, GetClaim={"claim": SUBMITTED_CLAIM}),
    as_contractor("claim_get_unpaid", "claim get", CLAIM_ID, GetClaim={"claim": UNPAID_CLAIM}),
    as_contractor(
        "claim_get_unknown", "claim get", "nope", fails=True, GetClaim=missing("claim nope")
    ),
    as_contractor(
        "claim_list",
        "claim list",
        f"--status active --task {TASK_ID} --project {PROJECT_ID} --page-size 1",
        ListMyClaims={"claims": [CLAIM], "next_page_token": "p2"},
    ),
    as_contractor(
        "claim_list_all",
        "claim list",
        "--all",
        ListMyClaims=[{"claims": [CLAIM], "next_page_token": "p2"}, {"claims": [ENDED_CLAIM]}],
    ),
    as_contractor(
        "claim_list_invalid",
        "claim list",
        "--page-token junk",
        fails=True,
        ListMyClaims=Refusal(
            "INVALID_ARGUMENT",
            "page_token: not a token from this list",
            "INVALID_ARGUMENT",
            {"field": "page_token"},
        ),
    ),
    as_contractor(
        "claim_heartbeat",
        "claim heartbeat",
        f"{CLAIM_ID} --worked 25m",
        HeartbeatClaim={"claim": {**CLAIM, "worked_seconds": 1500}},
    ),
    as_contractor(
        "claim_heartbeat_at_maximum",
        "claim heartbeat",
        f"{CLAIM_ID} --worked 1500",
        fails=True,
        HeartbeatClaim=Refusal(
            "FAILED_PRECONDITION", "the lease is at its maximum", "LEASE_AT_MAXIMUM"
        ),
    ),
    as_contractor("claim_release", "claim release", CLAIM_ID, ReleaseClaim={"claim": ENDED_CLAIM}),
    as_contractor(
        "claim_release_expired", "claim release", CLAIM_ID, fails=True, ReleaseClaim=_EXPIRED
    ),
    as_contractor(
        "claim_submit",
        "claim submit",
        f"{CLAIM_ID} --result-file answer.json --worked 40m",
        SubmitWork={"claim": SUBMITTED_CLAIM},
    ),
    as_contractor(
        "claim_submit_segments",
        "claim submit",
        f"{CLAIM_ID} --result-file answer.json --segments segments.json",
        SubmitWork={"claim": SUBMITTED_CLAIM},
    ),
    as_contractor(
        "claim_submit_expired",
        "claim submit",
        f"{CLAIM_ID} --result-file answer.json",
        fails=True,
        SubmitWork=_EXPIRED,
    ),
    as_contractor(
        "claim_get_answer_spec",
        "claim get",
        CLAIM_ID,
        options=(),
        GetClaim={"claim": {**CLAIM, "answer_spec": ANSWER_SPEC}},
    ),
    as_contractor(
        "claim_submit_does_not_fit",
        "claim submit",
        f"{CLAIM_ID} --result-file answer-critical.json --worked 40m",
        fails=True,
        SubmitWork=Refusal(
            "INVALID_ARGUMENT",
            "result.severity: 'critical' is not one of mild|moderate|severe",
            "ANSWER_DOES_NOT_FIT",
            {"field": "result.severity"},
        ),
    ),
]

ACCOUNTS = [
    as_contractor(
        "statement",
        "statement",
        "--page-size 2",
        ListStatement={**STATEMENT, "next_page_token": "p2"},
    ),
    case(
        "statement_operator_all",
        "statement",
        "--account contractor:dr-lee --all",
        ListStatement=[
            {**STATEMENT, "next_page_token": "p2"},
            {"account_id": "contractor:dr-lee", "entries": []},
        ],
    ),
    as_contractor(
        "statement_other_account",
        "statement",
        "--account contractor:someone-else",
        fails=True,
        ListStatement=missing("account contractor:someone-else"),
    ),
    as_contractor(
        "earnings",
        "earnings",
        GetEarnings=EARNINGS,
        ListMyClaims={  # work awaiting review counts as pending; reviewed work does not
            "claims": [
                SUBMITTED_CLAIM,
                {**SUBMITTED_CLAIM, "claim_id": "c-accepted", "review": "REVIEW_STATE_ACCEPTED"},
            ]
        },
    ),
    case("earnings_operator", "earnings", "--contractor dr-lee", GetEarnings=EARNINGS),
    case(
        "earnings_operator_needs_contractor",
        "earnings",
        fails=True,
        GetEarnings=Refusal(
            "INVALID_ARGUMENT",
            "contractor_id: required for an operator",
            "INVALID_ARGUMENT",
            {"field": "contractor_id"},
        ),
    ),
]

SCORES = [
    as_contractor(
        "scores",
        "scores",
        f"--project {PROJECT_ID} --page-size 1",
        ListMyScores={"scores": [SCORE], "next_page_token": "p2"},
    ),
    as_contractor(
        "scores_table_all",
        "scores",
        "--all",
        options=(),
        ListMyScores=[{"scores": [SCORE], "next_page_token": "p2"}, {"scores": [OTHER_SCORE]}],
    ),
    case(
        "scores_client",
        "scores",
        "--contractor dr-lee",
        caller="client",
        GetContractorScores={"scores": [SCORE, OTHER_SCORE]},
    ),
    case(
        "scores_operator_table",
        "scores",
        f"--contractor dr-lee --project {PROJECT_ID}",
        options=(),
        GetContractorScores={"scores": [SCORE]},
    ),
    case(
        "scores_client_none",
        "scores",
        "--contractor someone-else",
        caller="client",
        GetContractorScores={},
    ),
    case("scores_client_names_no_contractor", "scores", caller="client", fails=True),
    as_contractor("scores_contractor_names_another", "scores", "--contractor bo", fails=True),
    as_contractor(
        "scores_expired_token",
        "scores",
        fails=True,
        ListMyScores=Refusal("UNAUTHENTICATED", "token expired", "CREDENTIAL_EXPIRED"),
    ),
]

CASES: list[Case] = [*OFFERS, *CLAIMS, *ACCOUNTS, *SCORES]
