"""A simulated client (an AI lab): publishes its projects' tasks, reviews the work that
comes in (accepts, rejects with feedback, bonuses), and pauses a project for a while.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping

from crewline.client import (
    Client,
    CrewlineError,
    InvalidArgument,
    Money,
    NotFound,
    Project,
    ProjectState,
    Submission,
    SubmissionStatus,
    TaskStatus,
    build,
)
from crewline.v1 import project_pb2
from tools import demo_triage as triage
from tools.demo_contractor import Journal
from tools.demo_display import Tracker
from tools.demo_market import (
    CURRENCY,
    LICENSE,
    ContractorProfile,
    GoldPlan,
    MarketPlan,
    Pay,
    ProjectSpec,
    TaskPlan,
    Verdict,
    bonus_minor,
    payload_item,
    review,
)

BATCH = 25  # tasks per SubmitTasks
REVIEW_SWEEP = 0.3
PAUSE_AT = 3  # pause the project once a third of its slots are handed in
PAUSE_SECONDS = 1.5
SETUP_WAIT = 30.0  # the dispatcher learns qualification types from the matcher's events
FEEDBACK = "The answer misses what the rubric asks for; see section 2."


def pay_terms(spec: ProjectSpec) -> project_pb2.PayTerms:
    if spec.pay is Pay.HOURLY:
        rate = build.money(spec.rate_minor_per_real_hour, CURRENCY)
        return build.hourly(rate, max_paid_seconds=spec.max_paid_seconds)
    return build.per_submission(build.money(spec.amount_minor, CURRENCY))


def requirements(spec: ProjectSpec) -> list[project_pb2.Requirement]:
    found = [
        build.requirement(
            spec.domain, project_pb2.COMPARATOR_GREATER_OR_EQUAL, scores=[spec.min_score]
        )
    ]
    if spec.needs_license:
        found.append(build.requirement(LICENSE, project_pb2.COMPARATOR_EXISTS))
    return found


class SimulatedClient:
    def __init__(
        self,
        key: str,
        sdk: Client,
        *,
        plan: MarketPlan,
        tracker: Tracker,
        journal: Journal,
        stop: asyncio.Event,
    ) -> None:
        self.key, self._sdk, self._plan = key, sdk, plan
        self._tracker, self._journal, self._stop = tracker, journal, stop
        self.specs = [p for p in plan.projects if p.client == key]
        self.project_ids: dict[str, str] = {}  # spec key -> project id
        self.task_plans: dict[str, TaskPlan] = {}  # task id -> its place in the plan
        self.reviewed: dict[str, Verdict] = {}  # submission id -> the verdict given
        self.paused: list[str] = []  # what each pause did, in words
        self.extra: list[TaskPlan] = []  # triage tasks added while careless ones were at large
        self.gold_tasks: dict[str, GoldPlan | None] = {}  # gold task id -> its plan
        self._profiles: Mapping[str, ContractorProfile] = {c.id: c for c in plan.contractors}

    @property
    def sdk(self) -> Client:
        return self._sdk

    async def create_projects(self) -> None:
        """Its projects, retried while the dispatcher has yet to learn the run's
        qualification types (``UNKNOWN_QUALIFICATION``)."""
        for n, spec in enumerate(self.specs):
            priority = 60 + n if spec.priority is None else spec.priority
            self.project_ids[spec.key] = await self._create(spec, priority=priority)
            if spec.triage:
                await self._set_up_quality(self.project_ids[spec.key])

    async def _set_up_quality(self, project_id: str) -> None:
        """Gold and the rule, once the quality service has heard of the project (it
        learns projects from the dispatcher's events)."""
        give_up = time.monotonic() + SETUP_WAIT
        while True:
            try:
                await triage.set_up(self._sdk, self._plan, project_id)
                return
            except NotFound:
                if time.monotonic() > give_up:
                    raise
                await asyncio.sleep(0.2)

    @property
    def triage_project(self) -> str | None:
        return next((self.project_ids[s.key] for s in self.specs if s.triage), None)

    async def _create(self, spec: ProjectSpec, *, priority: int) -> str:
        give_up = time.monotonic() + SETUP_WAIT
        while True:
            try:
                project = await self._sdk.create_project(
                    request_id=f"demo-{self._plan.run_id}-{spec.key}",
                    title=f"{spec.title} (run {self._plan.run_id})",
                    instructions=f"{spec.title}: follow the rubric attached to each task.",
                    pay_terms=pay_terms(spec),
                    requirements=requirements(spec),
                    answer_spec=triage.spec() if spec.triage else None,
                    assignments_per_task=spec.slots,
                    claim_timeout_seconds=spec.claim_timeout_seconds,
                    auto_accept_delay_seconds=spec.auto_accept_delay_seconds,
                    priority=priority,
                )
                return project.project_id
            except InvalidArgument as err:
                if err.reason != "UNKNOWN_QUALIFICATION" or time.monotonic() > give_up:
                    raise
                await asyncio.sleep(0.2)

    async def publish(self) -> None:
        """Every task the plan gives its projects, in batches."""
        for spec in self.specs:
            tasks = self._plan.tasks_of(spec.key)
            for start in range(0, len(tasks), BATCH):
                batch = tasks[start : start + BATCH]
                specs = [build.task(t.payload, idempotency_key=t.key) for t in batch]
                published = await self._sdk.submit_tasks(self.project_ids[spec.key], specs)
                for t, planned in zip(published, batch, strict=True):
                    self.task_plans[t.task_id] = planned
                self._tracker.add("published", len(published))

    async def keep_stocked(self, wanted: Callable[[], bool]) -> None:
        """While ``wanted`` (a careless contractor is still at large), keeps a few
        ordinary triage tasks open, adding at most ``STOCK_MAX`` to the plan's."""
        project_id = self.triage_project
        if project_id is None:
            return
        while not self._stop.is_set() and len(self.extra) < triage.STOCK_MAX:
            if wanted() and await triage.open_tasks(self._sdk, project_id) < triage.STOCK_LOW:
                first = len(self._plan.tasks) + len(self.extra)
                batch = triage.more_tasks(self._plan, first, triage.STOCK_BATCH)
                specs = [build.task(t.payload, idempotency_key=t.key) for t in batch]
                published = await self._sdk.submit_tasks(project_id, specs)
                for t, planned in zip(published, batch, strict=True):
                    self.task_plans[t.task_id] = planned
                self.extra.extend(batch)
                self._tracker.add("published", len(published))
                self._tracker.tasks += len(batch)
                self._tracker.slots += len(batch)  # triage takes one piece of work a task
            await triage.wait_or_stop(self._stop, triage.STOCK_POLL)

    async def review_until_stopped(self) -> None:
        reviewed = [s for s in self.specs if s.reviewed]
        while not self._stop.is_set():
            for spec in reviewed:
                await self._sweep(spec)
            await asyncio.sleep(REVIEW_SWEEP)

    async def _sweep(self, spec: ProjectSpec) -> None:
        pending = self._sdk.submissions(
            project_id=self.project_ids[spec.key],
            status=SubmissionStatus.PENDING_REVIEW,
            page_size=100,
        )
        async for submission in pending:
            await self._review(spec, submission)

    async def sweep_all(self) -> None:
        """One review of everything pending in its reviewed projects."""
        for spec in self.specs:
            if spec.reviewed:
                await self._sweep(spec)

    async def settled(self, handed_in: Mapping[str, int]) -> bool:
        """Its reviewed projects hold every piece the journal says was handed in there,
        each reviewed, and no claim on its gold is live."""
        for spec in self.specs:
            if not spec.reviewed:
                continue  # auto-accepted; the market stopped once they were completed
            project_id = self.project_ids[spec.key]
            found, waiting = 0, 0
            async for s in self._sdk.submissions(project_id=project_id, page_size=100):
                found += 1
                waiting += s.status is SubmissionStatus.PENDING_REVIEW
            if found != handed_in.get(spec.key, 0) or waiting:
                return False
            async for t in self._sdk.tasks(project_id=project_id, page_size=500):
                if t.status is TaskStatus.IN_PROGRESS:
                    return False
        return True

    async def _verdict(self, spec: ProjectSpec, submission: Submission) -> Verdict:
        """Ordinary work by the plan's reviews; gold work by its key (the lab knows it)."""
        planned = self.task_plans.get(submission.task_id)
        if planned is not None:
            profile = self._profiles[submission.contractor_id]
            return review(self._plan.seed, planned, profile, spec.domain)
        if submission.task_id not in self.gold_tasks:
            details = await self._sdk.get_task(submission.task_id)
            item = payload_item(details.task.payload)
            self.gold_tasks[submission.task_id] = next(
                (g for g in self._plan.gold if g.item == item), None
            )
        right = triage.judged_right(self.gold_tasks[submission.task_id], submission.result)
        return Verdict.ACCEPT if right else Verdict.REJECT

    async def _review(self, spec: ProjectSpec, submission: Submission) -> None:
        sid = submission.submission_id
        verdict = await self._verdict(spec, submission)
        gold = submission.task_id in self.gold_tasks
        feedback = triage.GOLD_FEEDBACK if gold else FEEDBACK
        try:
            if verdict is Verdict.REJECT:
                await self._sdk.reject(sid, feedback=feedback)
            else:
                accepted = await self._sdk.accept(sid, feedback="Thank you.")
                if verdict is Verdict.BONUS:
                    await self._sdk.grant_bonus(
                        sid,
                        amount=_bonus(spec, accepted.earned),
                        reason="Thorough, well-sourced work",
                        idempotency_key=f"demo-{self._plan.run_id}-bonus-{sid}",
                    )
        except CrewlineError as err:
            # Reviewed meanwhile (the auto-accept clock won): the services' word stands.
            if err.reason not in {"ALREADY_ACCEPTED"}:
                raise
            return
        self.reviewed[sid] = verdict
        self._tracker.add("rejected" if verdict is Verdict.REJECT else "accepted")
        if verdict is Verdict.BONUS:
            self._tracker.add("bonus")

    async def pause_midway(self) -> None:
        """Pause each project so marked once a third of its slots are handed in; resume
        it after a while. Live claims are cut, their work still counts."""
        for spec in self.specs:
            if not spec.paused_midway:
                continue
            slots = len(self._plan.tasks_of(spec.key)) * spec.slots
            while self._journal.handed_in[spec.key] < slots // PAUSE_AT:
                if self._stop.is_set():
                    return
                await asyncio.sleep(0.1)
            paused = await self._sdk.pause_project(self.project_ids[spec.key])
            self._tracker.phase = f"{spec.key} paused"
            handed_in = self._journal.handed_in[spec.key]
            await asyncio.sleep(PAUSE_SECONDS)
            resumed = await self._sdk.resume_project(self.project_ids[spec.key])
            self._tracker.phase = "running"
            self.paused.append(
                f"{spec.title}: {_state(paused)} at {handed_in} of {slots} slots handed in,"
                f" {_state(resumed)} again {PAUSE_SECONDS} s later"
            )

    async def paused_projects_active(self) -> int:
        """How many of the projects it paused are active again."""
        found = 0
        for spec in self.specs:
            if spec.paused_midway:
                details = await self._sdk.get_project(self.project_ids[spec.key])
                found += details.project.state is ProjectState.ACTIVE
        return found

    async def all_completed(self) -> bool:
        """Every task it published is completed (gold tasks are the quality service's,
        and end with their contractor's claim)."""
        for project_id in self.project_ids.values():
            async for t in self._sdk.tasks(project_id=project_id, page_size=500):
                if not t.reserved_for and t.status is not TaskStatus.COMPLETED:
                    return False
        return True

    async def close_triage(self) -> list[str]:
        """Closes the triage round once the run is over: no more gold is issued, and gold
        nobody claimed is cancelled; until no task there is unfinished (bounded)."""
        project_id = self.triage_project
        if project_id is None:
            return []
        await self._sdk.close_project(project_id)
        give_up = time.monotonic() + SETUP_WAIT
        while time.monotonic() < give_up:
            unfinished = [
                t
                async for t in self._sdk.tasks(project_id=project_id, page_size=500)
                if t.status in (TaskStatus.OPEN, TaskStatus.IN_PROGRESS)
            ]
            if not unfinished:
                return []
            await asyncio.sleep(0.3)
        return [f"triage tasks still unfinished {SETUP_WAIT:.0f} s after it was closed"]


def _state(project: Project) -> str:
    return str(project.state).lower()


def _bonus(spec: ProjectSpec, earned: Money | None) -> Money:
    """The bonus on work that earned ``earned``."""
    return Money.from_minor(bonus_minor(spec, earned.minor if earned else 0), CURRENCY)
