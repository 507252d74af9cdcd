"""The demo's marketplace: one client and many contractors racing for slots.

Every id is scoped to the run (see ``DemoConfig``), so runs on one stack never mix.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

import grpc

from crewline.aio import Backoff
from crewline.auth.credentials import bearer_metadata as bearer
from crewline.settings import env_addr
from crewline.v1 import client_admin_service_pb2 as client_admin
from crewline.v1 import (
    client_admin_service_pb2_grpc,
    contractor_admin_service_pb2_grpc,
    ledger_service_pb2_grpc,
    money_pb2,
    project_pb2,
    task_service_pb2_grpc,
    work_service_pb2_grpc,
)
from crewline.v1 import contractor_admin_service_pb2 as contractor_admin
from crewline.v1 import ledger_service_pb2 as ledger_api
from crewline.v1 import task_service_pb2 as task_api
from crewline.v1 import work_service_pb2 as work_api
from tools import demo_display as display
from tools.demo_display import Summary, Tracker

CURRENCY = "USD"
REWARD_PERCENT = (70, 85, 100, 115, 130)  # rewards spread around the base; the mean is the base
CONCURRENCY = 20  # the client's requests in flight
PICK_AMONG = 5  # contractors pick among the first few open tasks, so they collide
PAGE_SIZE = 100
RPC_TIMEOUT = 10.0
IDLE_POLL = 0.05
LEDGER_POLL = 0.25
SUMMARY_TIMEOUT = 60.0
RETRYABLE = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED})
LOST_RACE = frozenset({grpc.StatusCode.FAILED_PRECONDITION, grpc.StatusCode.ALREADY_EXISTS})

T = TypeVar("T")
Metadata = tuple[tuple[str, str], ...]


def reward_for(index: int, base_minor: int) -> int:
    """The reward of the run's task ``index``: deterministic, integer cents."""
    return max(1, base_minor * REWARD_PERCENT[index % len(REWARD_PERCENT)] // 100)


@dataclass(frozen=True, kw_only=True)
class Addresses:
    dispatcher: str
    matcher: str
    ledger: str

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Addresses:
        """The services' gRPC addresses, from the variables the services themselves read."""

        def addr(service: str, port: int) -> str:
            host, p = env_addr(env, f"CREWLINE_{service}_GRPC_ADDR", f"127.0.0.1:{port}")
            return f"{host}:{p}"

        return cls(
            dispatcher=addr("DISPATCHER", 50051),
            matcher=addr("MATCHER", 50052),
            ledger=addr("LEDGER", 50053),
        )


@dataclass(frozen=True, kw_only=True)
class DemoConfig:
    addresses: Addresses
    operator_credential: str = field(repr=False)
    tasks: int = 200
    contractors: int = 50
    slots: int = 1
    reward_minor: int = 1500
    timeout: float = 120.0
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:8])

    def __post_init__(self) -> None:
        if self.tasks < 1 or self.reward_minor < 1 or self.timeout <= 0:
            raise ValueError("tasks, reward and timeout must be positive")
        if not 1 <= self.slots <= min(self.contractors, 1000):
            raise ValueError("slots must be 1-1000 and at most the number of contractors")

    @property
    def client_id(self) -> str:
        return f"demo-{self.run_id}"

    def contractor_ids(self) -> list[str]:
        return [f"demo-{self.run_id}-c{n:02d}" for n in range(1, self.contractors + 1)]

    def planned_total_minor(self) -> int:
        return sum(reward_for(i, self.reward_minor) for i in range(self.tasks)) * self.slots


async def bounded(aws: Iterable[Awaitable[T]], limit: int = CONCURRENCY) -> list[T]:
    """Await all, at most ``limit`` at a time, in order."""
    gate = asyncio.Semaphore(limit)

    async def one(aw: Awaitable[T]) -> T:
        async with gate:
            return await aw

    return list(await asyncio.gather(*(one(aw) for aw in aws)))


async def call(rpc: Callable[..., Awaitable[T]], request: object, metadata: Metadata) -> T:
    """One RPC; the same request again after UNAVAILABLE or a deadline (all are idempotent)."""
    backoff = Backoff(initial=0.05, maximum=1.0)
    while True:
        try:
            return await rpc(request, timeout=RPC_TIMEOUT, metadata=metadata)
        except grpc.aio.AioRpcError as err:
            if err.code() not in RETRYABLE:
                raise
        await asyncio.sleep(backoff.next())


class Market:
    """One client and many contractors, sharing counts in-process."""

    def __init__(self, config: DemoConfig, tracker: Tracker, channels: list[Any]) -> None:
        self._config, self._tracker = config, tracker
        # The stubs are untyped (grpc ships no types): call() sites annotate their replies.
        self._tasks = task_service_pb2_grpc.TaskServiceStub(channels[0])
        self._work = work_service_pb2_grpc.WorkServiceStub(channels[1])
        self._ledger = ledger_service_pb2_grpc.LedgerServiceStub(channels[2])
        self._client_admin = client_admin_service_pb2_grpc.ClientAdminServiceStub(channels[0])
        self._contractor_admin = contractor_admin_service_pb2_grpc.ContractorAdminServiceStub(
            channels[1]
        )
        self._operator = bearer(config.operator_credential)
        self._client_key: Metadata = ()
        self._projects: list[str] = []  # one per reward level: task i goes to project i % 5
        self._tokens: dict[str, Metadata] = {}  # contractor -> their token
        self._rewards: dict[str, int] = {}  # this run's task ids -> the reward the client set
        self._claims: Counter[str] = Counter()  # task id -> slots this run was granted
        self._owed: Counter[str] = Counter()  # contractor -> rewards of the claims granted
        self._client_done = False

    def expected_minor(self) -> int:
        return sum(self._rewards.values()) * self._config.slots

    def expected_charge_minor(self) -> int:
        """What the client pays: each piece's reward plus the ledger's platform fee on it
        (CREWLINE_LEDGER_FEE_BPS, 20 % unless set), rounded up per piece."""
        fee_bps = int(os.environ.get("CREWLINE_LEDGER_FEE_BPS", "2000"))
        per_task = (r + -(-r * fee_bps // 10_000) for r in self._rewards.values())
        return sum(per_task) * self._config.slots

    def all_claimed(self) -> bool:
        return (
            self._client_done and self._tracker.claimed >= len(self._rewards) * self._config.slots
        )

    async def enrol(self) -> None:
        """The operator creates the run's client with an API key, and its contractors with
        tokens: every later call authenticates as one of them."""
        c = self._config
        await call(
            self._client_admin.CreateClient,
            client_admin.CreateClientRequest(client_id=c.client_id, display_name="Demo lab"),
            self._operator,
        )
        key: client_admin.CreateApiKeyResponse = await call(
            self._client_admin.CreateApiKey,
            client_admin.CreateApiKeyRequest(
                request_id=f"{c.client_id}-key", client_id=c.client_id
            ),
            self._operator,
        )
        self._client_key = bearer(key.secret)
        await bounded(self._enrol_contractor(x) for x in c.contractor_ids())
        for level in range(len(REWARD_PERCENT)):
            self._projects.append(await self._create_project(level))

    async def _create_project(self, level: int) -> str:
        """The client's project for one reward level; contractors see only the run's projects."""
        c = self._config
        reward = money_pb2.Money(
            currency_code=CURRENCY, amount_minor=reward_for(level, c.reward_minor)
        )
        request = task_api.CreateProjectRequest(
            request_id=f"{c.client_id}-p{level}",
            title=f"Rate answers, level {level + 1} (run {c.run_id})",
            instructions="Rate each answer from 1 to 5.",
            pay_terms=project_pb2.PayTerms(
                per_submission=project_pb2.PerSubmissionPay(reward=reward)
            ),
            assignments_per_task=c.slots,
            # Nobody reviews in this demo: unreviewed work is accepted (and paid) after 1 s.
            auto_accept_delay_seconds=1,
        )
        reply: task_api.CreateProjectResponse = await call(
            self._tasks.CreateProject, request, self._client_key
        )
        return reply.project.project_id

    async def _enrol_contractor(self, contractor: str) -> None:
        await call(
            self._contractor_admin.CreateContractor,
            contractor_admin.CreateContractorRequest(contractor_id=contractor),
            self._operator,
        )
        token: contractor_admin.IssueContractorTokenResponse = await call(
            self._contractor_admin.IssueContractorToken,
            contractor_admin.IssueContractorTokenRequest(contractor_id=contractor),
            self._operator,
        )
        self._tokens[contractor] = bearer(token.secret)

    async def run(self) -> None:
        await self.enrol()
        async with asyncio.TaskGroup() as group:
            group.create_task(self._client())
            for contractor in self._config.contractor_ids():
                group.create_task(self._contractor(contractor))
            group.create_task(self._watch_ledger())

    async def _client(self) -> None:
        await bounded(self._submit(i) for i in range(self._config.tasks))
        self._client_done = True

    async def _submit(self, index: int) -> None:
        c = self._config
        reward = reward_for(index, c.reward_minor)
        request = task_api.SubmitTaskRequest(
            project_id=self._projects[index % len(self._projects)],
            task=task_api.TaskSpec(
                idempotency_key=f"{c.client_id}-t{index:05d}",
                payload_json=json.dumps({"answer": f"#{index} of run {c.run_id}"}),
                slots=c.slots,
            ),
        )
        reply: task_api.SubmitTaskResponse = await call(
            self._tasks.SubmitTask, request, self._client_key
        )
        self._rewards[reply.task.task_id] = reward
        self._tracker.submitted += 1

    async def _contractor(self, contractor: str) -> None:
        rng = random.Random(contractor)
        while not self.all_claimed():
            task_id = await self._pick(contractor, rng)
            if task_id is None:  # tasks reach the matcher through Kafka: poll again soon
                await asyncio.sleep(IDLE_POLL * (1 + rng.random()))
                continue
            claim = await self._claim(contractor, task_id)
            if claim is not None:
                await self._hand_in(contractor, claim)

    async def _pick(self, contractor: str, rng: random.Random) -> str | None:
        # Only this run's projects: other runs on the same stack are open to everyone too.
        request = work_api.ListOffersRequest(
            page_size=PAGE_SIZE, project_id=rng.choice(self._projects)
        )
        reply: work_api.ListOffersResponse = await call(
            self._work.ListOffers, request, self._tokens[contractor]
        )
        mine = [t.task_id for t in reply.offers]
        return rng.choice(mine[:PICK_AMONG]) if mine else None

    async def _claim(self, contractor: str, task_id: str) -> work_api.Claim | None:
        request = work_api.ClaimTaskRequest(
            request_id=f"{contractor}-k{uuid.uuid4().hex[:12]}", task_id=task_id
        )
        try:
            reply: work_api.ClaimTaskResponse = await call(
                self._work.ClaimTask, request, self._tokens[contractor]
            )
        except grpc.aio.AioRpcError as err:
            if err.code() not in LOST_RACE:
                raise
            self._tracker.lost_races += 1
            return None
        self._tracker.claimed += 1
        self._claims[task_id] += 1
        self._owed[contractor] += reply.claim.pay_terms.per_submission.reward.amount_minor
        return reply.claim

    async def _hand_in(self, contractor: str, claim: work_api.Claim) -> None:
        request = work_api.SubmitWorkRequest(claim_id=claim.claim_id, result=b"rating: 4/5")
        await call(self._work.SubmitWork, request, self._tokens[contractor])
        self._tracker.work_submitted += 1

    async def _watch_ledger(self) -> None:
        """Follow pay until the books show this run's whole bill, paid once."""
        while True:
            paid = sum((await self._contractor_balances()).values())
            owing = await self._balance(f"client:{self._config.client_id}")
            self._tracker.paid_minor = paid
            expected = self.expected_minor()
            if self.all_claimed() and paid == expected and owing == -self.expected_charge_minor():
                return
            await asyncio.sleep(LEDGER_POLL)

    async def _contractor_balances(self) -> dict[str, int]:
        ids = self._config.contractor_ids()
        amounts = await asyncio.gather(*(self._balance(f"contractor:{c}") for c in ids))
        return dict(zip(ids, amounts, strict=True))

    async def _balance(self, account_id: str) -> int:
        request = ledger_api.GetBalanceRequest(account_id=account_id)
        reply: ledger_api.GetBalanceResponse = await call(
            self._ledger.GetBalance, request, self._operator
        )
        return sum(m.amount_minor for m in reply.balances if m.currency_code == CURRENCY)

    async def _task_report(self, task_id: str) -> task_api.GetTaskResponse:
        request = task_api.GetTaskRequest(task_id=task_id)
        reply: task_api.GetTaskResponse = await call(self._tasks.GetTask, request, self._client_key)
        return reply

    async def summarize(self, *, elapsed: float, timed_out: bool, errors: list[str]) -> Summary:
        balances = await self._contractor_balances()
        reports = await bounded(self._task_report(t) for t in self._rewards)
        books: ledger_api.VerifyBooksResponse = await call(
            self._ledger.VerifyBooks, ledger_api.VerifyBooksRequest(), self._operator
        )
        t, c = self._tracker, self._config
        return Summary(
            run_id=c.run_id,
            tasks_requested=c.tasks,
            tasks_submitted=len(self._rewards),
            slots_per_task=c.slots,
            claims_granted=t.claimed,
            lost_races=t.lost_races,
            work_submitted=t.work_submitted,
            pieces_accepted=sum(r.task.accepted_count for r in reports),
            tasks_unsettled=sum(
                not display.settled(r, c.slots, self._claims[r.task.task_id]) for r in reports
            ),
            expected_minor=self.expected_minor(),
            paid_minor=sum(balances.values()),
            client_balance_minor=await self._balance(f"client:{c.client_id}"),
            expected_charge_minor=self.expected_charge_minor(),
            earnings_minor=tuple(sorted(balances.values())),
            contractors_mispaid=sum(balances[k] != self._owed[k] for k in balances),
            books_balanced=books.balanced,
            unbalanced_transactions=books.unbalanced_transaction_count,
            elapsed_seconds=elapsed,
            timed_out=timed_out,
            errors=tuple(errors),
        )
