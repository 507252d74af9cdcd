"""Golden cases of quality rules, sanctions and appeals: a client's rules (quality rules
get|set), sanctions and appeals as each audience reads them, filing an appeal (a
contractor) and deciding one (a client, an operator), and the client's Watch showing a
sanction and an appeal."""

from __future__ import annotations

from functools import partial
from typing import Any

from grpc_standin import Echo, Refusal

from crewctl_golden.harness import Case, case, invalid, missing
from crewctl_golden.records import AT, CLAIM_ID, LATER, OTHER_CLAIM_ID, PROJECT_ID, TASK_ID

as_client = partial(case, caller="client")
as_contractor = partial(case, caller="contractor")
SANCTION_ID = "9c4d2e1f-3a5b-4c6d-8e7f-0a1b2c3d4e5f"
APPEAL_ID = "2b7e4c1d-6f3a-4e8b-9c0d-5a1f2e3d4c6b"

RULE: dict[str, Any] = {
    "rule_id": "low-gold",
    "measure": "RULE_MEASURE_GOLD_ACCURACY",
    "below": 70,
    "min_sample": 10,
    "action": "RULE_ACTION_SUSPEND",
    "duration": "259200s",
}
NOTICE: dict[str, Any] = {
    "rule_id": "fast-hands",
    "measure": "RULE_MEASURE_TIME_FLAG_SHARE",
    "above": 30,
    "min_sample": 5,
    "action": "RULE_ACTION_NOTIFY",
}
SANCTION: dict[str, Any] = {
    "sanction_id": SANCTION_ID,
    "contractor_id": "dr-lee",
    "project_id": PROJECT_ID,
    "client_id": "acme-labs",
    "rule": RULE,
    "action": "RULE_ACTION_SUSPEND",
    "measured_value": 56,
    "sample": 10,
    "state": "SANCTION_STATE_ACTIVE",
    "imposed_at": AT,
    "ends_at": LATER,
    "evidence": [
        {
            "task_id": TASK_ID,
            "submission_id": CLAIM_ID,
            "submitted_at": AT,
            "gold": {
                "payload_json": '{"image":"cases/17.png"}',
                "answer_json": '{"severity":"severe"}',
                "expected_json": '{"severity":"mild"}',
            },
        },
        {
            "task_id": TASK_ID,
            "submission_id": OTHER_CLAIM_ID,
            "submitted_at": AT,
            "review": {"feedback": "the lesion is missed"},
        },
        {
            "task_id": TASK_ID,
            "submission_id": "01JA2B3C4D5E6F7G8H9J0KMNPT",
            "submitted_at": AT,
            "flag": {"flagged": True},
        },
    ],
}
NOTIFIED: dict[str, Any] = {
    **SANCTION,
    "sanction_id": "9c4d2e1f-3a5b-4c6d-8e7f-0a1b2c3d4e60",
    "rule": NOTICE,
    "action": "RULE_ACTION_NOTIFY",
    "measured_value": 40,
    "sample": 5,
    "state": "SANCTION_STATE_ENDED",
    "ends_at": None,
    "ended_at": AT,
    "evidence": [],
}
NOTIFIED = {k: v for k, v in NOTIFIED.items() if v is not None}
APPEAL: dict[str, Any] = {
    "appeal_id": APPEAL_ID,
    "contractor_id": "dr-lee",
    "project_id": PROJECT_ID,
    "client_id": "acme-labs",
    "sanction_id": SANCTION_ID,
    "text": "the gold key is wrong: the lesion is severe",
    "state": "APPEAL_STATE_PENDING",
    "filed_at": AT,
    "decide_by": LATER,
}
UPHELD: dict[str, Any] = {
    **{k: v for k, v in APPEAL.items() if k != "sanction_id"},
    "appeal_id": "2b7e4c1d-6f3a-4e8b-9c0d-5a1f2e3d4c6c",
    "submission_id": OTHER_CLAIM_ID,
    "state": "APPEAL_STATE_UPHELD",
    "decided_at": LATER,
    "decided_by": "APPEAL_DECIDER_CLIENT",
    "decision_note": "agreed",
    "accepted_submission_ids": [OTHER_CLAIM_ID],
}
_POLICY = {"policy": {"project_id": PROJECT_ID, "gold_share_percent": 5, "rules": [RULE, NOTICE]}}


def _set(request: dict[str, Any]) -> dict[str, Any]:
    """SetQualityPolicy as the quality service answers it: the rules as sent, with the
    defaults filled in, and the share as it was."""
    filled = [{"min_sample": 5, **r} for r in request["policy"].get("rules", [])]
    for rule in filled:
        if rule.get("action") != "RULE_ACTION_NOTIFY":
            rule.setdefault("duration", "604800s")
    return {"policy": {**request["policy"], "gold_share_percent": 5, "rules": filled}}


def _filed(request: dict[str, Any]) -> dict[str, Any]:
    subject = {k: v for k, v in request.items() if k != "idempotency_key"}
    return {"appeal": {**{k: v for k, v in APPEAL.items() if k != "sanction_id"}, **subject}}


_OTHER_DECISION = Refusal(
    "FAILED_PRECONDITION", "the appeal was upheld already", "APPEAL_ALREADY_DECIDED"
)
_WINDOW_CLOSED = Refusal(
    "FAILED_PRECONDITION",
    "the appeal window closed at 2026-01-09T03:04:05Z",
    "APPEAL_WINDOW_CLOSED",
)

RULE_CASES = [
    as_client(
        "quality_rules_get",
        "quality rules get",
        f"--project {PROJECT_ID}",
        GetQualityPolicy=_POLICY,
    ),
    as_client(
        "quality_rules_get_table",
        "quality rules get",
        f"--project {PROJECT_ID}",
        options=(),
        GetQualityPolicy=_POLICY,
    ),
    as_client(
        "quality_rules_get_other_client",
        "quality rules get",
        "--project not-mine",
        fails=True,
        GetQualityPolicy=missing("project not-mine"),
    ),
    as_client(
        "quality_rules_set",
        "quality rules set",
        f"--project {PROJECT_ID} -f rules.yaml",
        SetQualityPolicy=Echo(_set),
    ),
    as_client(
        "quality_rules_set_none_table",
        "quality rules set",
        f"--project {PROJECT_ID} --file no-rules.json",
        options=(),
        SetQualityPolicy=Echo(_set),
    ),
    as_client(
        "quality_rules_set_bad_file",
        "quality rules set",
        f"--project {PROJECT_ID} -f bad-rules.yaml",
        fails=True,
    ),
    as_client(
        "quality_rules_set_refused",
        "quality rules set",
        f"--project {PROJECT_ID} -f rules.yaml",
        fails=True,
        SetQualityPolicy=invalid(
            "policy.rules[2].duration", "policy.rules[2].duration: not for a notify rule"
        ),
    ),
]

SANCTION_CASES = [
    as_contractor(
        "sanctions_own",
        "sanctions",
        "",
        ListMySanctions={"sanctions": [SANCTION, NOTIFIED], "next_page_token": "s2"},
    ),
    as_contractor(
        "sanctions_own_table",
        "sanctions",
        f"--project {PROJECT_ID}",
        options=(),
        ListMySanctions={"sanctions": [SANCTION, NOTIFIED], "next_page_token": "s2"},
    ),
    as_contractor("sanctions_own_by_state", "sanctions", "--state active", fails=True),
    as_client(
        "sanctions_client",
        "sanctions",
        f"--project {PROJECT_ID} --contractor dr-lee --state active --page-size 1",
        ListSanctions={"sanctions": [SANCTION]},
    ),
    as_client("sanctions_client_no_project", "sanctions", "--contractor dr-lee", fails=True),
    as_client(
        "sanctions_client_other_project",
        "sanctions",
        "--project not-mine",
        fails=True,
        ListSanctions=missing("project not-mine"),
    ),
    case(
        "sanctions_operator_all_table",
        "sanctions",
        "--all",
        options=(),
        ListSanctions=[{"sanctions": [NOTIFIED], "next_page_token": "s2"}, {"sanctions": []}],
    ),
]

APPEAL_CASES = [
    as_contractor("appeals_own", "appeals", "", ListMyAppeals={"appeals": [APPEAL, UPHELD]}),
    as_contractor("appeals_own_by_project", "appeals", f"--project {PROJECT_ID}", fails=True),
    as_client(
        "appeals_client_pending_table",
        "appeals",
        f"--project {PROJECT_ID} --state pending",
        options=(),
        ListAppeals={"appeals": [APPEAL], "next_page_token": "a2"},
    ),
    as_client("appeals_client_no_project", "appeals", "--state pending", fails=True),
    case("appeals_operator", "appeals", "--state upheld", ListAppeals={"appeals": [UPHELD]}),
    as_contractor(
        "appeal_file_sanction",
        "appeal file",
        f"--sanction {SANCTION_ID} --text 'the gold key is wrong' --key appeal-1",
        FileAppeal=Echo(_filed),
    ),
    as_contractor(
        "appeal_file_submission_table",
        "appeal file",
        f"--submission {OTHER_CLAIM_ID} --text 'the lesion is there'",
        options=(),
        FileAppeal=Echo(_filed),
    ),
    as_contractor(
        "appeal_file_window_closed",
        "appeal file",
        f"--submission {OTHER_CLAIM_ID} --text late --key appeal-2",
        fails=True,
        FileAppeal=_WINDOW_CLOSED,
    ),
    as_contractor(
        "appeal_file_two_subjects",
        "appeal file",
        f"--sanction {SANCTION_ID} --submission {OTHER_CLAIM_ID} --text both",
        fails=True,
    ),
    as_client(
        "appeal_file_client_key",
        "appeal file",
        f"--sanction {SANCTION_ID} --text mine",
        fails=True,
    ),
    as_client(
        "appeal_decide_uphold",
        "appeal decide",
        f"{APPEAL_ID} --uphold --note agreed",
        DecideAppeal={"appeal": UPHELD},
    ),
    case(
        "appeal_decide_deny_table",
        "appeal decide",
        f"{APPEAL_ID} --deny",
        options=(),
        DecideAppeal={
            "appeal": {
                **APPEAL,
                "state": "APPEAL_STATE_DENIED",
                "decided_at": LATER,
                "decided_by": "APPEAL_DECIDER_OPERATOR",
            }
        },
    ),
    as_client("appeal_decide_undecided", "appeal decide", APPEAL_ID, fails=True),
    as_contractor("appeal_decide_contractor", "appeal decide", f"{APPEAL_ID} --uphold", fails=True),
    as_client(
        "appeal_decide_other_decision",
        "appeal decide",
        f"{APPEAL_ID} --deny",
        fails=True,
        DecideAppeal=_OTHER_DECISION,
    ),
]

_EVENT = {"at": AT, "project_id": PROJECT_ID}
WATCH_CASES = [
    as_client(
        "watch_sanction_and_appeal",
        "watch",
        f"--project {PROJECT_ID} --limit 2",
        options=(),
        Watch=[
            {
                "events": [
                    {
                        **_EVENT,
                        "cursor": "c-1",
                        "sanction_changed": {
                            "sanction": {**SANCTION, "evidence": []},
                            "version": 1,
                        },
                    },
                    {**_EVENT, "cursor": "c-2", "appeal_changed": {"appeal": UPHELD}},
                ]
            }
        ],
    ),
    as_client(
        "watch_sanction_json",
        "watch",
        f"--project {PROJECT_ID} --limit 1",
        Watch=[
            {
                "events": [
                    {
                        **_EVENT,
                        "cursor": "c-1",
                        "sanction_changed": {"sanction": {**NOTIFIED}, "version": 2},
                    }
                ]
            }
        ],
    ),
]

CASES: list[Case] = [*RULE_CASES, *SANCTION_CASES, *APPEAL_CASES, *WATCH_CASES]
