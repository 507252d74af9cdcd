"""One chaos run: a fresh stack, the marketplace under faults, quiescence, the checker
and its self-test. Everything the run saw is written to its folder, so its verdict can
be computed again (``python -m chaos check FOLDER``)."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg

from chaos import report
from chaos.checker import Verdict, check, format_verdicts
from chaos.history import History
from chaos.model import Fault, Op, read_history, read_state, write_history, write_state
from chaos.nemesis import Canary, FaultPlan, Nemesis
from chaos.quiesce import quiesce
from chaos.selftest import format_selftest, selftest
from chaos.stack import ChaosStack, Ports
from chaos.state import collect
from chaos.workload import ExpertActor, LabActor, Progress, Sizes, Watcher, setup

BASELINE_TRIPS = 3


@dataclass(frozen=True, kw_only=True)
class Options:
    sizes: Sizes = field(default_factory=Sizes)
    faults: FaultPlan = field(default_factory=FaultPlan)
    seed: int = 1
    home: Path = Path(".local/chaos")
    out: Path = Path(".local/chaos-run")
    ports: Ports = field(default_factory=Ports)
    limit: float = 1800.0  # seconds for the workload; a safety net, never a pass criterion
    keep: bool = False  # leave the stack running after the run


async def run(options: Options) -> int:
    """0 when every invariant holds, the self-test catches every planted defect, every
    planned fault was injected and recovered from, and the work finished."""
    options.out.mkdir(parents=True, exist_ok=True)
    stack = ChaosStack(options.home.resolve(), options.ports)
    say(f"chaos: seed {options.seed}, {options.sizes}, {options.faults}")
    stack.fresh()
    stack.up()
    try:
        return await _run(stack, options)
    finally:
        if not options.keep:
            stack.down()


async def _run(stack: ChaosStack, options: Options) -> int:
    history = History()
    sizes, seed = options.sizes, options.seed
    market = await setup(history, stack.endpoints, stack.operator_credential, sizes, seed)
    progress = Progress(planned=sizes.tasks)
    stop = asyncio.Event()
    canary = Canary(market, history)
    baseline = []
    for _ in range(BASELINE_TRIPS):
        t0 = time.monotonic()
        await canary.round_trip()
        baseline.append(time.monotonic() - t0)
    say(f"stack up; canary round trip without faults: {max(baseline):.2f} s at most")
    watchers = {cid: Watcher(client, progress) for cid, client in market.clients.items()}
    nemesis = Nemesis(stack, options.faults, history, progress, canary, seed, stop)
    shares = _split(sizes.tasks, len(market.clients))
    t0 = time.monotonic()
    async with asyncio.TaskGroup() as group:
        watching = [group.create_task(w.run()) for w in watchers.values()]
        actors = [
            group.create_task(
                LabActor(cid, market, history, progress, share, sizes, seed, stop).run()
            )
            for cid, share in zip(market.clients, shares, strict=True)
        ]
        actors += [
            group.create_task(
                ExpertActor(xid, sdk, history, seed, stop, market.gold_projects).run()
            )
            for xid, sdk in market.contractors.items()
        ]
        faults = group.create_task(nemesis.run())
        finished = await _until_done(progress, faults, options.limit)
        stop.set()
        await asyncio.gather(*actors, faults)
        worked = time.monotonic() - t0
        say(
            f"workload {'finished' if finished else 'STOPPED at its limit'} in {worked:.0f} s: "
            f"{progress.ended} of {progress.planned} tasks ended, {len(history.ops)} operations, "
            f"{len(nemesis.faults)} faults"
        )
        settled = await quiesce(stack, limit=600)
        say(
            f"quiesced in {settled.seconds:.0f} s"
            if settled.settled
            else f"did NOT quiesce in {settled.seconds:.0f} s: {settled.left}"
        )
        await _caught_up(stack, watchers)
        for w in watching:
            w.cancel()
    state = await collect(
        dsns={s: stack.dsn(s) for s in ("dispatcher", "matcher", "ledger", "quality")},
        operator=market.operator,
        clients={**market.clients, "canary": market.canary_client},
        watched_live={cid: w.seen for cid, w in watchers.items()},
        fee_bps=stack.fee_bps,
        referral_bonus_minor=stack.referral_bonus_minor,
    )
    await market.close()
    write_history(options.out / "history.jsonl", history.ops, nemesis.faults)
    write_state(options.out / "state.json", state)
    say(f"history and final state in {options.out}/")
    return verdict(
        history.ops,
        nemesis.faults,
        state_path=options.out / "state.json",
        planned=options.faults.counts(),
        complete=finished and settled.settled,
        out=options.out,
    )


def verdict(
    ops: list[Op],
    faults: list[Fault],
    *,
    state_path: Path,
    planned: dict[str, int] | None,
    complete: bool,
    out: Path | None = None,
) -> int:
    """Prints the tables, the invariants and the self-test; the exit code."""
    state = read_state(state_path)
    verdicts: list[Verdict] = check(ops, state)
    caught = selftest(ops, state)
    kinds = planned or Counter(f.kind for f in faults)  # a run's files alone: what it injected
    text = "\n\n".join(
        [
            "## Operations by outcome\n\n" + report.operations_table(ops),
            "## Faults and recovery\n\n" + report.faults_table(faults, kinds),
            "## Invariants\n\n" + format_verdicts(verdicts),
            "## Self-test (one planted defect per invariant)\n\n" + format_selftest(caught),
        ]
    )
    say(text)
    if out is not None:
        (out / "report.md").write_text(text + "\n")
    missing = planned is not None and sum(planned.values()) != len(faults)
    lost = report.unrecovered(faults)
    ok = (
        complete
        and all(v.holds for v in verdicts)
        and all(hit for _, hit in caught)
        and not missing
        and not lost
    )
    if missing:
        say(f"FAILS: {len(faults)} faults injected of {sum((planned or {}).values())} planned")
    for fault in lost:
        say(f"FAILS: no recovery after fault {fault.index} ({fault.kind} {fault.target})")
    say("chaos run PASSED" if ok else "chaos run FAILED")
    return 0 if ok else 1


def check_folder(folder: Path) -> int:
    """The verdict of a finished run, from its files."""
    ops, faults = read_history(folder / "history.jsonl")
    return verdict(ops, faults, state_path=folder / "state.json", planned=None, complete=True)


async def _until_done(progress: Progress, faults: asyncio.Task[None], limit: float) -> bool:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if progress.done and faults.done():
            return True
        await asyncio.sleep(0.5)
    return False


async def _caught_up(stack: ChaosStack, watchers: dict[str, Watcher]) -> None:
    """Until each live watch has seen its client's last event (or five minutes: a safety
    net; the checker names a watch that fell short)."""
    conn = await asyncpg.connect(stack.dsn("dispatcher"))
    try:
        heads = dict(await conn.fetch("SELECT client_id, last_seq FROM watch_heads"))
    finally:
        await conn.close()
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        behind = [
            cid
            for cid, w in watchers.items()
            if (w.seen[-1].seq if w.seen else 0) < heads.get(cid, 0)
        ]
        if not behind:
            return
        await asyncio.sleep(0.2)


def _split(total: int, parts: int) -> list[int]:
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


def say(text: str) -> None:
    print(text, flush=True)
