"""The demo's marketplace, as data: who takes part, what they publish, how they behave.

Pure: no I/O. ``plan_market`` draws everything from one seeded ``random.Random``, so a
seed fixes what a run attempts (who is skilled, which task goes where, who is flaky);
which contractor wins which race is up to the services. Every id carries the run's
id, so runs sharing a stack never mix.

The demo compresses time: one second of a simulated contractor's work stands for
``TIME_SCALE`` seconds of an expert's. Hourly projects are therefore priced at their
advertised rate x ``TIME_SCALE`` per real hour, and effective hourly earnings are
shown divided by it, so the figures read like a real marketplace's.
"""

from __future__ import annotations

import json
import random
import uuid
from dataclasses import dataclass, field
from enum import Enum

CURRENCY = "USD"
TIME_SCALE = 300  # one demo second stands for five minutes of work

MEDICINE, LAW, POETRY, CAPTIONS = (
    "domain.medicine",
    "domain.law",
    "domain.poetry",
    "domain.video_captioning",
)
DOMAINS = (MEDICINE, LAW, POETRY, CAPTIONS)
LICENSE = "credential.medical_license"  # a presence qualification


@dataclass(frozen=True, kw_only=True)
class ClientSpec:
    key: str
    name: str


CLIENTS = (
    ClientSpec(key="medlab", name="Meridian Medical Lab"),
    ClientSpec(key="lawai", name="Lexon Legal AI"),
    ClientSpec(key="media", name="Northwind Media"),
)


class Pay(Enum):
    PER_TASK = "per task"
    HOURLY = "hourly"


@dataclass(frozen=True, kw_only=True)
class ProjectSpec:
    """A project's terms. ``amount_minor`` is the reward per accepted piece, or the
    advertised hourly rate (before ``TIME_SCALE``)."""

    key: str
    client: str
    title: str
    domain: str
    min_score: int
    pay: Pay
    amount_minor: int
    slots: int
    share: int  # relative share of the run's tasks
    needs_license: bool = False
    reviewed: bool = True  # False: nobody reviews; auto-accepted after a second
    paused_midway: bool = False
    max_paid_seconds: int = 0  # hourly only: the cap, in real seconds (60 at least)
    priority: int | None = None  # None: 60 + its place among its client's projects
    triage: bool = False  # the project with an answer spec, gold and a rule (demo_triage)

    @property
    def rate_minor_per_real_hour(self) -> int:
        return self.amount_minor * TIME_SCALE

    @property
    def claim_timeout_seconds(self) -> int:
        return 3 if self.pay is Pay.HOURLY else 4

    @property
    def auto_accept_delay_seconds(self) -> int:
        # Reviewed projects keep a long safety net, so the client's own review decides.
        return 45 if self.reviewed else 1


# fmt: off
PROJECTS = (
    ProjectSpec(
        key="derm", client="medlab", title="Rate dermatology answers", domain=MEDICINE,
        min_score=70, pay=Pay.PER_TASK, amount_minor=1250, slots=2, share=20,
    ),
    ProjectSpec(
        key="radiology", client="medlab", title="Write radiology rubrics", domain=MEDICINE,
        min_score=80, pay=Pay.HOURLY, amount_minor=9000, slots=1, share=7,
        needs_license=True, max_paid_seconds=60,
    ),
    ProjectSpec(
        key="contracts", client="lawai", title="Check contract-clause answers", domain=LAW,
        min_score=70, pay=Pay.PER_TASK, amount_minor=1500, slots=2, share=20,
    ),
    ProjectSpec(
        key="caselaw", client="lawai", title="Draft case-law rubrics", domain=LAW,
        min_score=80, pay=Pay.HOURLY, amount_minor=8000, slots=1, share=6,
        reviewed=False, max_paid_seconds=60,
    ),
    ProjectSpec(
        key="captions", client="media", title="Caption video clips", domain=CAPTIONS,
        min_score=50, pay=Pay.PER_TASK, amount_minor=400, slots=1, share=30,
        reviewed=False, paused_midway=True,
    ),
    ProjectSpec(
        key="poetry", client="media", title="Rate poetry translations", domain=POETRY,
        min_score=60, pay=Pay.PER_TASK, amount_minor=800, slots=3, share=15,
    ),
    # Last, with no share: the seed draws the other projects' tasks as it always did.
    # Its own tasks are sized by the careless contractors (``_triage_tasks``); the lowest
    # priority keeps the experts on their own projects while there is work there.
    ProjectSpec(
        key="triage", client="medlab", title="Triage skin-lesion photos", domain=MEDICINE,
        min_score=50, pay=Pay.PER_TASK, amount_minor=300, slots=1, share=0,
        priority=40, triage=True,
    ),
)
# fmt: on
TRIAGE = "triage"


def hourly_pay_minor(rate_minor_per_hour: int, worked_seconds: int, cap_seconds: int) -> int:
    """rate x min(time, cap), rounded up to a whole minor unit (as the services do)."""
    paid = min(worked_seconds, cap_seconds) if cap_seconds > 0 else worked_seconds
    return -(-rate_minor_per_hour * paid // 3600)


@dataclass(frozen=True, kw_only=True)
class ContractorProfile:
    id: str
    number: int  # 1, 2, ...: the same in every run of a seed
    name: str
    scores: dict[str, int]  # domain -> 0-100
    licensed: bool
    pace: int  # whole seconds a per-task piece takes this contractor (hourly: see below)
    flakiness: float  # chance of abandoning a claim
    referred_by: str | None = None
    careless: bool = False  # answers fast and at random (demo_careless)

    def seconds_for(self, pay: Pay) -> int:
        """Whole seconds a piece takes them: whole, so the time they report is exact."""
        return self.pace + 1 if pay is Pay.HOURLY else self.pace


@dataclass(frozen=True, kw_only=True)
class TaskPlan:
    index: int
    project: str  # ProjectSpec.key
    key: str  # idempotency key, unique to the run
    payload: str


@dataclass(frozen=True, kw_only=True)
class GoldPlan:
    """A triage photo whose answer the lab knows: ``item`` tells it apart in a payload
    (the demo's own bookkeeping; contractors are shown a payload like any other)."""

    item: int
    key: str  # idempotency key
    payload: str
    answer: dict[str, str]


@dataclass(frozen=True, kw_only=True)
class MarketPlan:
    run_id: str
    seed: int
    contractors: tuple[ContractorProfile, ...]
    tasks: tuple[TaskPlan, ...]
    gold: tuple[GoldPlan, ...] = ()
    projects: tuple[ProjectSpec, ...] = PROJECTS
    clients: tuple[ClientSpec, ...] = CLIENTS

    def client_id(self, key: str) -> str:
        return f"demo-{self.run_id}-{key}"

    def project(self, key: str) -> ProjectSpec:
        return next(p for p in self.projects if p.key == key)

    def slots_planned(self) -> int:
        return sum(self.project(t.project).slots for t in self.tasks)

    def tasks_of(self, project: str) -> list[TaskPlan]:
        return [t for t in self.tasks if t.project == project]

    def gold_answer(self, payload: object) -> dict[str, str] | None:
        """The key of the gold task with this payload; None for ordinary work."""
        item = payload_item(payload)
        return next((g.answer for g in self.gold if g.item == item), None)

    @property
    def careless(self) -> tuple[ContractorProfile, ...]:
        return tuple(p for p in self.contractors if p.careless)


@dataclass(frozen=True, kw_only=True)
class DemoConfig:
    """What a run attempts; ``run_id`` keeps its ids apart from every other run's."""

    tasks: int = 240
    contractors: int = 40
    seed: int = 7
    timeout: float = 90.0
    payout_threshold_minor: int = 5000
    careless: int = 3
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:8])

    def __post_init__(self) -> None:
        if not 1 <= self.tasks <= 5000:
            raise ValueError("tasks must be 1-5000")
        if not 8 <= self.contractors <= 500:
            raise ValueError("contractors must be 8-500 (two per domain at least)")
        if self.timeout <= 0:
            raise ValueError("timeout must be positive")
        if self.payout_threshold_minor < 1:
            raise ValueError("payout threshold must be positive")
        if not 0 <= self.careless <= 10:
            raise ValueError("careless must be 0-10")


def plan_market(config: DemoConfig) -> MarketPlan:
    rng = random.Random(config.seed)
    contractors = _contractors(rng, config.run_id, config.contractors)
    weights = [p.share for p in PROJECTS]
    tasks = tuple(
        TaskPlan(
            index=i,
            project=(project := rng.choices(PROJECTS, weights)[0].key),
            key=f"demo-{config.run_id}-t{i:05d}",
            payload=payload(i, project, config.run_id),
        )
        for i in range(config.tasks)
    )
    # The careless contractors and the triage project draw from a generator of their
    # own, so a seed's other contractors and tasks are what they were before them.
    triage = random.Random(f"{config.seed}/triage")
    careless = _careless(triage, config.run_id, len(contractors), config.careless)
    return MarketPlan(
        run_id=config.run_id,
        seed=config.seed,
        contractors=contractors + careless,
        tasks=tasks + _triage_tasks(config, len(tasks)),
        gold=_gold(triage, config),
    )


def payload(item: int, project: str, run_id: str) -> str:
    return f'{{"item": {item}, "project": "{project}", "run": "{run_id}"}}'


def payload_item(text: object) -> int | None:
    """The ``item`` of a payload the demo made; None for anything else."""
    try:
        found = json.loads(text) if isinstance(text, str | bytes) else None
    except ValueError:
        return None
    item = found.get("item") if isinstance(found, dict) else None
    return item if isinstance(item, int) else None


# Triage: two choices, 10 findings x 4 urgencies, so a random answer matches a key
# 1 time in 40 (demo_triage explains what that makes of a careless contractor's odds).
FINDINGS = (
    "melanoma", "nevus", "seborrheic_keratosis", "basal_cell_carcinoma",
    "squamous_cell_carcinoma", "actinic_keratosis", "dermatofibroma",
    "vascular_lesion", "lentigo", "other",
)  # fmt: skip
URGENCIES = ("routine", "soon", "urgent", "emergency")
TRIAGE_TASKS_BASE = 6
TRIAGE_TASKS_PER_CARELESS = 4
GOLD_ITEMS_FROM = 100_000
GOLD_ANSWERED_ENOUGH = 12  # demo_triage: caught within this many gold answers
EVIDENCE_MAX = 10  # the score window: the most gold one sanction shows (and retires)


def gold_count(careless: int) -> int:
    """Enough gold that every careless contractor can meet ``GOLD_ANSWERED_ENOUGH``
    unretired gold tasks even after the others' sanctions retired what they showed."""
    return GOLD_ANSWERED_ENOUGH + EVIDENCE_MAX * max(careless - 1, 0)


def _triage_tasks(config: DemoConfig, first: int) -> tuple[TaskPlan, ...]:
    count = TRIAGE_TASKS_BASE + TRIAGE_TASKS_PER_CARELESS * config.careless
    return tuple(triage_task(config.run_id, first + n) for n in range(count))


def triage_task(run_id: str, index: int) -> TaskPlan:
    """A triage task at ``index`` in the run (those the lab adds later continue on)."""
    return TaskPlan(
        index=index,
        project=TRIAGE,
        key=f"demo-{run_id}-t{index:05d}",
        payload=payload(index, TRIAGE, run_id),
    )


def _gold(rng: random.Random, config: DemoConfig) -> tuple[GoldPlan, ...]:
    return tuple(
        GoldPlan(
            item=GOLD_ITEMS_FROM + n,
            key=f"demo-{config.run_id}-g{n:03d}",
            payload=payload(GOLD_ITEMS_FROM + n, TRIAGE, config.run_id),
            answer={"finding": rng.choice(FINDINGS), "urgency": rng.choice(URGENCIES)},
        )
        for n in range(gold_count(config.careless))
    )


def _careless(
    rng: random.Random, run_id: str, after: int, count: int
) -> tuple[ContractorProfile, ...]:
    """Newcomers with a passing medicine score: only triage takes them."""
    return tuple(
        ContractorProfile(
            id=f"demo-{run_id}-c{n + 1:03d}",
            number=n + 1,
            name=f"{CARELESS_NAMES[k % len(CARELESS_NAMES)]} {n + 1}",
            scores={MEDICINE: rng.randint(50, 60)},
            licensed=False,
            pace=0,
            flakiness=0.0,
            careless=True,
        )
        for k, n in enumerate(range(after, after + count))
    )


CARELESS_NAMES = ("Kit", "Lou", "Max", "Ned", "Oz")


FIRST_NAMES = ("Ada", "Bao", "Chen", "Dara", "Eli", "Femi", "Gita", "Hugo", "Ines", "Jun")


def _contractors(rng: random.Random, run_id: str, count: int) -> tuple[ContractorProfile, ...]:
    """Each contractor is strong in one domain (round robin, so every project has
    takers) and maybe fair in another. The first two of each domain are reliable
    experts who are also strong in the next domain, so every project has at least four
    qualified people, enough for its slots (one claim per task and contractor). A
    quarter of the others are flaky. The second contractor was referred by the first."""
    found: list[ContractorProfile] = []
    experts = 2 * len(DOMAINS)
    for n in range(count):
        primary = DOMAINS[n % len(DOMAINS)]
        if n < experts:
            scores = {primary: 95 - 5 * (n // len(DOMAINS)), _next(primary): 85}
        else:
            scores = {primary: rng.randint(62, 99)}
            if rng.random() < 0.5:
                other = rng.choice([d for d in DOMAINS if d != primary])
                scores[other] = rng.randint(50, 95)
        found.append(
            ContractorProfile(
                id=f"demo-{run_id}-c{n + 1:03d}",
                number=n + 1,
                name=f"{FIRST_NAMES[n % len(FIRST_NAMES)]} {n + 1}",
                scores=scores,
                licensed=primary == MEDICINE and scores[primary] >= 80,
                pace=rng.choice((1, 1, 1, 2)),
                flakiness=0.25 if n >= experts and rng.random() < 0.25 else 0.02,
                referred_by=found[0].id if n == 1 else None,
            )
        )
    return tuple(found)


def _next(domain: str) -> str:
    return DOMAINS[(DOMAINS.index(domain) + 1) % len(DOMAINS)]


class Verdict(Enum):
    ACCEPT = "accept"
    REJECT = "reject"
    BONUS = "accept with bonus"


BONUS_PERCENT = 20


def review(seed: int, task: TaskPlan, contractor: ContractorProfile, domain: str) -> Verdict:
    """The client's verdict on one piece: better contractors are rejected less and earn
    more bonuses. The same for a seed, a task's place in the plan and a contractor's."""
    draw = random.Random(f"{seed}/{task.index}/{contractor.number}").random()
    score = contractor.scores.get(domain, 0)
    reject_below = 0.30 if score < 70 else 0.08 if score < 90 else 0.03
    if draw < reject_below:
        return Verdict.REJECT
    return Verdict.BONUS if draw > (0.85 if score >= 85 else 0.95) else Verdict.ACCEPT


def bonus_minor(project: ProjectSpec, earned_minor: int) -> int:
    base = earned_minor if project.pay is Pay.HOURLY else project.amount_minor
    return max(1, base * BONUS_PERCENT // 100)
