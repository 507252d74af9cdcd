"""crewctl as clients, contractors and operators use it: every command group run as a
subprocess against the real services (the operator's first steps are in test_crewctl.py).

Each crewctl run is a Python process start, seconds on a loaded machine, so set-up (a
client and its key, a contractor and its token) and the waits for Kafka to carry a
change are made over gRPC; what is tested is always crewctl's own output.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import grpc
import pytest

from crewline.client.metadata import bearer_metadata as bearer
from crewline.v1 import client_admin_service_pb2 as client_admin
from crewline.v1 import contractor_admin_service_pb2 as contractor_admin
from crewline.v1 import ledger_service_pb2 as ledger_api
from crewline.v1 import quality_service_pb2 as quality_api
from crewline.v1 import task_service_pb2 as task_api
from crewline.v1 import work_service_pb2 as work_api

from flow import unique
from harness import SERVICES, Stack, crewctl_process, run_crewctl
from stack import ROOT, eventually

EXIT_REFUSED = 1
EXIT_USAGE = 2


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str

    def doc(self) -> Any:
        """stdout as one JSON document."""
        return json.loads(self.out)

    def lines(self) -> list[Any]:
        """stdout as JSON Lines."""
        return [json.loads(line) for line in self.out.splitlines() if line.strip()]


@dataclass(frozen=True)
class Crewctl:
    """``python -m crewline.ctl.main ...`` against the test stack, with a credential."""

    env: dict[str, str]
    cwd: Path
    stack: Stack

    def as_(self, credential: str) -> Crewctl:
        """The same, acting with a client's API key or a contractor's token."""
        return Crewctl({**self.env, "CREWLINE_CREDENTIAL": credential}, self.cwd, self.stack)

    @property
    def metadata(self) -> tuple[tuple[str, str], ...]:
        """The credential crewctl acts with, for the test's own gRPC calls."""
        return bearer(self.env["CREWLINE_CREDENTIAL"])

    def start(self, *args: str) -> Awaitable[asyncio.subprocess.Process]:
        return crewctl_process(*args, env=self.env, cwd=self.cwd)

    async def run(self, *args: str) -> Run:
        return Run(*await run_crewctl(*args, env=self.env, cwd=self.cwd))

    async def ok(self, *args: str) -> Run:
        done = await self.run(*args)
        assert done.code == 0, f"crewctl {' '.join(args)} -> {done.code}: {done.err}"
        return done

    async def json(self, *args: str) -> Any:
        """The --json document of a command that must succeed."""
        return (await self.ok("--json", *args)).doc()


@pytest.fixture
def crewctl(stack: Stack, operator_credential: str, tmp_path: Path) -> Crewctl:
    empty_config = tmp_path / "crewctl.toml"
    empty_config.write_text("")  # never the operator's own ~/.config/crewline/crewctl.toml
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("CREWLINE_")}
    env = {
        **inherited,
        "CREWCTL_CONFIG": str(empty_config),
        "CREWLINE_OPERATOR_CREDENTIAL": operator_credential,
        **{
            f"CREWLINE_{name.upper()}_GRPC_ADDR": stack.services[name].grpc_addr
            for name in SERVICES
        },
    }
    return Crewctl(env, tmp_path, stack)


async def new_client(crewctl: Crewctl) -> Crewctl:
    """A new client and its API key (over gRPC); crewctl acting with that key."""
    client_id, stack = unique("acme"), crewctl.stack
    op = bearer(stack.operator_credential)
    await stack.clients.CreateClient(
        client_admin.CreateClientRequest(client_id=client_id, display_name="Acme"), metadata=op
    )
    key = await stack.clients.CreateApiKey(
        client_admin.CreateApiKeyRequest(request_id=unique("key"), client_id=client_id),
        metadata=op,
    )
    return crewctl.as_(key.secret)


async def new_contractor(crewctl: Crewctl) -> tuple[str, Crewctl]:
    """A new contractor and a token (over gRPC); crewctl acting with that token."""
    contractor_id, stack = unique("dr-lee"), crewctl.stack
    op = bearer(stack.operator_credential)
    await stack.contractors.CreateContractor(
        contractor_admin.CreateContractorRequest(contractor_id=contractor_id), metadata=op
    )
    issued = await stack.contractors.IssueContractorToken(
        contractor_admin.IssueContractorTokenRequest(contractor_id=contractor_id), metadata=op
    )
    return contractor_id, crewctl.as_(issued.secret)


async def until(check: Callable[[], Awaitable[bool]]) -> None:
    await eventually(check, timeout=60)


def write(path: Path, text: str) -> str:
    path.write_text(text)
    return str(path)


# --- clients: projects from a file --------------------------------------------------------


PROJECT_YAML = """\
title: {title}
instructions: Rate each image from 1 to 5.
pay:
  per_submission: 12.50 USD
requirements:
  - {qualification}:>=:80
slots: 3
priority: {priority}
claim_timeout: 30m
lifetime: 7d
auto_accept: 3d
"""


async def test_project_apply_creates_then_changes_nothing_then_only_what_the_file_changed(
    crewctl: Crewctl, tmp_path: Path
) -> None:
    client = await new_client(crewctl)
    derm = unique("domain.derm")
    await crewctl.json("qualification", "type", "define", derm, "--kind", "score")
    title = unique("Dermatology ratings")
    path = write(
        tmp_path / "project.yaml", PROJECT_YAML.format(title=title, qualification=derm, priority=60)
    )

    async def applied() -> bool:  # the dispatcher learns of the new type from Kafka
        done = await client.run("--json", "project", "apply", "-f", path)
        assert done.code in (0, EXIT_REFUSED), done.err  # 1: UNKNOWN_QUALIFICATION, for now
        return done.code == 0

    await until(applied)
    again = await client.json("project", "apply", "-f", path)
    assert (again["action"], again["changed"]) == ("unchanged", [])
    project = again["project"]
    assert (project["title"], project["assignments_per_task"], project["priority"]) == (
        title,
        3,
        60,
    )
    assert project["pay_terms"]["amount_minor"] == 1250
    assert project["claim_timeout_seconds"] == 1800
    assert project["requirements"] == [
        {"qualification": derm, "comparator": "greater_or_equal", "values": [80], "project_id": ""}
    ]

    write(
        tmp_path / "project.yaml", PROJECT_YAML.format(title=title, qualification=derm, priority=70)
    )
    changed = await client.json("project", "apply", "-f", path)
    assert (changed["action"], changed["changed"]) == ("updated", ["priority"])
    assert changed["project"]["project_id"] == project["project_id"]
    assert changed["project"]["revision"] == project["revision"] + 1

    as_json = {
        "title": title,
        "pay": {"per_submission": "12.50 USD"},
        "priority": 70,
        "requirements": [{"qualification": derm, "comparator": ">=", "values": [80]}],
    }
    same = await client.json(
        "project", "apply", "-f", write(tmp_path / "p.json", json.dumps(as_json))
    )
    assert (same["action"], same["project"]["revision"]) == ("unchanged", project["revision"] + 1)
    listed = await client.json("project", "list", "--all")
    assert [p["project_id"] for p in listed["projects"] if p["title"] == title] == [
        project["project_id"]
    ]


async def test_a_bad_project_file_names_the_field_and_applies_nothing(
    crewctl: Crewctl, tmp_path: Path
) -> None:
    client = await new_client(crewctl)
    path = write(tmp_path / "bad.yaml", "title: Broken\npay:\n  per_submission: 12.5\n")

    done = await client.run("project", "apply", "-f", path)

    assert done.code == EXIT_USAGE
    assert "pay.per_submission" in done.err and "nothing was applied" in done.err
    mine = await client.stack.tasks.ListProjects(
        task_api.ListProjectsRequest(), metadata=client.metadata
    )
    assert list(mine.projects) == []


# --- clients: gold tasks, the quality policy, requirements on a measure ------------------


async def test_gold_from_a_file_the_policy_and_a_requirement_on_gold_accuracy_elsewhere(
    crewctl: Crewctl, tmp_path: Path
) -> None:
    client, examples = await new_client(crewctl), ROOT / "examples"
    spec = (examples / "project-answer-spec.yaml").read_text()
    title = unique("Dermatology triage")
    path = write(tmp_path / "triage.yaml", spec.replace("Dermatology triage", title))
    triage = (await client.json("project", "apply", "-f", path))["project"]["project_id"]

    async def known() -> bool:  # the API key and the project reach the quality service
        asked = quality_api.ListGoldTasksRequest(project_id=triage)
        try:
            await crewctl.stack.quality.ListGoldTasks(asked, metadata=client.metadata)
        except grpc.aio.AioRpcError as err:
            assert err.code() in (grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.NOT_FOUND)
            return False
        return True

    await until(known)
    gold = str(examples / "gold-triage.jsonl")
    added = await client.json("gold", "add", "--project", triage, "--file", gold)
    assert (added["gold_tasks"], added["new"], added["already_there"]) == (3, 3, 0)
    again = await client.json("gold", "add", "--project", triage, "--file", gold)
    assert (again["new"], again["already_there"], again["first_gold_id"]) == (
        0,
        3,
        added["first_gold_id"],
    )
    listed = (await client.json("gold", "list", "--project", triage))["gold_tasks"]
    assert [(g["key"], g["answered"], g["correct"]) for g in listed] == [
        (f"triage-gold-{n}", 0, 0) for n in (1, 2, 3)
    ]
    assert listed[0]["answer"] == {"confidence": 0.9, "severity": "refer"}
    assert listed[1]["rules"] == {"severity": {"also_accepted": ["benign"], "tolerance": 0.0}}
    bad = write(tmp_path / "bad.jsonl", '{"key": "k", "payload": {}, "answer": {"severity": "x"}}')
    refused = await client.run("gold", "add", "--project", triage, "--file", bad)
    assert refused.code == EXIT_REFUSED and "gold_tasks[0].answer_json.severity" in refused.err

    policy = ("quality", "policy")
    assert (await client.json(*policy, "get", "--project", triage))["gold_share_percent"] == 5
    await client.json(*policy, "set", "--project", triage, "--gold-share", "10")
    assert (await client.json(*policy, "get", "--project", triage))["gold_share_percent"] == 10

    second = {
        "title": unique("Second opinions"),
        "pay": {"per_submission": "25 USD"},
        "requirements": [
            "quality.acceptance_rate:>=:60",
            {"qualification": "quality.gold_accuracy", "comparator": ">=", "values": [80],
             "project": triage},
        ],
    }  # fmt: skip
    path = write(tmp_path / "second.json", json.dumps(second))
    made = (await client.json("project", "apply", "-f", path))["project"]
    where = [r["project_id"] for r in made["requirements"]]
    assert sorted(where) == sorted([made["project_id"], triage])  # "" stored as its own id
    same = await client.json("project", "apply", "-f", path)
    assert (same["action"], same["project"]["revision"]) == ("unchanged", made["revision"])


# --- clients: tasks from a JSON Lines file --------------------------------------------------


async def new_project(client: Crewctl, *, currency: str = "USD") -> str:
    made = await client.json(
        "project", "create", unique("Captions"), "--reward", "2.00", currency, "--slots", "1"
    )
    return str(made["project_id"])


async def listed_tasks(client: Crewctl, project_id: str) -> dict[str, str]:
    """idempotency key -> task id, of every task in the project."""
    page = await client.json("task", "list", "--project", project_id, "--all")
    return {t["idempotency_key"]: t["task_id"] for t in page["tasks"]}


async def tasks_of(client: Crewctl, project_id: str) -> dict[str, str]:
    """``listed_tasks`` over gRPC (one page: the tests make fewer than 100 tasks)."""
    request = task_api.ListTasksRequest(project_id=project_id)
    page = await client.stack.tasks.ListTasks(request, metadata=client.metadata)
    return {t.idempotency_key: t.task_id for t in page.tasks}


async def test_task_submit_sends_batches_and_a_rerun_after_a_crash_submits_nothing_twice(
    crewctl: Crewctl, tmp_path: Path
) -> None:
    client = await new_client(crewctl)
    project_id = await new_project(client)
    rows = [{"id": f"clip-{n}", "url": f"https://example.org/{n}.mp4"} for n in range(25)]
    whole = write(tmp_path / "tasks.jsonl", "".join(json.dumps(r) + "\n" for r in rows))
    # A run that "crashed" after its first 7 tasks.
    part = write(tmp_path / "part.jsonl", "".join(json.dumps(r) + "\n" for r in rows[:7]))
    submit = ("task", "submit", "--project", project_id, "--key-field", "id", "--batch-size", "10")
    first = await client.json(*submit, "--file", part)
    assert (first["tasks"], first["batches"]) == (7, 1)
    before = await tasks_of(client, project_id)

    done = await client.json(*submit, "--file", whole)
    again = await client.json(*submit, "--file", whole)

    assert (done["tasks"], done["batches"], done["new"], done["already_there"]) == (25, 3, 18, 7)
    assert (again["new"], again["already_there"]) == (0, 25)
    assert {**again, "new": 18, "already_there": 7} == done  # the same tasks, first to last
    after = await listed_tasks(client, project_id)
    assert sorted(after) == sorted(r["id"] for r in rows)
    assert {k: after[k] for k in before} == before
    task = await client.json("task", "get", after["clip-3"])
    assert json.loads(task["task"]["payload_json"]) == rows[3]
    cancelled = await client.json("task", "cancel", after["clip-3"], "--reason", "duplicate")
    assert cancelled["status"] == "cancelled"


async def test_a_tasks_file_with_a_bad_line_submits_nothing(
    crewctl: Crewctl, tmp_path: Path
) -> None:
    client = await new_client(crewctl)
    project_id = await new_project(client)
    path = write(tmp_path / "t.jsonl", '{"id": "a"}\n{"name": "no key"}\n{"id": "a"}\n')

    done = await client.run(
        "task", "submit", "--project", project_id, "--file", path, "--key-field", "id"
    )

    assert done.code == EXIT_USAGE
    assert 'line 2: no "id" field' in done.err and "line 3: key 'a' is also on line 1" in done.err
    assert await tasks_of(client, project_id) == {}


# --- clients: watch -------------------------------------------------------------------------


async def test_watch_prints_events_live_stops_at_its_limit_and_resumes_from_a_cursor(
    crewctl: Crewctl, tmp_path: Path
) -> None:
    client = await new_client(crewctl)
    project_id = await new_project(client)
    path = write(tmp_path / "t.jsonl", '{"id": "w-1"}\n')
    await client.json(
        "task", "submit", "--project", project_id, "--file", path, "--key-field", "id"
    )
    task_id = (await tasks_of(client, project_id))["w-1"]
    watching = await client.start("--json", "watch", "--project", project_id, "--limit", "1")

    async def add_slot() -> None:
        request = task_api.AddSlotsRequest(request_id=unique("slot"), task_id=task_id, slots=1)
        await client.stack.tasks.AddSlots(request, metadata=client.metadata)

    async def seen() -> bool:  # an event once the watch is connected: it then stops
        await add_slot()
        return watching.returncode is not None or await _exited(watching)

    await until(seen)
    out, err = await watching.communicate()
    assert watching.returncode == 0, err.decode()
    [event] = [json.loads(line) for line in out.decode().splitlines()]
    assert (event["task_id"], event["project_id"]) == (task_id, project_id)
    assert "Resume with: crewctl watch" in err.decode()

    await add_slot()  # an event after the one printed
    resumed = await client.ok(
        "--json", "watch", "--project", project_id, "--from", event["cursor"], "--limit", "1"
    )
    [later] = resumed.lines()
    assert later["task_id"] == task_id and later["cursor"] != event["cursor"]


async def _exited(proc: asyncio.subprocess.Process) -> bool:
    try:
        await asyncio.wait_for(proc.wait(), timeout=0.5)
    except TimeoutError:
        return False
    return True


# --- contractors, then the client's review, then the books ----------------------------------


async def test_a_contractor_claims_and_submits_the_client_reviews_and_the_books_show_it(
    crewctl: Crewctl, tmp_path: Path
) -> None:
    stack = crewctl.stack
    client = await new_client(crewctl)
    contractor_id, contractor = await new_contractor(crewctl)
    project_id = await new_project(client, currency="EUR")  # its own currency: its own payout
    tasks = write(tmp_path / "t.jsonl", '{"id": "c-1", "clip": 1}\n{"id": "c-2", "clip": 2}\n')
    await client.json(
        "task", "submit", "--project", project_id, "--file", tasks, "--key-field", "id"
    )
    ids = await tasks_of(client, project_id)

    async def offered() -> bool:
        request = work_api.ListOffersRequest(project_id=project_id)
        page = await stack.work.ListOffers(request, metadata=contractor.metadata)
        return {o.task_id for o in page.offers} == set(ids.values())

    await until(offered)
    page = await contractor.json("offers", "list", "--project", project_id)
    assert {o["task_id"]: o["pay_terms"]["amount_minor"] for o in page["offers"]} == {
        task_id: 200 for task_id in ids.values()
    }
    streamed = await contractor.ok(
        "--json", "offers", "stream", "--project", project_id, "--snapshot-only"
    )
    events = streamed.lines()
    assert {e["task_id"] for e in events if e["type"] == "offered"} == set(ids.values())
    assert events[-1] == {**events[-1], "type": "snapshot_end", "offers": 2}

    # Claim, heartbeat and release one task; claim the other and hand in the work.
    released = await contractor.json("claim", "create", ids["c-1"])
    title = page["offers"][0]["title"]
    assert (released["project_id"], released["project_title"]) == (project_id, title)
    beat = await contractor.json("claim", "heartbeat", released["claim_id"], "--worked", "0")
    assert beat["status"] == "active" and beat["worked_seconds"] == 0
    gone = await contractor.json("claim", "release", released["claim_id"])
    assert (gone["status"], gone["end_reason"]) == ("ended", "released")
    claim = await contractor.json("claim", "create", ids["c-2"])
    again = await contractor.run("--json", "claim", "create", ids["c-2"])
    assert again.code == EXIT_REFUSED and "ALREADY_CLAIMED" in again.err
    granted = datetime.fromisoformat(claim["granted_at"])

    async def live_two_seconds() -> bool:  # --worked may not exceed the claim's life
        return (datetime.now(UTC) - granted).total_seconds() > 2

    await until(live_two_seconds)
    answer = write(tmp_path / "answer.json", '{"caption": "A heron lands."}')
    submitted = await contractor.json(
        "claim", "submit", claim["claim_id"], "--result-file", answer, "--worked", "2"
    )
    assert (submitted["status"], submitted["worked_seconds"]) == ("submitted", 2)
    mine = await contractor.json("claim", "list", "--status", "submitted")
    assert [c["claim_id"] for c in mine["claims"]] == [claim["claim_id"]]

    # The client exports the work and reviews it from a decisions file.
    async def one_submission() -> bool:
        request = task_api.ListSubmissionsRequest(project_id=project_id)
        page = await stack.tasks.ListSubmissions(request, metadata=client.metadata)
        return len(page.submissions) == 1

    await until(one_submission)
    [sub] = (await client.ok("submission", "export", "--project", project_id)).lines()
    assert sub["result"] == {"caption": "A heron lands."}  # joined to the task by its key
    assert (sub["task_key"], sub["payload"]) == ("c-2", {"id": "c-2", "clip": 2})
    assert sub["paid"] is None  # not reviewed yet
    bonus = {"amount": "1.00", "currency": "EUR", "reason": "Vivid"}
    decisions = write(
        tmp_path / "decisions.jsonl",
        json.dumps({"submission_id": sub["submission_id"], "decision": "accept", "bonus": bonus})
        + "\n"
        + json.dumps(
            {"submission_id": sub["submission_id"], "decision": "reject", "feedback": "Late"}
        )
        + "\n",
    )
    review = await client.run("--json", "submission", "review", "--file", decisions)
    assert review.code == EXIT_REFUSED, review.err  # the second line is refused
    results = review.doc()["results"]
    assert [(r["line"], r["decision"], r["outcome"]) for r in results] == [
        (1, "accept+bonus", "applied"),
        (2, "reject", "failed"),
    ]
    assert "ALREADY_ACCEPTED" in results[1]["error"]

    # The review reaches the quality service: the contractor, the client and the operator
    # read the score with crewctl, each with their own credential.
    async def scored() -> bool:  # the review, and the client's key, arrive from Kafka
        asked = quality_api.GetContractorScoresRequest(contractor_id=contractor_id)
        try:
            page = await stack.quality.GetContractorScores(asked, metadata=client.metadata)
        except grpc.aio.AioRpcError as err:
            assert err.code() is grpc.StatusCode.UNAUTHENTICATED, err
            return False
        return len(page.scores) == 1

    await until(scored)
    own = await contractor.json("scores")
    [score] = own["scores"]
    assert (score["contractor_id"], score["project_id"]) == (contractor_id, project_id)
    assert (score["measure"], score["value"], score["accepted"], score["reviewed"]) == (
        "acceptance_rate",
        75,
        1,
        1,
    )
    assert await client.json("scores", "--contractor", contractor_id) == own
    assert (
        await crewctl.json("scores", "--contractor", contractor_id, "--project", project_id) == own
    )
    refused = await client.run("scores")  # a client names whose scores it reads
    assert refused.code == EXIT_USAGE and "--contractor" in refused.err

    # The contractor's earnings, then the operator's payout and the books.
    async def paid() -> bool:  # the pay and the bonus, posted from Kafka
        request = ledger_api.ListStatementRequest()
        page = await stack.ledger.ListStatement(request, metadata=contractor.metadata)
        return len(page.entries) == 2

    await until(paid)
    earned = await contractor.json("earnings")
    assert [(line["key"], line["title"]) for line in earned["by_project"]] == [(project_id, title)]
    assert [line["paid"] for line in earned["total"]] == [{"currency": "EUR", "amount_minor": 200}]
    [total] = earned["total"]
    assert (total["submissions"], total["tracked_seconds"]) == (1, 2)
    assert total["per_tracked_hour"] == {"currency": "EUR", "amount_minor": 360_000}
    assert {"currency": "EUR", "amount_minor": 100} in earned["other"]  # the bonus

    statement = await contractor.json("statement", "--all")
    assert sorted(e["kind"] for e in statement["entries"]) == ["bonus", "pay"]
    batch_id = unique("crewctl-eur")
    batch = await crewctl.json("payout", "run", batch_id, "--threshold", "0.01", "EUR")
    assert [(p["contractor_id"], p["amount"]) for p in batch["payouts"]] == [
        (contractor_id, {"currency": "EUR", "amount_minor": 300})
    ]
    assert await crewctl.json("payout", "get", batch_id) == batch
    books = await crewctl.run("--json", "ledger", "verify")
    assert books.code == 0, books.err
    assert books.doc()["balanced"] is True and books.doc()["paid_twice_count"] == 0


# --- operators: dead letters; crewctl itself -----------------------------------------------


async def test_deadletters_list_answers_for_every_service(crewctl: Crewctl) -> None:
    for service in SERVICES:
        page = await crewctl.json("deadletters", "list", "--service", service)
        assert isinstance(page["dead_letters"], list)


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
async def test_completion_prints_the_shells_script(crewctl: Crewctl, shell: str) -> None:
    script = (await crewctl.ok("completion", shell)).out
    assert "_CREWCTL_COMPLETE" in script and f"{shell}_complete" in script


async def test_bash_completion_completes_commands_from_the_script_protocol(
    crewctl: Crewctl,
) -> None:
    completing = Crewctl(
        {
            **crewctl.env,
            "_CREWCTL_COMPLETE": "bash_complete",
            "COMP_WORDS": "crewctl off",
            "COMP_CWORD": "1",
        },
        crewctl.cwd,
        crewctl.stack,
    )
    done = await completing.ok()
    assert "plain,offers" in done.out.splitlines()


async def test_help_exit_codes_lists_every_code(crewctl: Crewctl) -> None:
    rows = await crewctl.json("help", "exit-codes")
    assert [r["code"] for r in rows] == [0, 1, 2, 3, 4, 5, 6, 7]
