"""A simulated client (an AI lab): publishes its projects' tasks, reviews the work that
comes in (accepts, rejects with feedback, bonuses), and pauses a project for a while.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping

from crewline.client import (
    Client,
    CrewlineError,
    InvalidArgument,
    Money,
    Project,
    ProjectState,
    Submission,
    SubmissionStatus,
    TaskStatus,
    build,
)
from crewline.v1 import project_pb2
from tools.demo_contractor import Journal
from tools.demo_display import Tracker
from tools.demo_market import (
    CURRENCY,
    LICENSE,
    ContractorProfile,
    MarketPlan,
    Pay,
    ProjectSpec,
    TaskPlan,
    Verdict,
    bonus_minor,
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
        self._profiles: Mapping[str, ContractorProfile] = {c.id: c for c in plan.contractors}

    @property
    def sdk(self) -> Client:
        return self._sdk

    async def create_projects(self) -> None:
        """Its projects, retried while the dispatcher has yet to learn the run's
        qualification types (``UNKNOWN_QUALIFICATION``)."""
        for n, spec in enumerate(self.specs):
            self.project_ids[spec.key] = await self._create(spec, priority=60 + n)

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

    async def _review(self, spec: ProjectSpec, submission: Submission) -> None:
        sid = submission.submission_id
        profile = self._profiles[submission.contractor_id]
        task = self.task_plans[submission.task_id]
        verdict = review(self._plan.seed, task, profile, spec.domain)
        try:
            if verdict is Verdict.REJECT:
                await self._sdk.reject(sid, feedback=FEEDBACK)
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
        for project_id in self.project_ids.values():
            async for t in self._sdk.tasks(project_id=project_id, page_size=500):
                if t.status is not TaskStatus.COMPLETED:
                    return False
        return True


def _state(project: Project) -> str:
    return str(project.state).lower()


def _bonus(spec: ProjectSpec, earned: Money | None) -> Money:
    """The bonus on work that earned ``earned``."""
    return Money.from_minor(bonus_minor(spec, earned.minor if earned else 0), CURRENCY)
