"""Gold stays hidden, on the real stack (docs/quality.md, "What a contractor sees"). A
client adds two gold tasks whose keys hold a number found nowhere else in this test
(KEY), at a gold share of 50 %; a contractor works through the project's offers
(claim, read, heartbeat, then submit a valid answer that is not the key, or release)
until they have met both golds among ordinary tasks of the same shape, while a second
contractor probes the gold ids. Every answer either contractor gets (offer lists, stream
messages, claims, refusals, ledger reads, scores, sanctions, appeals, disputes, exams)
is recorded and searched, as text and as bytes, for the key, the gold's client-side
names and the words gold and reserved; a gold offer or claim must have the populated
fields (and terms) of an ordinary one at the same step, and a refusal about gold (a
claim by another, a dispute of a key never shown) must read as one about an ordinary or
unknown id. Then the
stack's logs, metrics and Kafka topics are searched for the key. Gold is told apart
only from the client's side (GetTask: reserved_for, idempotency key gold/<task_id>).
Every problem found is listed in one failure. No timing is asserted: waits are bounded
generously, and PACE only spaces the draws."""

from __future__ import annotations

import asyncio
import base64
import json
import re
import struct
import urllib.request
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import text_format
from google.protobuf.message import Message

from crewline.client.errors import error_info
from crewline.events import ALL_TOPICS
from crewline.v1 import claim_pb2, money_pb2, project_pb2
from crewline.v1 import ledger_service_pb2 as ledger_api
from crewline.v1 import quality_service_pb2 as quality_api
from crewline.v1 import task_service_pb2 as task_api
from crewline.v1 import work_service_pb2 as work_api

from flow import Metadata, as_client, as_contractor, unique
from harness import Stack
from stack import eventually, read_topic

WAIT = 60.0  # bounds a broken run only
PACE = 3.0  # after an ordinary claim, how long a gold offer is awaited before the next
KEY = 61.8034  # the keys' number: in no payload, answer or name of this test
TOLERANCE = 1.4142  # the keys' rule: key material too
RESULT, BAD_RESULT = 27.1828, 141.4213  # the contractor's numbers: never logged either
SPEC = project_pb2.AnswerSpec(
    fields=[
        project_pb2.AnswerField(
            name="confidence", number=project_pb2.NumberField(min=0, max=100, step=0)
        ),
        project_pb2.AnswerField(
            name="kind", choice=project_pb2.ChoiceField(labels=["heron", "egret", "stork"])
        ),
    ]
)
ANSWER = json.dumps({"confidence": RESULT, "kind": "heron"}).encode()  # the key says stork
BAD_ANSWER = json.dumps({"confidence": BAD_RESULT, "kind": "heron"}).encode()  # above 100


def number(value: float) -> re.Pattern[str]:
    """``value`` as text, as JSON or a log would write it, not inside a longer number."""
    forms = {repr(value), f"{value:g}", f"{value:e}"}
    return re.compile("|".join(rf"(?<![\d.]){re.escape(f)}(?!\d)" for f in sorted(forms)))


def as_double(value: float) -> list[bytes]:
    return [struct.pack("<d", value), struct.pack(">d", value), struct.pack("<f", value)]


@dataclass
class Secret:
    """What no contractor may see: words and patterns in text, byte strings in bytes."""

    words: list[str]
    patterns: list[re.Pattern[str]]
    blobs: list[bytes]

    def found(self, text: str, raw: bytes = b"") -> list[str]:
        """Each secret in ``text`` or ``raw``, with the text around its first sighting."""
        text = f"{text}\n{raw.decode('latin-1')}"
        hits = [(w, text.lower().find(w.lower())) for w in self.words]
        hits += [(p.pattern, m.start() if (m := p.search(text)) else -1) for p in self.patterns]
        found = [
            f"{what!r} in ...{text[max(0, at - 120) : at + 80]!r}..."
            for what, at in hits
            if at >= 0
        ]
        return found + [f"the bytes {b.hex()}" for b in self.blobs if b in raw]


KEY_MATERIAL = Secret([], [number(KEY), number(TOLERANCE)], as_double(KEY) + as_double(TOLERANCE))


@dataclass
class Refusal:
    code: str
    details: str
    reason: str | None
    metadata: dict[str, str]
    status: bytes  # grpc-status-details-bin, as sent

    def shape(self, *ids: str) -> tuple[object, ...]:
        """All it says, with ``ids`` taken out."""

        def plain(text: str) -> str:
            for n, id_ in enumerate(ids):
                text = text.replace(id_, f"<id{n}>")
            return text

        meta = tuple(sorted((k, plain(v)) for k, v in self.metadata.items()))
        return self.code, plain(self.details), self.reason, meta


@dataclass
class Seen:
    """Every answer the contractors got, and claims and refusals by step, gold or not."""

    answers: list[tuple[str, Message]] = field(default_factory=list)
    refusals: list[tuple[str, Refusal]] = field(default_factory=list)
    steps: dict[tuple[str, bool], list[tuple[Message, tuple[str, ...]]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    refused: dict[tuple[str, bool], set[tuple[object, ...]]] = field(
        default_factory=lambda: defaultdict(set)
    )

    def step(self, name: str, gold: bool, message: Message, *ids: str) -> None:
        """``message`` seen at step ``name`` of a gold task or an ordinary one; ``ids``
        are those its text may name (its task's and claim's)."""
        self.steps[name, gold].append((message, ids))

    async def call(self, label: str, call: Awaitable[Any]) -> Any:
        reply = await call
        self.answers.append((label, reply))
        return reply

    async def refusal(self, label: str, call: Awaitable[Any]) -> Refusal:
        try:
            await call
        except grpc.aio.AioRpcError as err:
            reason, meta = error_info(err)
            trailers = dict(err.trailing_metadata() or ())
            status = trailers.get("grpc-status-details-bin", b"")
            found = Refusal(err.code().name, err.details() or "", reason, meta, bytes(status))
            self.refusals.append((label, found))
            return found
        raise AssertionError(f"{label} should have been refused")


class Recorded:
    """One StreamOffers call: every message kept, offered and withdrawn changes queued."""

    def __init__(self, call: grpc.aio.UnaryStreamCall) -> None:
        self.call = call
        self.owner = ""
        self.messages: list[work_api.StreamOffersResponse] = []
        self.items: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for message in self.call:
            self.messages.append(message)
            kind = message.WhichOneof("event")
            if kind != "changes":
                await self.items.put((kind, message))
            for change in message.changes.changes:
                which = change.WhichOneof("change")
                await self.items.put((which, getattr(change, which)))

    async def next(self, kind: str, *, within: float = WAIT) -> Any | None:
        """The next item of ``kind``, or None after ``within`` seconds."""
        loop = asyncio.get_running_loop()
        until = loop.time() + within
        while (left := until - loop.time()) > 0:
            try:
                found, item = await asyncio.wait_for(self.items.get(), left)
            except TimeoutError:
                return None
            if found == kind:
                return item
        return None

    async def close(self) -> None:
        self.call.cancel()
        await asyncio.gather(self._reader, return_exceptions=True)


@dataclass
class Run:
    stack: Stack
    client: Metadata
    ann_id: str
    ann: Metadata
    bob: Metadata
    project_id: str
    ordinary: list[str]
    streams: list[Recorded]
    seen: Seen = field(default_factory=Seen)
    golds: list[str] = field(default_factory=list)
    claims: dict[str, str] = field(default_factory=dict)  # task id -> ann's claim id
    released: set[str] = field(default_factory=set)
    live: Recorded | None = None

    def is_gold(self, task_id: str) -> bool:
        return task_id in self.golds

    async def stream(self, who: Metadata) -> Recorded:
        request = work_api.StreamOffersRequest(project_id=self.project_id)
        opened = Recorded(self.stack.work.StreamOffers(request, metadata=who))
        opened.owner = "ann" if who == self.ann else "bob"
        self.streams.append(opened)
        assert await opened.next("snapshot_end") is not None
        return opened


@pytest.fixture
async def streams() -> AsyncIterator[list[Recorded]]:
    opened: list[Recorded] = []
    yield opened
    for s in opened:
        await s.close()


def paths(message: Message, prefix: str = "") -> frozenset[str]:
    """The populated fields, nested: pay_terms.per_submission.reward.amount_minor, ..."""
    found = set()
    for fd, value in message.ListFields():
        name = prefix + fd.name
        found.add(name)
        if fd.message_type is not None:
            for v in value if fd.is_repeated else [value]:
                found |= paths(v, name + ".")
    return frozenset(found)


def offer_terms(offer: work_api.Offer) -> tuple[object, ...]:
    return (
        offer.project_id,
        offer.title,
        offer.instructions,
        offer.pay_terms.SerializeToString(deterministic=True),
        offer.free_slots,
        offer.priority,
        offer.answer_spec.SerializeToString(deterministic=True),
        offer.expires_at.ToMilliseconds() - offer.published_at.ToMilliseconds(),  # lifetime
    )


def claim_terms(claim: work_api.Claim) -> tuple[object, ...]:
    """A claim's terms and state, and its payload's shape: the same for any task of the
    project at the same step."""
    return (
        claim.project_id,
        claim.project_title,
        claim.instructions,
        claim.status,
        claim.end_reason,
        claim.cut,
        claim.review,
        claim.feedback,
        claim.worked_seconds,
        tuple(sorted(json.loads(claim.payload_json))) if claim.payload_json else None,
        *(m.SerializeToString(deterministic=True) for m in (claim.pay_terms, claim.answer_spec)),
        claim.earned.SerializeToString(deterministic=True),
    )


async def new_project(stack: Stack, client: Metadata) -> str:
    reply = await stack.tasks.CreateProject(
        task_api.CreateProjectRequest(
            request_id=unique("proj"),
            title="Wading birds",
            instructions="Name the bird and say how sure you are.",
            pay_terms=project_pb2.PayTerms(
                per_submission=project_pb2.PerSubmissionPay(
                    reward=money_pb2.Money(currency_code="USD", amount_minor=40)
                )
            ),
            assignments_per_task=1,  # a gold task's slots are the project's: comparable
            auto_accept_delay_seconds=1,  # so the work is paid within the test
            answer_spec=SPEC,
        ),
        metadata=client,
    )
    return str(reply.project.project_id)


def photo() -> str:
    return json.dumps({"photo": f"img-{uuid.uuid4().hex[:12]}"})


async def add_gold(stack: Stack, client: Metadata, project_id: str) -> list[quality_api.GoldTask]:
    """Two gold tasks (retried while the client's key and the project reach the quality
    service), and a gold share of 50 %: each ordinary claim draws gold while some is left."""
    request = quality_api.AddGoldTasksRequest(
        project_id=project_id,
        gold_tasks=[
            quality_api.GoldTask(
                idempotency_key=unique("sentinel"),
                payload_json=photo(),
                answer_json=json.dumps({"confidence": KEY, "kind": "stork"}),
                rules=[quality_api.GoldFieldRule(field="confidence", tolerance=TOLERANCE)],
            )
            for _ in range(2)
        ],
    )
    added: list[quality_api.GoldTask] = []

    async def stored() -> bool:
        try:
            reply = await stack.quality.AddGoldTasks(request, metadata=client)
        except grpc.aio.AioRpcError as err:
            if err.code() in (grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.NOT_FOUND):
                return False
            raise
        added[:] = reply.gold_tasks
        return True

    await eventually(stored, timeout=WAIT)
    policy = quality_api.QualityPolicy(project_id=project_id, gold_share_percent=50)
    await stack.quality.SetQualityPolicy(
        quality_api.SetQualityPolicyRequest(policy=policy), metadata=client
    )
    return added


async def list_offers(run: Run, who: Metadata, label: str) -> list[work_api.Offer]:
    """Every page of ListOffers, two offers a page."""
    found: list[work_api.Offer] = []
    token = ""
    while True:
        request = work_api.ListOffersRequest(
            page_size=2, page_token=token, project_id=run.project_id
        )
        page = await run.seen.call(label, run.stack.work.ListOffers(request, metadata=who))
        found.extend(page.offers)
        if not (token := page.next_page_token):
            return found


async def list_claims(run: Run, who: Metadata = (), **filters: Any) -> list[work_api.Claim]:
    """Every page of ListMyClaims (ann's unless ``who``), two claims a page."""
    found: list[work_api.Claim] = []
    token = ""
    while True:
        request = work_api.ListMyClaimsRequest(page_size=2, page_token=token, **filters)
        call = run.stack.work.ListMyClaims(request, metadata=who or run.ann)
        page = await run.seen.call("ListMyClaims", call)
        found.extend(page.claims)
        if not (token := page.next_page_token):
            return found


async def work(run: Run, task_id: str, *, release: bool) -> None:
    """Ann claims the task, reads and heartbeats the claim, then submits (after an
    answer the spec refuses) or releases it, and claims it again."""
    gold, seen, api, ann = run.is_gold(task_id), run.seen, run.stack.work, run.ann
    request = work_api.ClaimTaskRequest(request_id=unique("c"), task_id=task_id)
    claim = (await seen.call("ClaimTask", api.ClaimTask(request, metadata=ann))).claim
    run.claims[task_id] = claim_id = claim.claim_id
    seen.step("claimed", gold, claim)
    await read_claim(run, "read live", task_id)
    beat = work_api.HeartbeatClaimRequest(claim_id=claim_id)
    reply = await seen.call("HeartbeatClaim", api.HeartbeatClaim(beat, metadata=ann))
    seen.step("heartbeat", gold, reply.claim)
    for listed in await list_claims(run, task_id=task_id):
        seen.step("listed by task", gold, listed)
    if release:
        run.released.add(task_id)
        done = api.ReleaseClaim(work_api.ReleaseClaimRequest(claim_id=claim_id), metadata=ann)
        seen.step("released", gold, (await seen.call("ReleaseClaim", done)).claim)
    else:
        bad = work_api.SubmitWorkRequest(claim_id=claim_id, result=BAD_ANSWER)
        refused = await seen.refusal("SubmitWork", api.SubmitWork(bad, metadata=ann))
        seen.refused["answer refused", gold].add(refused.shape(claim_id, task_id))
        good = work_api.SubmitWorkRequest(claim_id=claim_id, result=ANSWER)
        submitted = await seen.call("SubmitWork", api.SubmitWork(good, metadata=ann))
        seen.step("submitted", gold, submitted.claim)
    await read_claim(run, "read released" if release else "read submitted", task_id)
    await claim_again(run, "claimed again", task_id)


async def read_claim(run: Run, step: str, task_id: str) -> None:
    request = work_api.GetClaimRequest(claim_id=run.claims[task_id])
    reply = await run.seen.call("GetClaim", run.stack.work.GetClaim(request, metadata=run.ann))
    run.seen.step(step, run.is_gold(task_id), reply.claim)


async def claim_again(run: Run, step: str, task_id: str) -> None:
    request = work_api.ClaimTaskRequest(request_id=unique("c"), task_id=task_id)
    call = run.stack.work.ClaimTask(request, metadata=run.ann)
    refused = await run.seen.refusal("ClaimTask", call)
    run.seen.refused[step, run.is_gold(task_id)].add(refused.shape(task_id))


async def bob_claims(run: Run, step: str, task_id: str) -> None:
    """Bob claiming ann's gold task is told what an unknown task id gets."""
    api, seen = run.stack.work, run.seen
    for probe, gold in ((task_id, True), (str(uuid.uuid4()), False)):
        request = work_api.ClaimTaskRequest(request_id=unique("c"), task_id=probe)
        refused = await seen.refusal("ClaimTask", api.ClaimTask(request, metadata=run.bob))
        seen.refused[f"bob claims a task ({step})", gold].add(refused.shape(probe))
    for listed in await list_claims(run, who=run.bob, task_id=task_id):
        seen.step("bob's claim on ann's gold", True, listed)  # none, or a problem


async def bob_probes_claim(run: Run, claim_id: str) -> None:
    """Bob naming ann's gold claim is told what an unknown claim id gets, in each call."""
    api, seen, bob = run.stack.work, run.seen, run.bob
    for probe, gold in ((claim_id, True), (str(uuid.uuid4()), False)):
        calls = {
            "GetClaim": api.GetClaim(work_api.GetClaimRequest(claim_id=probe), metadata=bob),
            "HeartbeatClaim": api.HeartbeatClaim(
                work_api.HeartbeatClaimRequest(claim_id=probe), metadata=bob
            ),
            "ReleaseClaim": api.ReleaseClaim(
                work_api.ReleaseClaimRequest(claim_id=probe), metadata=bob
            ),
            "SubmitWork": api.SubmitWork(
                work_api.SubmitWorkRequest(claim_id=probe, result=ANSWER), metadata=bob
            ),
        }
        for rpc, call in calls.items():
            refused = await seen.refusal(rpc, call)
            seen.refused[f"bob's {rpc} of a claim", gold].add(refused.shape(probe))


async def next_gold(run: Run, within: float) -> str | None:
    """The next task on ann's live stream that is none of the client's ordinary tasks:
    gold, as the client's GetTask shows. None when none comes within ``within`` s."""
    assert run.live is not None
    loop = asyncio.get_running_loop()
    until = loop.time() + within
    while (offer := await run.live.next("offered", within=until - loop.time())) is not None:
        if offer.task_id in run.ordinary or offer.task_id in run.golds:
            continue
        request = task_api.GetTaskRequest(task_id=offer.task_id)
        task = (await run.stack.tasks.GetTask(request, metadata=run.client)).task
        assert (task.reserved_for, task.idempotency_key) == (run.ann_id, f"gold/{task.task_id}")
        run.golds.append(offer.task_id)
        return run.golds[-1]
    return None


async def meet_gold(run: Run, task_id: str) -> None:
    """While the gold is on offer, ann lists her offers and opens another stream (its
    snapshot) and bob probes it; then ann works it: the first released, the second
    answered (wrongly)."""
    await list_offers(run, run.ann, "ListOffers")
    await (await run.stream(run.ann)).close()
    await list_offers(run, run.bob, "ListOffers (bob)")
    await bob_claims(run, "open", task_id)
    await work(run, task_id, release=len(run.golds) == 1)
    await bob_probes_claim(run, run.claims[task_id])


async def work_through(run: Run) -> None:
    """Ordinary tasks one by one (the second released), each claim a draw, until both
    golds have been met and five ordinary tasks done; the last draws are awaited longer."""
    pending = list(run.ordinary)
    done = 0
    while len(run.golds) < 2 or done < 5:
        if pending:
            await work(run, pending.pop(0), release=done == 1)
            done += 1
        if len(run.golds) < 2:
            gold = await next_gold(run, PACE if pending else WAIT)
            assert gold or pending, f"{len(run.golds)} gold offered in {done} ordinary claims"
            if gold is not None:
                await meet_gold(run, gold)


async def at_the_end(run: Run) -> None:
    """Once every answer is accepted: ann's claims listed and claimed again, bob's
    probes of the ended golds, ann's ledger and scores."""
    submitted = {run.claims[t] for t in run.claims if t not in run.released}

    async def accepted() -> bool:
        mine = await list_claims(run, project_id=run.project_id)
        return submitted <= {c.claim_id for c in mine if c.review == REVIEW_ACCEPTED}

    await eventually(accepted, timeout=WAIT)
    for claim in await list_claims(run):
        group = f"listed at the end ({claim.status}, {claim.end_reason}, {claim.review})"
        run.seen.step(group, run.is_gold(claim.task_id), claim)
    for task_id in run.claims:
        await claim_again(run, "claimed again at the end", task_id)
    for task_id in run.golds:
        await bob_claims(run, "ended", task_id)
        await bob_probes_claim(run, run.claims[task_id])
    await ledger_reads(run, submitted)
    await score_reads(run, answered=len(submitted))
    await due_process_reads(run)


REVIEW_ACCEPTED = claim_pb2.REVIEW_STATE_ACCEPTED


async def ledger_reads(run: Run, claim_ids: set[str]) -> None:
    """Ann's statement (once it pays every submission), balance and earnings."""
    ledger, seen, ann = run.stack.ledger, run.seen, run.ann
    entries: list[ledger_api.StatementEntry] = []

    async def paid() -> bool:
        entries.clear()
        token = ""
        while True:
            request = ledger_api.ListStatementRequest(page_size=2, page_token=token)
            page = await seen.call("ListStatement", ledger.ListStatement(request, metadata=ann))
            entries.extend(page.entries)
            if not (token := page.next_page_token):
                break
        return {f"submission:{c}" for c in claim_ids} <= {e.source for e in entries}

    await eventually(paid, timeout=WAIT)
    task_of = {c: t for t, c in run.claims.items()}
    for entry in entries:
        claim_id = entry.source.removeprefix("submission:")
        seen.step("statement entry", run.is_gold(task_of.get(claim_id, "")), entry, claim_id)
    await seen.call("GetBalance", ledger.GetBalance(ledger_api.GetBalanceRequest(), metadata=ann))
    earnings = ledger.GetEarnings(ledger_api.GetEarningsRequest(), metadata=ann)
    await seen.call("GetEarnings", earnings)


async def score_reads(run: Run, *, answered: int) -> None:
    """Ann's scores, once her gold answer and every review are counted."""
    quality, seen = run.stack.quality, run.seen
    want = {
        quality_api.SCORE_MEASURE_ACCEPTANCE_RATE: answered,
        quality_api.SCORE_MEASURE_GOLD_ACCURACY: 1,
    }

    async def counted() -> bool:
        request = quality_api.ListMyScoresRequest(project_id=run.project_id)
        reply = await seen.call("ListMyScores", quality.ListMyScores(request, metadata=run.ann))
        return {s.measure: s.reviewed for s in reply.scores} == want

    await eventually(counted, timeout=WAIT)
    request = quality_api.ListMyScoresRequest(page_size=1)
    await seen.call("ListMyScores", quality.ListMyScores(request, metadata=run.ann))


async def due_process_reads(run: Run) -> None:
    """Ann's sanctions, appeals, disputes and exams (none: no rule, nothing filed), and a
    dispute of each task she worked: a key she was never shown is disputed as an ordinary
    task's, so a dispute cannot tell gold from ordinary work."""
    quality, seen, ann = run.stack.quality, run.seen, run.ann
    await seen.call(
        "ListMySanctions",
        quality.ListMySanctions(quality_api.ListMySanctionsRequest(), metadata=ann),
    )
    await seen.call(
        "ListMyAppeals", quality.ListMyAppeals(quality_api.ListMyAppealsRequest(), metadata=ann)
    )
    await seen.call(
        "ListMyDisputes",
        quality.ListMyDisputes(quality_api.ListMyDisputesRequest(), metadata=ann),
    )
    await seen.call(
        "ListMyExamAttempts",
        quality.ListMyExamAttempts(quality_api.ListMyExamAttemptsRequest(), metadata=ann),
    )
    await seen.call("ListExams", quality.ListExams(quality_api.ListExamsRequest(), metadata=ann))
    for task_id in run.claims:
        request = quality_api.DisputeGoldKeyRequest(
            idempotency_key=unique("d"), task_id=task_id, note="the key looks wrong"
        )
        refused = await seen.refusal(
            "DisputeGoldKey", quality.DisputeGoldKey(request, metadata=ann)
        )
        seen.refused["disputed", run.is_gold(task_id)].add(refused.shape(task_id))


def stream_steps(run: Run, problems: list[str]) -> None:
    """Each stream's changes as steps (snapshot or live), per task fate; bob's never
    name gold."""
    fates: dict[tuple[str, bool], set[tuple[str, ...]]] = defaultdict(set)
    for stream in run.streams:
        mine = stream.owner == "ann"
        in_snapshot = True
        kinds: dict[str, list[str]] = defaultdict(list)
        for message in stream.messages:
            if message.WhichOneof("event") == "snapshot_end":
                in_snapshot = False
            for change in message.changes.changes:
                name = str(change.WhichOneof("change"))
                item = getattr(change, name)
                if name == "withdrawn":
                    name += f" {work_api.WithdrawalReason.Name(item.reason)}"
                if not mine and run.is_gold(item.task_id):
                    problems.append(f"bob's stream named gold task {item.task_id}: {item}")
                where = "snapshot" if in_snapshot else "stream"
                where = where if mine else f"bob's {where}"
                run.seen.step(f"{where} {name}", run.is_gold(item.task_id), item)
                kinds[item.task_id].append(name)
        for task_id, seq in kinds.items():
            if stream is run.live:
                fate = "released" if task_id in run.released else "claimed"
                fate = fate if task_id in run.claims else "never claimed"
                fates[fate, run.is_gold(task_id)].add(tuple(seq))
    for (fate, gold), seqs in fates.items():
        plain = fates.get((fate, False), set())
        if gold and seqs != plain:
            problems.append(f"ann's stream, {fate} tasks: gold {seqs}, ordinary {plain}")


def listed_steps(run: Run, problems: list[str]) -> None:
    for label, answer in run.seen.answers:
        for offer in getattr(answer, "offers", []) if label.startswith("ListOffers") else []:
            if label == "ListOffers":
                run.seen.step("listed offer", run.is_gold(offer.task_id), offer)
            elif run.is_gold(offer.task_id):
                problems.append(f"bob's ListOffers named gold task {offer.task_id}")


def terms(message: Message, ids: tuple[str, ...]) -> tuple[object, ...]:
    """What must be equal for gold and ordinary at one step, ``ids`` taken out."""
    if isinstance(message, work_api.Offer):
        return offer_terms(message)
    if isinstance(message, work_api.Claim):
        return claim_terms(message)
    if isinstance(message, ledger_api.StatementEntry):
        memo, source = message.memo, message.source
        for id_ in ids:
            memo, source = memo.replace(id_, "<id>"), source.replace(id_, "<id>")
        return message.kind, message.amount.SerializeToString(), memo, source
    return ()


# Steps each run must have seen for gold and ordinary alike, or the checks prove nothing.
REQUIRED_STEPS = (
    *("claimed", "read live", "heartbeat", "listed by task", "released", "submitted"),
    *("read released", "read submitted", "listed offer", "statement entry"),
    *("stream offered", "snapshot offered", "stream withdrawn WITHDRAWAL_REASON_CLAIMED_BY_YOU"),
    *("claimed again", "answer refused", "bob claims a task (open)", "bob's GetClaim of a claim"),
    "disputed",
)


def one_line(seen: list[tuple[Message, tuple[str, ...]]]) -> str:
    return text_format.MessageToString(seen[0][0], as_one_line=True)


def compare_steps(run: Run, problems: list[str]) -> None:
    """At each step, gold answers have the populated fields and terms of ordinary ones,
    and refusals about gold read as those about ordinary (or unknown) ids."""
    steps, refused = run.seen.steps, run.seen.refused
    for step in REQUIRED_STEPS:
        if not (steps[step, True] and steps[step, False]) and not (
            refused[step, True] and refused[step, False]
        ):
            problems.append(f"step {step!r} was not seen for both gold and ordinary tasks")
    for (step, gold), seen in list(steps.items()):
        if not (gold and seen):
            continue
        if not (ordinary := steps[step, False]):
            problems.append(f"{step}: seen of gold only: {one_line(seen)}")
            continue
        gold_paths = {paths(m) for m, _ in seen}
        plain_paths = {paths(m) for m, _ in ordinary}
        if gold_paths != plain_paths:
            odd = set().union(*gold_paths) ^ set().union(*plain_paths)
            problems.append(f"{step}: gold and ordinary differ in fields {sorted(odd)}")
        if {terms(m, ids) for m, ids in seen} != {terms(m, ids) for m, ids in ordinary}:
            problems.append(f"{step}: gold {one_line(seen)} vs ordinary {one_line(ordinary)}")
    for (step, gold), shapes in list(refused.items()):
        if gold and shapes != refused[step, False]:
            problems.append(f"{step}: about gold {shapes}, else {refused[step, False]}")


def tokens(message: Message) -> str:
    """A page token's content (base64 text), for the search."""
    token = getattr(message, "next_page_token", "")
    if not token:
        return ""
    padded = token + "=" * (-len(token) % 4)
    return base64.urlsafe_b64decode(padded).decode(errors="replace")


def contractor_leaks(run: Run, secret: Secret) -> list[str]:
    """Every answer, stream message and refusal searched for ``secret``."""
    found = []
    messages: list[tuple[str, Message]] = list(run.seen.answers)
    messages += [("StreamOffers", m) for s in run.streams for m in s.messages]
    for label, message in messages:
        text = text_format.MessageToString(message, as_utf8=True, print_unknown_fields=True)
        if label == "ListMyScores":  # the contractor's own gold accuracy is no secret
            text = text.replace("SCORE_MEASURE_GOLD_ACCURACY", "<measure>")
        for hit in secret.found(text + tokens(message), message.SerializeToString()):
            found.append(f"{label}: {hit}")
    for label, refusal in run.seen.refusals:
        text = f"{refusal.details} {refusal.reason} {refusal.metadata}"
        for hit in secret.found(text, refusal.status):
            found.append(f"{label} refused: {hit}")
    return list(dict.fromkeys(found))  # a leak repeated in each poll, once


# In logs: the keys' numbers, the contractor's, and any answer_json with a value.
LOGGED = Secret(
    [],
    [*map(number, (KEY, TOLERANCE, RESULT, BAD_RESULT)), re.compile(r"answer_json\W{0,3}[:=]")],
    [],
)


def log_leaks(log_dir: Path) -> list[str]:
    found = []
    files = sorted(log_dir.rglob("*.log"))
    assert files, f"no service log in {log_dir}"
    for path in files:
        for n, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            found += [f"{path.name}:{n}: {hit}" for hit in LOGGED.found(line)]
    return found


def metric_leaks(stack: Stack) -> list[str]:
    found = []
    for name, service in stack.services.items():
        with urllib.request.urlopen(service.metrics_url, timeout=10) as reply:
            text = reply.read().decode(errors="replace")
        found += [f"{name} metrics: {hit}" for hit in LOGGED.found(text)]
    return found


async def event_leaks(stack: Stack) -> list[str]:
    """Every record on the stack's topics, searched for key material."""
    found = []
    for topic in ALL_TOPICS:
        for record in await read_topic(stack.kafka, topic):
            raw = b"".join([record.key or b"", record.value or b""])
            raw += b"".join(value for _, value in record.headers)
            for hit in KEY_MATERIAL.found(raw.decode("latin-1"), raw):
                found.append(f"{topic} offset {record.partition}/{record.offset}: {hit}")
    return found


async def start(stack: Stack, streams: list[Recorded]) -> tuple[Run, Secret]:
    """The client's project, gold and ten ordinary tasks of the same shape; ann's and
    bob's live streams, opened first; what no contractor may see."""
    client = await as_client(stack, unique("aviary"))
    ann_id = unique("ann")
    ann, bob = await as_contractor(stack, ann_id), await as_contractor(stack, unique("bob"))
    project_id = await new_project(stack, client)
    gold = await add_gold(stack, client, project_id)
    run = Run(stack, client, ann_id, ann, bob, project_id, [], streams)
    run.live = await run.stream(ann)
    await run.stream(bob)
    reply = await stack.tasks.SubmitTasks(
        task_api.SubmitTasksRequest(
            project_id=project_id,
            tasks=[
                task_api.TaskSpec(idempotency_key=unique("t"), payload_json=photo())
                for _ in range(10)
            ],
        ),
        metadata=client,
    )
    run.ordinary = [t.task_id for t in reply.tasks]
    names = [g.idempotency_key for g in gold] + [g.gold_id for g in gold]
    words = ["gold", "reserved", *names, *(g.answer_json for g in gold)]
    return run, Secret(words, KEY_MATERIAL.patterns, KEY_MATERIAL.blobs)


async def test_nothing_a_contractor_can_see_tells_gold_from_ordinary_work(
    stack: Stack, streams: list[Recorded], log_dir: Path
) -> None:
    run, secret = await start(stack, streams)
    offered: set[str] = set()
    while not set(run.ordinary) <= offered:
        offer = await run.live.next("offered") if run.live else None
        assert offer is not None, "the ordinary tasks were not offered"
        offered.add(offer.task_id)
    await list_offers(run, run.ann, "ListOffers")
    await work_through(run)
    await at_the_end(run)
    for s in streams:
        await s.close()

    problems: list[str] = []
    stream_steps(run, problems)
    listed_steps(run, problems)
    compare_steps(run, problems)
    problems += contractor_leaks(run, secret)
    problems += await event_leaks(stack)
    problems += await asyncio.to_thread(metric_leaks, stack)
    problems += log_leaks(log_dir)
    assert not problems, "\n".join(problems)
