"""Golden cases of a client's projects and tasks, made with the client's API key."""

from __future__ import annotations

from functools import partial

from grpc_standin import Refusal

from crewctl_golden.harness import Case, case, missing
from crewctl_golden.records import (
    ANSWER_SPEC,
    AT,
    CLOSED,
    FLAGGED,
    HOURLY,
    PAUSED,
    PENDING,
    PER_SUBMISSION,
    PROJECT,
    PROJECT_ID,
    SUBMISSION,
    TASK,
    TASK_ID,
)

as_client = partial(case, caller="client")
_CLOSED = Refusal("FAILED_PRECONDITION", "the project is closed", "PROJECT_CLOSED")
_SECOND_TASK = {
    **TASK,
    "task_id": "1a2b3c4d-0000-4000-8000-000000000001",
    "idempotency_key": "row-18",
    "status": "TASK_STATUS_OPEN",
}


PROJECTS = [
    as_client(
        "project_create",
        "project create",
        "'Dermatology ratings' --reward 12.50 USD --requirement 'domain.dermatology:>=:80'"
        " --requirement 'locale:in:US,CA' --slots 3 --priority 10 --instructions 'Rate each"
        " image 1-5.' --request-id crewctl-golden-1",
        CreateProject={"project": PROJECT},
    ),
    as_client(
        "project_create_hourly",
        "project create",
        "'Case review' --hourly 30 USD --cap 7200 --claim-timeout 1800 --lifetime 86400"
        " --auto-accept 3600 --max-claims 2",
        CreateProject={"project": {**PROJECT, "pay_terms": HOURLY}},
    ),
    as_client(
        "project_create_unknown_qualification",
        "project create",
        "'Derm' --reward 1 USD --requirement 'domain.derm:exists'",
        fails=True,
        CreateProject=Refusal(
            "INVALID_ARGUMENT",
            "requirements[0].qualification: no type domain.derm",
            "INVALID_ARGUMENT",
            {"field": "requirements[0].qualification"},
        ),
    ),
    as_client(
        "project_create_no_credential",
        "project create",
        "Derm --reward 1 USD",
        caller="none",
        fails=True,
    ),
    as_client(
        "project_get",
        "project get",
        PROJECT_ID,
        GetProject={"project": PROJECT, "pay_terms_history": [PER_SUBMISSION, HOURLY]},
    ),
    as_client(
        "project_get_unknown",
        "project get",
        "nope",
        fails=True,
        GetProject=missing("project nope"),
    ),
    as_client(
        "project_list",
        "project list",
        "--page-size 1",
        ListProjects={"projects": [PROJECT], "next_page_token": "p2"},
    ),
    as_client(
        "project_list_all",
        "project list",
        "--all",
        ListProjects=[{"projects": [PROJECT], "next_page_token": "p2"}, {"projects": [CLOSED]}],
    ),
    as_client(
        "project_list_unauthenticated",
        "project list",
        fails=True,
        ListProjects=Refusal("UNAUTHENTICATED", "API key revoked", "CREDENTIAL_REVOKED"),
    ),
    as_client(
        "project_update",
        "project update",
        f"{PROJECT_ID} --title 'Derm v2' --hourly 30 USD --cap 7200 --no-requirements"
        " --expected-revision 4",
        UpdateProject={"project": {**PROJECT, "pay_terms": HOURLY}},
    ),
    as_client(
        "project_update_stale",
        "project update",
        f"{PROJECT_ID} --priority 5 --expected-revision 3",
        fails=True,
        UpdateProject=Refusal("ABORTED", "the project is at revision 4, not 3", "CONFLICT"),
    ),
    as_client("project_update_nothing", "project update", PROJECT_ID, fails=True),
    as_client("project_pause", "project pause", PROJECT_ID, PauseProject={"project": PAUSED}),
    as_client(
        "project_pause_closed", "project pause", PROJECT_ID, fails=True, PauseProject=_CLOSED
    ),
    as_client("project_resume", "project resume", PROJECT_ID, ResumeProject={"project": PROJECT}),
    as_client(
        "project_resume_closed", "project resume", PROJECT_ID, fails=True, ResumeProject=_CLOSED
    ),
    as_client(
        "project_close", "project close", f"{PROJECT_ID} --yes", CloseProject={"project": CLOSED}
    ),
    as_client(
        "project_close_unknown",
        "project close",
        "nope --yes",
        fails=True,
        CloseProject=missing("project nope"),
    ),
    as_client("project_close_declined", "project close", PROJECT_ID, fails=True),
    as_client(
        "project_apply_create",
        "project apply",
        "-f project.yaml",
        ListProjects={"projects": [CLOSED]},
        CreateProject={"project": PROJECT},
        PauseProject={"project": PAUSED},
    ),
    as_client(
        "project_apply_update",
        "project apply",
        "-f project.yaml",
        ListProjects={"projects": [{**PROJECT, "priority": 1}]},
        UpdateProject={"project": PROJECT},
        PauseProject={"project": PAUSED},
    ),
    as_client(
        "project_apply_unchanged",
        "project apply",
        "-f project.yaml",
        ListProjects={"projects": [PAUSED]},
    ),
    as_client(
        "project_apply_refused",
        "project apply",
        "-f project.yaml",
        fails=True,
        ListProjects={"projects": []},
        CreateProject=Refusal(
            "INVALID_ARGUMENT",
            "requirements[1].strings: at most 20",
            "INVALID_ARGUMENT",
            {"field": "requirements[1].strings"},
        ),
    ),
    as_client("project_apply_bad_file", "project apply", "-f bad-project.yaml", fails=True),
    as_client(
        "project_apply_answer_spec",
        "project apply",
        "-f project-answers.yaml",
        ListProjects={"projects": []},
        CreateProject={"project": {**PROJECT, "answer_spec": ANSWER_SPEC}},
    ),
    as_client(
        "project_apply_answer_spec_update",
        "project apply",
        "-f project-answers.yaml",
        ListProjects={"projects": [PROJECT]},
        UpdateProject={"project": {**PROJECT, "answer_spec": ANSWER_SPEC, "revision": 5}},
    ),
    as_client(
        "project_apply_answer_spec_unchanged",
        "project apply",
        "-f project-answers.yaml",
        ListProjects={"projects": [{**PROJECT, "answer_spec": ANSWER_SPEC}]},
    ),
    as_client(
        "project_apply_bad_answer_spec", "project apply", "-f bad-answer-spec.yaml", fails=True
    ),
    as_client(
        "project_get_answer_spec",
        "project get",
        PROJECT_ID,
        options=(),
        GetProject={
            "project": {**PROJECT, "answer_spec": ANSWER_SPEC},
            "pay_terms_history": [PER_SUBMISSION],
        },
    ),
]

TASKS = [
    as_client(
        "task_get",
        "task get",
        TASK_ID,
        GetTask={"task": TASK, "submissions": [SUBMISSION, PENDING]},
    ),
    as_client(
        "task_get_flagged_table",
        "task get",
        TASK_ID,
        options=(),
        GetTask={"task": TASK, "submissions": [SUBMISSION, FLAGGED]},
    ),
    as_client("task_get_unknown", "task get", "nope", fails=True, GetTask=missing("task nope")),
    as_client(
        "task_list",
        "task list",
        f"--project {PROJECT_ID} --status open --page-size 2",
        ListTasks={"tasks": [TASK, _SECOND_TASK], "next_page_token": "p2"},
    ),
    as_client(
        "task_list_all",
        "task list",
        "--all",
        ListTasks=[{"tasks": [TASK], "next_page_token": "p2"}, {"tasks": [_SECOND_TASK]}],
    ),
    as_client(
        "task_list_other_client",
        "task list",
        "--project not-mine",
        fails=True,
        ListTasks=missing("project not-mine"),
    ),
    as_client(
        "task_cancel",
        "task cancel",
        f"{TASK_ID} --reason duplicate",
        CancelTask={"task": {**TASK, "status": "TASK_STATUS_CANCELLED", "cancelled_at": AT}},
    ),
    as_client(
        "task_cancel_finished",
        "task cancel",
        TASK_ID,
        fails=True,
        CancelTask=Refusal("FAILED_PRECONDITION", "the task is completed", "TASK_FINISHED"),
    ),
    as_client(
        "task_add_slots",
        "task add-slots",
        f"{TASK_ID} 2 --request-id crewctl-golden-2",
        AddSlots={"task": {**TASK, "slots": 5}},
    ),
    as_client(
        "task_add_slots_fresh_id",
        "task add-slots",
        f"{TASK_ID} 1",
        AddSlots={"task": {**TASK, "slots": 4}},
    ),
    as_client(
        "task_add_slots_too_many",
        "task add-slots",
        f"{TASK_ID} 999",
        fails=True,
        AddSlots=Refusal(
            "INVALID_ARGUMENT", "slots: at most 1000 in all", "INVALID_ARGUMENT", {"field": "slots"}
        ),
    ),
    as_client(
        "task_lifetime_at",
        "task lifetime",
        f"{TASK_ID} --expires-at 2026-05-01T14:00:00+02:00",
        UpdateTaskLifetime={"task": {**TASK, "expires_at": "2026-05-01T12:00:00Z"}},
    ),
    as_client(
        "task_lifetime_extend",
        "task lifetime",
        f"{TASK_ID} --extend-by 2d",
        GetTask={"task": TASK},
        UpdateTaskLifetime={"task": {**TASK, "expires_at": "2026-01-11T03:04:05Z"}},
    ),
    as_client(
        "task_lifetime_too_late",
        "task lifetime",
        f"{TASK_ID} --expires-at 2030-01-01T00:00:00Z",
        fails=True,
        UpdateTaskLifetime=Refusal(
            "INVALID_ARGUMENT",
            "expires_at: at most 365 days after the task was created",
            "INVALID_ARGUMENT",
            {"field": "expires_at"},
        ),
    ),
    as_client(
        "task_submit",
        "task submit",
        f"--project {PROJECT_ID} --file tasks.jsonl --key-field id"
        " --key-prefix batch1- --batch-size 2",
        SubmitTasks=[{"tasks": [TASK, _SECOND_TASK]}, {"tasks": [{**TASK, "task_id": "t-3"}]}],
    ),
    as_client(
        "task_submit_refused",
        "task submit",
        f"--project {PROJECT_ID} --file tasks.jsonl --key-field id --batch-size 2",
        fails=True,
        SubmitTasks=[{"tasks": [TASK, _SECOND_TASK]}, _CLOSED],
    ),
    as_client(
        "task_submit_bad_file",
        "task submit",
        f"--project {PROJECT_ID} --file bad-tasks.jsonl --key-field id",
        fails=True,
    ),
]

CASES: list[Case] = [*PROJECTS, *TASKS]
