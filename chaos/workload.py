"""The marketplace a chaos run drives, through the SDK as real callers would.

Clients publish batches into five projects each, one for each way work ends:

- ``review``: per-submission pay; the client accepts, rejects and grants bonuses;
- ``auto``: per-submission pay, nobody reviews: auto-accept pays it;
- ``hourly``: hourly pay; contractors heartbeat their time worked, auto-accept pays it;
- ``paused``: paused mid-work (its live claims cut) and resumed;
- ``closed``: hourly pay, closed mid-work: cut claims that end without work are settled.

A few tasks live only seconds (they may expire), and a few are cancelled. Contractors
race for offers, and then hand in work, release it, or walk away and let the lease
lapse. One contractor was referred by another. Every call goes into the history; a
call whose outcome is unknown is asked again with the same request id, as an app
would, which is itself a test of idempotency.

Each client follows its own Watch from its first event to the end, reconnecting with
its last cursor across every fault; what it saw is kept for the checker, and the
statuses it reports pace the clients and tell the run when every task has ended.
"""

from __future__ import annotations

import asyncio
import math
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar

from chaos import qc
from chaos.history import Answer, History
from chaos.model import WatchedEvent
from chaos.state import WATCH_START, watched_event
from crewline.client import (
    Client,
    Contractor,
    CrewlineError,
    Endpoints,
    Operator,
    Reconnect,
    SubmissionStatus,
    hourly,
    per_submission,
    requirement,
    task,
    usd,
)
from crewline.v1 import project_pb2
from crewline.v1 import task_service_pb2 as task_api

T = TypeVar("T")

CLAIM_TIMEOUT = 10  # seconds: a lease left to lapse ends this long after its last heartbeat
AUTO_ACCEPT = 2  # seconds, in the projects nobody reviews
GOLD_AUTO_ACCEPT = 5  # seconds, in the gold project: its client reviews first, nearly always
SHORT_LIFETIME = 3  # seconds: tasks that may well expire before anyone finishes them
LONG_LIFETIME = 24 * 3600
RETRIES = 8  # asking again after an indefinite answer; then the run goes on without it
ENDED = frozenset({"TASK_STATUS_COMPLETED", "TASK_STATUS_EXPIRED", "TASK_STATUS_CANCELLED"})
IN_PROGRESS = "TASK_STATUS_IN_PROGRESS"
CANARY = "chaos-canary"
CUT = frozenset({"PROJECT_PAUSED", "PROJECT_CLOSED", "TASK_CANCELLED"})  # a heartbeat's refusal
PATIENT = Reconnect(give_up_after=math.inf, max_backoff=1.0)
# Each call's deadline: short, so that a paused process's calls time out (an indefinite
# answer, asked again with the same request id) rather than wait out the pause.
CALL_TIMEOUT = 2.0


@dataclass(frozen=True, kw_only=True)
class ProjectKind:
    key: str
    share: float  # of the tasks
    terms: project_pb2.PayTerms
    auto_accept_seconds: int


KINDS = (
    ProjectKind(key="review", share=0.3, terms=per_submission(usd(200)), auto_accept_seconds=86400),
    ProjectKind(
        key="auto", share=0.25, terms=per_submission(usd(150)), auto_accept_seconds=AUTO_ACCEPT
    ),
    ProjectKind(
        key="hourly",
        share=0.2,
        terms=hourly(usd(3600), max_paid_seconds=60),
        auto_accept_seconds=AUTO_ACCEPT,
    ),
    ProjectKind(
        key="paused", share=0.15, terms=per_submission(usd(100)), auto_accept_seconds=AUTO_ACCEPT
    ),
    ProjectKind(
        key="closed",
        share=0.1,
        terms=hourly(usd(7200), max_paid_seconds=60),
        auto_accept_seconds=AUTO_ACCEPT,
    ),
    ProjectKind(
        key=qc.KIND,
        share=0.25,
        terms=per_submission(usd(100)),
        auto_accept_seconds=GOLD_AUTO_ACCEPT,
    ),
)
PAUSE_AT, RESUME_AT, CLOSE_AT = 0.3, 0.5, 0.6  # progress (ended tasks / all tasks)


@dataclass(frozen=True, kw_only=True)
class Sizes:
    tasks: int = 500
    contractors: int = 30
    clients: int = 2
    batch: int = 40  # the largest batch a client submits
    window: int = 120  # tasks a client keeps unfinished at most


@dataclass
class Progress:
    """What the run knows of its tasks, from the clients' Watch."""

    planned: int
    submitted: int = 0
    status: dict[str, str] = field(default_factory=dict)  # task id -> last status seen
    ours: set[str] = field(default_factory=set)  # the tasks the clients published (not gold)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def ended(self) -> int:
        return sum(1 for t in self.ours if self.status.get(t) in ENDED)

    @property
    def fraction(self) -> float:
        return self.ended / self.planned

    @property
    def done(self) -> bool:
        return self.submitted >= self.planned and self.ended >= self.submitted

    async def reached(
        self, fraction: float, stop: asyncio.Event, *, unless: Callable[[], bool] | None = None
    ) -> bool:
        """Waits until that share of the tasks ended (or ``unless`` says to go on); False
        if the run stops first."""
        while self.fraction < fraction and not stop.is_set() and not (unless and unless()):
            self.changed.clear()
            try:
                await asyncio.wait_for(self.changed.wait(), timeout=1.0)
            except TimeoutError:
                pass
        return not stop.is_set()


async def retried(
    history: History,
    process: str,
    f: str,
    args: dict[str, Any],
    call: Callable[[], Awaitable[T]],
    value: Callable[[T], dict[str, Any]] | None = None,
) -> Answer[T]:
    """The call, asked again (the same request) while its answer is indefinite."""
    attempt = 0
    while True:
        answer = await history.call(process, f, args, call, value)
        attempt += 1
        if answer.op.type != "info" or attempt == RETRIES:
            return answer
        await asyncio.sleep(min(0.2 * 2**attempt, 3.0))


@dataclass
class Market:
    """The run's participants, made before the faults start."""

    operator: Operator
    clients: dict[str, Client]
    projects: dict[str, dict[str, str]]  # client id -> kind key -> project id
    contractors: dict[str, Contractor]
    canary_client: Client
    canary_contractor: Contractor
    canary_project: str
    gold_projects: frozenset[str] = frozenset()  # the projects with gold and a rule

    async def close(self) -> None:
        for sdk in [*self.clients.values(), *self.contractors.values()]:
            await sdk.close()
        await self.canary_client.close()
        await self.canary_contractor.close()
        await self.operator.close()


async def setup(
    history: History, endpoints: Endpoints, operator_credential: str, sizes: Sizes, seed: int
) -> Market:
    """Clients with keys and projects, contractors with tokens (one referred), and the
    canary: a client and contractor of their own, for measuring recovery."""
    operator = Operator(credential=operator_credential, endpoints=endpoints)
    op = "operator"

    async def must(f: str, args: dict[str, Any], call: Callable[[], Awaitable[T]]) -> T:
        # Set-up happens before any fault: it must succeed, though a service may still be
        # catching up on an event (a qualification type the dispatcher has not yet heard of).
        for _ in range(1200):  # two minutes: a safety net, not a speed target
            answer = await history.call(op, f, args, call)
            if answer.result is not None:
                return answer.result
            await asyncio.sleep(0.1)
        raise RuntimeError(f"set-up step {f} {args} kept failing: {answer.op}")

    clients: dict[str, Client] = {}
    projects: dict[str, dict[str, str]] = {}
    for n in range(sizes.clients + 1):
        client_id = f"lab{n}" if n < sizes.clients else "canary"
        await must(
            "create_client", {"client_id": client_id}, partial(operator.create_client, client_id)
        )
        key = await must(
            "create_api_key",
            {"client_id": client_id},
            partial(operator.create_api_key, client_id, request_id=f"key-{client_id}"),
        )
        # Streams reconnect for as long as a fault lasts.
        clients[client_id] = Client(
            credential=key.secret, endpoints=endpoints, reconnect=PATIENT, timeout=CALL_TIMEOUT
        )
    await must(
        "define_qualification",
        {"name": CANARY},
        lambda: operator.define_qualification_type(
            CANARY, kind=project_pb2.QUALIFICATION_KIND_PRESENCE
        ),
    )
    contractors: dict[str, Contractor] = {}
    names = [f"x{n:03d}" for n in range(sizes.contractors)] + ["canary"]
    for n, contractor_id in enumerate(names):
        referred_by = names[0] if n == 1 else ""  # the second was referred by the first
        await must(
            "create_contractor",
            {"contractor_id": contractor_id, "referred_by": referred_by},
            partial(operator.create_contractor, contractor_id, referred_by=referred_by),
        )
        token = await must(
            "issue_token",
            {"contractor_id": contractor_id},
            partial(operator.issue_token, contractor_id, ttl_seconds=7 * 86400),
        )
        contractors[contractor_id] = Contractor(
            credential=token.secret, endpoints=endpoints, timeout=CALL_TIMEOUT
        )
    await must(
        "grant_qualification",
        {"contractor_id": "canary"},
        lambda: operator.grant_qualification("canary", CANARY),
    )
    canary_client = clients.pop("canary")
    for client_id, client in clients.items():
        projects[client_id] = {}
        for kind in KINDS:
            request_id = f"{client_id}-{kind.key}"
            made = await must(
                "create_project",
                {"client_id": client_id, "request_id": request_id, "kind": kind.key},
                partial(
                    client.create_project,
                    title=f"{kind.key} work of {client_id}",
                    pay_terms=kind.terms,
                    claim_timeout_seconds=CLAIM_TIMEOUT,
                    auto_accept_delay_seconds=kind.auto_accept_seconds,
                    task_lifetime_seconds=LONG_LIFETIME,
                    request_id=request_id,
                    answer_spec=qc.SPEC if kind.key == qc.KIND else None,
                ),
            )
            projects[client_id][kind.key] = made.project_id
        await qc.equip(must, client_id, client, projects[client_id][qc.KIND])
    canary = await must(
        "create_project",
        {"client_id": "canary", "request_id": "canary"},
        lambda: canary_client.create_project(
            title="canary",
            pay_terms=per_submission(usd(1)),
            request_id="canary",
            requirements=[requirement(CANARY)],
            claim_timeout_seconds=CLAIM_TIMEOUT,
            auto_accept_delay_seconds=AUTO_ACCEPT,
        ),
    )
    return Market(
        operator=operator,
        clients=clients,
        projects=projects,
        contractors=contractors,
        canary_client=canary_client,
        canary_contractor=contractors.pop("canary"),
        canary_project=canary.project_id,
        gold_projects=frozenset(p[qc.KIND] for p in projects.values()),
    )


# --- clients ---------------------------------------------------------------------------


class LabActor:
    """One client: publishes its share of the tasks in batches, reviews its ``review``
    project, pauses, resumes and closes the projects meant for it, cancels a few tasks."""

    def __init__(
        self,
        client_id: str,
        market: Market,
        history: History,
        progress: Progress,
        share: int,
        sizes: Sizes,
        seed: int,
        stop: asyncio.Event,
    ) -> None:
        self.id, self.sdk = client_id, market.clients[client_id]
        self.projects = market.projects[client_id]
        self.history, self.progress, self.share, self.sizes = history, progress, share, sizes
        self.rng = random.Random(f"{seed}/{client_id}")
        self.stop = stop
        self.process = f"client:{client_id}"
        self.mine: dict[str, str] = {}  # task id -> its project's kind, in the order published
        self.closed: set[str] = set()  # project kinds that take no more tasks
        # Project kinds paused: nothing is published there, and their tasks, which wait
        # for the resume, do not count against the window (else they could fill it, and
        # the run would wait for a resume that waits for the run).
        self.held: set[str] = set()
        self.published = 0

    async def run(self) -> None:
        quality = qc.QualityClient(
            self.id, self.sdk, self.projects[qc.KIND], partial(retried, self.history)
        )
        async with asyncio.TaskGroup() as group:
            group.create_task(self._publish())
            group.create_task(self._review())
            group.create_task(self._lifecycle())
            group.create_task(quality.review(self.stop))
            group.create_task(quality.decide(self.stop))

    def _unfinished(self) -> int:
        """Tasks not ended, outside the projects held paused."""
        status = self.progress.status
        return sum(
            1
            for t, kind in self.mine.items()
            if kind not in self.held and status.get(t) not in ENDED
        )

    def _stalled(self) -> bool:
        """Everything published, and all of it ended but what a paused project holds."""
        return self.published >= self.share and self._unfinished() == 0

    async def _publish(self) -> None:
        batch_no = 0
        while self.published < self.share and not self.stop.is_set():
            if self._unfinished() >= self.sizes.window:
                await asyncio.sleep(0.2)
                continue
            open_kinds = [k for k in KINDS if k.key not in self.closed | self.held]
            kind = self.rng.choices(open_kinds, weights=[k.share for k in open_kinds])[0]
            size = min(self.rng.randint(1, self.sizes.batch), self.share - self.published)
            batch_no += 1
            keys = [f"{self.id}-b{batch_no}-{i}" for i in range(size)]
            slots = 2 if self.rng.random() < 0.2 else 1
            lifetime = SHORT_LIFETIME if self.rng.random() < 0.05 else LONG_LIFETIME
            specs = [
                task({"n": key}, idempotency_key=key, slots=slots, lifetime_seconds=lifetime)
                for key in keys
            ]
            args = {
                "client_id": self.id,
                "project_id": self.projects[kind.key],
                "keys": keys,
                "slots": slots,
                "lifetime_seconds": lifetime,
            }
            published_now = await retried(
                self.history,
                self.process,
                "submit_tasks",
                args,
                partial(self.sdk.submit_tasks, self.projects[kind.key], specs),
                lambda tasks: {"task_ids": [t.task_id for t in tasks]},
            )
            if (tasks := published_now.result) is not None:
                ids = [t.task_id for t in tasks]
                self.mine.update((task_id, kind.key) for task_id in ids)
                self.progress.ours.update(ids)
                self.published += len(ids)
                self.progress.submitted += len(ids)
                if self.rng.random() < 0.1:
                    await self._cancel(self.rng.choice(ids))
            elif published_now.op.reason == "PROJECT_CLOSED":
                self.closed.add(kind.key)

    async def _cancel(self, task_id: str) -> None:
        await retried(
            self.history,
            self.process,
            "cancel_task",
            {"client_id": self.id, "task_id": task_id},
            lambda: self.sdk.cancel_task(task_id, reason="chaos: no longer needed"),
        )

    async def _review(self) -> None:
        """Accepts most of the review project's work, rejects some, tips a few."""
        project = self.projects["review"]
        while not self.stop.is_set():
            try:
                page = await self.sdk.list_submissions_page(
                    project_id=project, status=SubmissionStatus.PENDING_REVIEW, page_size=50
                )
            except CrewlineError:
                await asyncio.sleep(0.5)  # a read during a fault: ask again
                continue
            for sub in page.items:
                await self._decide(sub.submission_id)
            if not page.items:
                await asyncio.sleep(0.3)

    async def _decide(self, submission_id: str) -> None:
        rng = random.Random(f"{submission_id}")  # the same verdict however often it is seen
        args = {"client_id": self.id, "submission_id": submission_id}
        if rng.random() < 0.2:
            await retried(
                self.history,
                self.process,
                "reject",
                args,
                lambda: self.sdk.reject(submission_id, feedback="chaos: not this time"),
            )
            return
        accepted = await retried(
            self.history, self.process, "accept", args, lambda: self.sdk.accept(submission_id)
        )
        if accepted.op.type == "ok" and rng.random() < 0.25:
            key = f"bonus-{submission_id}"
            await retried(
                self.history,
                self.process,
                "bonus",
                {**args, "idempotency_key": key, "amount_minor": 50},
                lambda: self.sdk.grant_bonus(
                    submission_id, amount=usd(50), reason="chaos: thorough", idempotency_key=key
                ),
                lambda grant: {"bonus_id": grant.bonus.bonus_id},
            )

    async def _lifecycle(self) -> None:
        if not await self.progress.reached(PAUSE_AT, self.stop):
            return
        await self._until_worked_on("paused")
        self.held.add("paused")
        await self._project_call("pause_project", "paused")
        # Resumed at its share of the run, or once nothing else is left to do.
        if not await self.progress.reached(RESUME_AT, self.stop, unless=self._stalled):
            return
        await self._project_call("resume_project", "paused")
        self.held.discard("paused")
        if await self.progress.reached(CLOSE_AT, self.stop):
            await self._until_worked_on("closed")
            self.closed.add("closed")
            await self._project_call("close_project", "closed")

    async def _until_worked_on(self, kind: str, *, limit: float = 30.0) -> None:
        """Until one of the project's tasks is claimed, so that pausing or closing it cuts
        a live claim (or ``limit`` seconds: then it is paused or closed all the same)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + limit
        status = self.progress.status
        while loop.time() < deadline and not self.stop.is_set():
            if any(k == kind and status.get(t) == IN_PROGRESS for t, k in self.mine.items()):
                return
            await asyncio.sleep(0.1)

    async def _project_call(self, f: str, kind: str) -> None:
        project_id = self.projects[kind]
        call = {
            "pause_project": self.sdk.pause_project,
            "resume_project": self.sdk.resume_project,
            "close_project": self.sdk.close_project,
        }[f]
        for _ in range(RETRIES):  # a pause that never lands would hold the run
            done = await retried(
                self.history,
                self.process,
                f,
                {"client_id": self.id, "project_id": project_id},
                lambda: call(project_id),
            )
            if done.op.type == "ok":
                return


# --- contractors -----------------------------------------------------------------------


class ExpertActor:
    """One contractor: takes offers among the first few, then works and hands in, gives
    the claim back, or walks away from it."""

    def __init__(
        self,
        contractor_id: str,
        sdk: Contractor,
        history: History,
        seed: int,
        stop: asyncio.Event,
        gold_projects: frozenset[str] = frozenset(),
    ) -> None:
        self.id, self.sdk, self.history, self.stop = contractor_id, sdk, history, stop
        self.rng = random.Random(f"{seed}/{contractor_id}")
        self.process = f"contractor:{contractor_id}"
        self.claims = 0
        self.gold_projects = gold_projects
        self.appealed: set[str] = set()  # sanctions looked at (appealed or let be)
        self.next_look = 0.0

    async def run(self) -> None:
        while not self.stop.is_set():
            try:
                page = await self.sdk.list_offers_page(page_size=10)
            except CrewlineError:
                await asyncio.sleep(0.5)
                continue
            if not page.items:
                await asyncio.sleep(0.2)
                continue
            # Work in a project with gold first, so that gold (issued after a claim
            # there) is met often enough for its rule to act.
            gold = [o for o in page.items if o.project_id in self.gold_projects]
            offer = gold[0] if gold else self.rng.choice(page.items[:5])
            hourly = offer.pay_terms is not None and offer.pay_terms.rate is not None
            await self._take(offer.task_id, hourly=hourly, graded=bool(gold))
            await self._look_at_sanctions()

    async def _look_at_sanctions(self) -> None:
        """A careless contractor looks at their sanctions every few seconds, and appeals."""
        loop = asyncio.get_running_loop()
        if not qc.careless(self.id) or loop.time() < self.next_look:
            return
        self.next_look = loop.time() + 2.0
        await qc.appeal_sanctions(self.id, self.sdk, partial(retried, self.history), self.appealed)

    async def _take(self, task_id: str, *, hourly: bool, graded: bool = False) -> None:
        self.claims += 1
        request_id = f"{self.id}-c{self.claims}"

        def shown(c: Any) -> dict[str, Any]:
            # What a claim in a gold project showed, kept to search for gold keys.
            kept = {"claim_id": c.claim_id}
            if graded:
                kept["payload"] = c.payload if isinstance(c.payload, str) else repr(c.payload)
            return kept

        granted = await retried(
            self.history,
            self.process,
            "claim",
            {"contractor_id": self.id, "task_id": task_id, "request_id": request_id},
            lambda: self.sdk.claim(task_id, request_id=request_id),
            shown,
        )
        if granted.result is None:
            return
        claim_id = granted.result.claim_id
        args = {"contractor_id": self.id, "claim_id": claim_id}
        roll = self.rng.random()
        if roll < 0.08:
            await retried(
                self.history, self.process, "release", args, lambda: self.sdk.release(claim_id)
            )
        elif roll < 0.14:
            self.history.note(self.process, "abandon", args)
        else:
            await self._work(claim_id, hourly=hourly, graded=graded)

    async def _work(self, claim_id: str, *, hourly: bool, graded: bool = False) -> None:
        """Per-submission work is quick; hourly work reports its time as it goes. Work cut
        short (the heartbeat refused because the client paused, closed or cancelled) is
        handed in as it stands, or given back half the time: on hourly terms that is
        settled for the time reported."""
        worked = 0
        if hourly:
            for _ in range(self.rng.randint(1, 4)):
                await asyncio.sleep(1.0)
                worked += 1
                beat = await self.history.call(
                    self.process,
                    "heartbeat",
                    {"contractor_id": self.id, "claim_id": claim_id, "worked_seconds": worked},
                    partial(self.sdk.heartbeat, claim_id, worked_seconds=worked),
                )
                if beat.op.reason in CUT:
                    if self.rng.random() < 0.5:
                        await retried(
                            self.history,
                            self.process,
                            "release",
                            {"contractor_id": self.id, "claim_id": claim_id},
                            lambda: self.sdk.release(claim_id),
                        )
                        return
                    break
        else:
            await asyncio.sleep(self.rng.uniform(0, 0.2))
        result: str | dict[str, Any] = f'{{"claim": "{claim_id}", "by": "{self.id}"}}'
        if graded:
            result = qc.answer(self.id)
        await retried(
            self.history,
            self.process,
            "submit",
            {"contractor_id": self.id, "claim_id": claim_id, "worked_seconds": worked},
            lambda: self.sdk.submit(claim_id, result, worked_seconds=worked),
        )


# --- the watch -------------------------------------------------------------------------


class Watcher:
    """A client's Watch from its first event, resumed from the last cursor after every
    failure; what it saw, in order, and each task's last status for the run's pace."""

    def __init__(self, client: Client, progress: Progress) -> None:
        self.client, self.progress = client, progress
        self.seen: list[WatchedEvent] = []
        self.cursor = WATCH_START

    async def run(self) -> None:
        """Until cancelled (the run stops it once the stack has quiesced)."""
        while True:
            stream = self.client.watch(cursor=self.cursor)
            try:
                async for event in stream:
                    self.cursor = event.cursor
                    self._saw(event)
            except CrewlineError:
                await asyncio.sleep(0.5)  # the SDK gave up reconnecting: start again
            finally:
                await stream.aclose()

    def _saw(self, event: task_api.WatchEvent) -> None:
        self.seen.append(watched_event(event))
        if event.HasField("task_changed"):
            self.progress.status[event.task_id] = task_api.TaskStatus.Name(
                event.task_changed.status
            )
            self.progress.changed.set()
