"""Golden cases of a client's quality control, made with the client's API key: gold tasks
(gold add, gold list), the quality policy (quality policy get|set), requirements on a
quality measure in a project file, and a gold task as the client's task list shows it."""

from __future__ import annotations

from functools import partial
from typing import Any

from grpc_standin import Echo, Refusal

from crewctl_golden.harness import Case, case, invalid, missing
from crewctl_golden.records import AT, PROJECT, PROJECT_ID, TASK, TASK_ID

as_client = partial(case, caller="client")
# Made by the run itself: later than any clock the tests run on (crewctl counts a gold
# task made before the run began as already there).
JUST_MADE = "2999-01-01T00:00:00Z"
TRAINING_ID = "1eb0688e-8b1d-4f7e-9a51-3d2b7c9e0f12"

GOLD: dict[str, Any] = {
    "gold_id": "5d1e9c2a-7b3f-4e8a-9c61-2f4b8d0e1a37",
    "project_id": PROJECT_ID,
    "idempotency_key": "case-17",
    "payload_json": '{"image":"cases/17.png"}',
    "answer_json": '{"confidence":0.8,"severity":"mild"}',
    "rules": [
        {"field": "confidence", "tolerance": 0.1},
        {"field": "severity", "also_accepted": ["moderate"]},
    ],
    "answered": 12,
    "correct": 9,
    "created_at": AT,
}
BINARY_GOLD: dict[str, Any] = {
    **GOLD,
    "gold_id": "5d1e9c2a-7b3f-4e8a-9c61-2f4b8d0e1a38",
    "idempotency_key": "19",
    "payload_json": None,
    "payload_bytes": "AAECAw==",
    "answer_json": '{"confidence":0.2}',
    "rules": [{"field": "confidence", "tolerance": 0.05}],
    "answered": 0,
    "correct": 0,
}
BINARY_GOLD = {k: v for k, v in BINARY_GOLD.items() if v is not None}


def _added(request: dict[str, Any]) -> dict[str, Any]:
    """AddGoldTasks as the quality service answers it: each gold task as sent, with its id;
    case-17 was added by an earlier run, the others by this one."""
    made = [
        {
            **gold,
            "gold_id": f"gold-{gold['idempotency_key']}",
            "created_at": AT if gold["idempotency_key"] == "case-17" else JUST_MADE,
        }
        for gold in request["gold_tasks"]
    ]
    return {"gold_tasks": made}


_NO_SPEC = Refusal(
    "FAILED_PRECONDITION", "the project has no answer spec: gold needs one", "NO_ANSWER_SPEC"
)
_POLICY = {"policy": {"project_id": PROJECT_ID, "gold_share_percent": 5}}

GOLD_CASES = [
    as_client(
        "gold_add",
        "gold add",
        f"--project {PROJECT_ID} --file gold.jsonl --batch-size 2",
        AddGoldTasks=Echo(_added),
    ),
    as_client(
        "gold_add_table",
        "gold add",
        f"--project {PROJECT_ID} -f gold.jsonl",
        options=(),
        AddGoldTasks=Echo(_added),
    ),
    as_client(
        "gold_add_refused",
        "gold add",
        f"--project {PROJECT_ID} --file gold.jsonl --batch-size 2",
        fails=True,
        AddGoldTasks=[
            Echo(_added),
            invalid(
                "gold_tasks[0].answer_json.confidence",
                "gold_tasks[0].answer_json.confidence: must be at most 1",
            ),
        ],
    ),
    as_client(
        "gold_add_no_answer_spec",
        "gold add",
        f"--project {PROJECT_ID} --file gold.jsonl",
        fails=True,
        AddGoldTasks=_NO_SPEC,
    ),
    as_client(
        "gold_add_bad_file", "gold add", f"--project {PROJECT_ID} -f bad-gold.jsonl", fails=True
    ),
    as_client(
        "gold_list",
        "gold list",
        f"--project {PROJECT_ID} --page-size 1",
        ListGoldTasks={"gold_tasks": [GOLD], "next_page_token": "g2"},
    ),
    as_client(
        "gold_list_all_table",
        "gold list",
        f"--project {PROJECT_ID} --all",
        options=(),
        ListGoldTasks=[
            {"gold_tasks": [GOLD], "next_page_token": "g2"},
            {"gold_tasks": [BINARY_GOLD]},
        ],
    ),
    as_client(
        "gold_list_other_client",
        "gold list",
        "--project not-mine",
        fails=True,
        ListGoldTasks=missing("project not-mine"),
    ),
    case("gold_list_operator_credential", "gold list", f"--project {PROJECT_ID}", fails=True),
]

POLICY_CASES = [
    as_client(
        "quality_policy_get",
        "quality policy get",
        f"--project {PROJECT_ID}",
        GetQualityPolicy=_POLICY,
    ),
    as_client(
        "quality_policy_get_unknown",
        "quality policy get",
        "--project nope",
        fails=True,
        GetQualityPolicy=missing("project nope"),
    ),
    as_client(
        "quality_policy_set",
        "quality policy set",
        f"--project {PROJECT_ID} --gold-share 0",
        SetQualityPolicy=Echo(lambda request: request),
    ),
    as_client(
        "quality_policy_set_table",
        "quality policy set",
        f"--project {PROJECT_ID} --gold-share 12",
        options=(),
        SetQualityPolicy=Echo(lambda request: request),
    ),
    as_client(
        "quality_policy_set_too_much",
        "quality policy set",
        "--project P --gold-share 60",
        fails=True,
    ),
    as_client(
        "quality_policy_set_other_client",
        "quality policy set",
        "--project not-mine --gold-share 10",
        fails=True,
        SetQualityPolicy=missing("project not-mine"),
    ),
]

_MEASURES = [
    {
        "qualification": "quality.acceptance_rate",
        "comparator": "COMPARATOR_GREATER_OR_EQUAL",
        "scores": [60],
        "project_id": PROJECT_ID,  # the project's own: the dispatcher fills it in
    },
    {
        "qualification": "quality.gold_accuracy",
        "comparator": "COMPARATOR_GREATER_OR_EQUAL",
        "scores": [80],
        "project_id": TRAINING_ID,
    },
]
_MEASURED = {**PROJECT, "requirements": _MEASURES}

MEASURE_CASES = [
    as_client(
        "project_apply_measures",
        "project apply",
        "-f project-measures.yaml",
        ListProjects={"projects": []},
        CreateProject={"project": _MEASURED},
    ),
    as_client(
        "project_apply_measures_unchanged",
        "project apply",
        "-f project-measures.yaml",
        options=(),
        ListProjects={"projects": [_MEASURED]},
    ),
    as_client(
        "project_apply_measures_other_client",
        "project apply",
        "-f project-measures.yaml",
        fails=True,
        ListProjects={"projects": []},
        CreateProject=invalid(
            "requirements[1].project_id",
            f"requirements[1].project_id: no project {TRAINING_ID}",
        ),
    ),
    as_client(
        "task_get_gold",
        "task get",
        TASK_ID,
        options=(),
        GetTask={"task": {**TASK, "idempotency_key": f"gold/{TASK_ID}", "reserved_for": "dr-lee"}},
    ),
]

CASES: list[Case] = [*GOLD_CASES, *POLICY_CASES, *MEASURE_CASES]
