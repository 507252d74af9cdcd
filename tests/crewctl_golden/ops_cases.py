"""Golden cases of the operator's commands about the platform: payouts and the books,
dead letters and deadlines, health; and crewctl's own commands."""

from __future__ import annotations

from grpc_standin import Refusal

from crewctl_golden.harness import Case, case, invalid, missing
from crewctl_golden.records import (
    AT,
    BATCH,
    CLAIM_ID,
    DEAD_LETTER,
    DEADLINE,
    UNRECONCILED,
    VERIFIED,
    usd,
)

SERVING = {"status": "SERVING"}


BOOKS = [
    case(
        "payout_run",
        "payout run",
        "2026-w18 --threshold 50.00 USD",
        RunPayoutBatch={"batch": BATCH},
    ),
    case(
        "payout_run_invalid",
        "payout run",
        "2026-w18 --threshold 50.00 XYZ",
        fails=True,
        RunPayoutBatch=invalid("threshold.currency_code", "threshold.currency_code: unknown"),
    ),
    case(
        "payout_run_dry_run",
        "payout run",
        "--threshold 50.00 USD --dry-run",
        PreviewPayoutBatch={
            "threshold": BATCH["threshold"],
            "payouts": [
                {"contractor_id": "dr-lee", "account_id": "contractor:dr-lee", "amount": usd(12500)}
            ],
            "total": usd(12500),
            "previewed_at": AT,
        },
    ),
    case(
        "payout_run_no_batch_id",
        "payout run",
        "--threshold 50.00 USD",
        fails=True,
    ),
    case(
        "payout_list",
        "payout list",
        "--all",
        ListPayoutBatches=[
            {
                "batches": [{**BATCH, "payouts": [], "payout_count": 1, "completed_at": AT}],
                "next_page_token": "p2",
            },
            {"batches": [{**BATCH, "batch_id": "2026-w17", "payouts": [], "payout_count": 0}]},
        ],
    ),
    case(
        "payout_list_invalid",
        "payout list",
        "--page-token stale",
        fails=True,
        ListPayoutBatches=invalid("page_token", "page_token: not a token of this list"),
    ),
    case("payout_get", "payout get", "2026-w18", GetPayoutBatch={"batch": BATCH}),
    case(
        "payout_get_unknown",
        "payout get",
        "2026-w99",
        fails=True,
        GetPayoutBatch=missing("payout batch 2026-w99"),
    ),
    case("ledger_verify", "ledger verify", VerifyBooks=VERIFIED),
    case("ledger_verify_unreconciled", "ledger verify", fails=True, VerifyBooks=UNRECONCILED),
    case(
        "ledger_verify_denied",
        "ledger verify",
        fails=True,
        VerifyBooks=Refusal("PERMISSION_DENIED", "operators only", "PERMISSION_DENIED"),
    ),
]

OPS = [
    case(
        "deadletters_list",
        "deadletters list",
        "--service matcher --topic crewline.claims.v1",
        ListDeadLetters={"dead_letters": [DEAD_LETTER], "next_page_token": "p2"},
    ),
    case(
        "deadletters_list_all",
        "deadletters list",
        "--all --page-size 1",
        ListDeadLetters=[
            {"dead_letters": [DEAD_LETTER], "next_page_token": "p2"},
            {"dead_letters": [{**DEAD_LETTER, "event_id": "e-2", "replays": 0}]},
        ],
    ),
    case(
        "deadletters_list_invalid",
        "deadletters list",
        "--page-token junk",
        fails=True,
        ListDeadLetters=invalid("page_token", "page_token: not a token from this list"),
    ),
    case(
        "deadletters_replay",
        "deadletters replay",
        f"{DEAD_LETTER['event_id']}",
        ReplayDeadLetter={"outcome": "REPLAY_OUTCOME_APPLIED", "dead_letter": DEAD_LETTER},
    ),
    case(
        "deadletters_replay_failed",
        "deadletters replay",
        f"{DEAD_LETTER['event_id']} --service dispatcher",
        fails=True,
        ReplayDeadLetter={"outcome": "REPLAY_OUTCOME_FAILED", "dead_letter": DEAD_LETTER},
    ),
    case(
        "deadletters_replay_unknown",
        "deadletters replay",
        "nope",
        fails=True,
        ReplayDeadLetter=missing("dead letter nope"),
    ),
    case(
        "deadline_dead",
        "deadline dead",
        "--kind lease --service matcher",
        ListDeadLetteredDeadlines={"deadlines": [DEADLINE]},
    ),
    case(
        "deadline_dead_denied",
        "deadline dead",
        fails=True,
        ListDeadLetteredDeadlines=Refusal(
            "UNAUTHENTICATED", "credential not recognised", "CREDENTIAL_UNKNOWN"
        ),
    ),
    case(
        "deadline_rearm",
        "deadline rearm",
        f"lease {CLAIM_ID} --at 2026-01-02T03:04:05+02:00 --service matcher",
        RearmDeadline={
            "deadline": {**DEADLINE, "generation": 4, "state": "DEADLINE_STATE_PENDING"},
            "outcome": "REARM_OUTCOME_ARMED",
        },
    ),
    case(
        "deadline_rearm_unknown",
        "deadline rearm",
        "lease nope --at 2026-01-02T03:04:05Z",
        fails=True,
        RearmDeadline=missing("deadline lease nope"),
    ),
]

HEALTH = [
    case("health", "health", caller="none", Check=SERVING),
    case(
        "health_not_ready",
        "health",
        fails=True,
        script={
            "Check": [SERVING],
            "ledger:Check": [SERVING, {"status": "NOT_SERVING"}],
        },
    ),
]

CREWCTL = [
    case("help_exit_codes", "help exit-codes", caller="none"),
    case("help_exit_codes_extra_argument", "help exit-codes", "now", caller="none", fails=True),
    case("completion_bash", "completion", "bash", caller="none", options=()),
    case("completion_unknown_shell", "completion", "tcsh", caller="none", fails=True),
]

CASES: list[Case] = [*BOOKS, *OPS, *HEALTH, *CREWCTL]
