"""Quality control: every sanction rests on enough evidence, judged by the keys the
workload made; one sanction of a rule at a time; upheld appeals pay what they accept,
once; gold keys stay hidden; and a suspended contractor is granted no claim in the
project while the matcher holds the suspension's block."""

from __future__ import annotations

import itertools
import json
from collections import Counter, defaultdict
from decimal import Decimal
from typing import Any

from chaos.checks.common import Findings, Ops, Verdict, arg
from chaos.model import Op, SanctionRow, State

K = Decimal(1) / 2  # the scores' smoothing: (K + right) / (2K + counted)
# A claim's grant time is its transaction's; one that began before the block committed
# did not see it and may carry a later time. A grant within this margin after the block
# is not counted; the matcher's own claim function refuses any later one.
BLOCK_MARGIN = 2.0


def workload_keys(history: Ops) -> dict[tuple[str, str], tuple[str, dict[str, float]]]:
    """(project, gold idempotency key) -> (the key's answer_json, tolerances by field),
    as the workload's AddGoldTasks calls sent them."""
    keys = {}
    for op in history.caused("add_gold_tasks"):
        tolerance = dict(op.args.get("tolerance", {}))
        for key, text in zip(op.args.get("keys", []), op.args.get("answers", []), strict=False):
            keys[arg(op, "project_id"), str(key)] = (str(text), tolerance)
    return keys


def right(answer_json: str | None, key_json: str, tolerance: dict[str, float]) -> bool:
    """Whether an answer is right by the key, as docs/quality.md states it: every keyed
    field; a choice the key's label, a number within its tolerance (in decimal)."""
    try:
        answer: Any = json.loads(answer_json or "")
    except ValueError:
        return False
    key = json.loads(key_json)
    if not isinstance(answer, dict):
        return False
    for name, want in key.items():
        have = answer.get(name)
        if isinstance(want, int | float) and not isinstance(want, bool):
            if not isinstance(have, int | float) or isinstance(have, bool):
                return False
            within = Decimal(str(tolerance.get(name, 0)))
            if abs(Decimal(str(have)) - Decimal(str(want))) > within:
                return False
        elif have != want:
            return False
    return True


def smoothed(right_count: int, counted: int) -> int:
    """100 q rounded half up, q = (K + right) / (2K + counted)."""
    q = (K + right_count) / (2 * K + counted) * 100
    return int(q + K)


def _breaks(s: SanctionRow) -> bool:
    if s.below is not None:
        return s.measured_value < s.below
    return s.above is not None and s.measured_value > s.above


def _judged(s: SanctionRow, state: State, keys: Any, f: Findings) -> None:
    gold = {g.gold_id: g for g in state.gold}
    right_count = 0
    for item in s.evidence:
        if item.kind != "gold":
            continue
        g = gold.get(item.gold_id or "")
        made = keys.get((g.project_id, g.idempotency_key)) if g else None
        if g is None or made is None:
            f.add("unknown_key", f"sanction {s.sanction_id}: gold {item.gold_id} nobody added")
            continue
        key_json, tolerance = made
        if item.expected_json != key_json or g.answer_json != key_json:
            f.add(
                "wrong_key",
                f"sanction {s.sanction_id}: gold {g.gold_id} shows {item.expected_json},"
                f" the key was {key_json}",
            )
        verdict = right(item.answer_json, key_json, tolerance)
        if verdict != item.correct:
            f.add(
                "misjudged",
                f"sanction {s.sanction_id}: {item.submission_id} judged {item.correct},"
                f" by the key {verdict}",
            )
        right_count += verdict
    if s.measure == "gold_accuracy" and s.evidence:
        value = smoothed(right_count, len(s.evidence))
        if value != s.measured_value or not _breaks(s):
            f.add(
                "misjudged",
                f"sanction {s.sanction_id}: measured {s.measured_value},"
                f" the evidence gives {value}",
            )


def sanction_evidence(ops: list[Op], state: State) -> Verdict:
    """Every sanction rests on a sample of at least its rule's min_sample, which its
    evidence holds item for item; each gold item shows the key the workload made and the
    verdict that key gives; the value measured from it breaks the rule."""
    keys = workload_keys(Ops(ops))
    f = Findings("short_sample", "unknown_key", "wrong_key", "misjudged")
    items = 0
    for s in state.sanctions:
        items += len(s.evidence)
        if s.sample < s.min_sample or len(s.evidence) != s.sample:
            f.add(
                "short_sample",
                f"sanction {s.sanction_id}: sample {s.sample}, {len(s.evidence)} items,"
                f" min_sample {s.min_sample}",
            )
        _judged(s, state, keys, f)
    return f.verdict("sanction_evidence", sanctions=len(state.sanctions), evidence=items)


def one_sanction(ops: list[Op], state: State) -> Verdict:
    """No contractor holds two ACTIVE sanctions of one rule in a project, nor was one
    imposed while another of the same rule still held."""
    f = Findings("two_active", "overlapping")
    by_rule = defaultdict(list)
    for s in state.sanctions:
        by_rule[s.contractor_id, s.project_id, s.rule_id].append(s)
    for (contractor, project, rule), held in sorted(by_rule.items()):
        active = [s.sanction_id for s in held if s.state == "active"]
        if len(active) > 1:
            f.add("two_active", f"{contractor} in {project}, rule {rule}: {', '.join(active)}")
        held.sort(key=lambda s: s.imposed_at)
        for before, after in itertools.pairwise(held):
            if before.ended_at is None or after.imposed_at < before.ended_at:
                f.add("overlapping", f"{after.sanction_id} imposed while {before.sanction_id} held")
    holding = sum(1 for s in state.sanctions if s.state == "active")
    return f.verdict("one_sanction", sanctions=len(state.sanctions), active=holding)


def appeals_paid(ops: list[Op], state: State) -> Verdict:
    """Every upheld appeal lifted its sanction, and each submission it accepted is
    accepted by APPEAL and paid exactly once; every rejected piece of its evidence that
    the client's ok reject made is among them; nothing else is accepted by appeal."""
    history = Ops(ops)
    subs = {s.submission_id: s for s in state.submissions}
    pay = Counter(p.source for p in state.postings if p.kind == "pay")
    sanctions = {s.sanction_id: s for s in state.sanctions}
    # When each client's ok rejection ended, and each appeal's filing began (the run's
    # clock): a rejection made before the filing must be undone by its upholding.
    rejected = {
        sid: min(op.end for op in found)
        for sid, found in history.on("reject", "submission_id", outcomes=("ok",)).items()
    }
    filed = {
        sid: min(op.start for op in found)
        for sid, found in history.on("file_appeal", "sanction_id").items()
    }
    f = Findings("not_lifted", "not_accepted", "not_paid_once", "left_rejected", "without_appeal")
    by_appeal: set[str] = set()
    upheld = [a for a in state.appeals if a.state == "upheld"]
    for a in upheld:
        by_appeal.update(a.accepted_submission_ids)
        s = sanctions.get(a.sanction_id or "")
        if a.sanction_id and (s is None or s.state == "active"):
            f.add(
                "not_lifted",
                f"appeal {a.appeal_id}: sanction {a.sanction_id} {s.state if s else 'missing'}",
            )
        for sid in a.accepted_submission_ids:
            sub = subs.get(sid)
            if sub is None or (sub.status, sub.accepted_by) != ("accepted", "appeal"):
                have = f"{sub.status} by {sub.accepted_by}" if sub else "missing"
                f.add("not_accepted", f"appeal {a.appeal_id}: {sid} {have}")
            if pay[f"submission:{sid}"] != 1:
                f.add(
                    "not_paid_once",
                    f"appeal {a.appeal_id}: {sid} paid {pay[f'submission:{sid}']} times",
                )
        covered = [e.submission_id for e in s.evidence] if s else [a.submission_id or ""]
        for sid in covered:
            sub = subs.get(sid)
            before = sid in rejected and rejected[sid] < filed.get(a.sanction_id or "", 0.0)
            if before and sub is not None and sub.status != "accepted":
                f.add("left_rejected", f"appeal {a.appeal_id}: {sid} still {sub.status}")
    for sub in state.submissions:
        if sub.accepted_by == "appeal" and sub.submission_id not in by_appeal:
            f.add(
                "without_appeal",
                f"{sub.submission_id} accepted by appeal, no upheld appeal names it",
            )
    decided = Counter(a.decided_by or a.state for a in state.appeals)
    return f.verdict(
        "appeals_paid",
        appeals=len(state.appeals),
        upheld=len(upheld),
        by_deadline=decided["deadline"],
        accepted=len(by_appeal),
    )


def gold_hidden(ops: list[Op], state: State) -> Verdict:
    """No gold key's text is in any service's outbox (its events on Kafka), nor in what
    the workload recorded of any contractor's calls (the payloads their claims showed)."""
    keys = {text for text, _ in workload_keys(Ops(ops)).values()}
    keys |= {g.answer_json for g in state.gold}
    f = Findings("in_events", "shown")
    for service, n in sorted(state.key_hits.items()):
        if n:
            f.add("in_events", f"{service}: {n} outbox rows", count=n)
    seen = 0
    for op in ops:
        if not op.process.startswith("contractor:"):
            continue
        seen += 1
        text = json.dumps([op.args, op.value])
        for key in keys:
            if key in text or json.dumps(key)[1:-1] in text:
                f.add("shown", f"{op.f} #{op.index} of {op.process}")
                break
    return f.verdict("gold_hidden", keys=len(keys), contractor_ops=seen)


def suspended_no_claims(ops: list[Op], state: State) -> Verdict:
    """Each suspension the quality service imposed is a block in the matcher, lifted
    once the sanction no longer holds; and no claim of the contractor in the project was
    granted while the block held, by the matcher's own times."""
    f = Findings("no_block", "block_differs", "granted_while_blocked")
    blocks = {b.block_id.removeprefix("sanction:"): b for b in state.sanction_blocks}
    project_of = {t.task_id: t.project_id for t in state.tasks}
    claims = defaultdict(list)
    for c in state.claims:
        claims[c.contractor_id, project_of.get(c.task_id)].append(c)
    for s in state.sanctions:
        if s.action != "suspend":
            continue
        b = blocks.get(s.sanction_id)
        if b is None:
            f.add("no_block", f"sanction {s.sanction_id} of {s.contractor_id}")
        elif (b.lifted_at is None) != (s.state == "active") or (b.contractor_id, b.project_id) != (
            s.contractor_id,
            s.project_id,
        ):
            f.add(
                "block_differs",
                f"sanction {s.sanction_id} {s.state}, block lifted_at {b.lifted_at}",
            )
    for b in state.sanction_blocks:
        end = b.lifted_at if b.lifted_at is not None else float("inf")
        for c in claims.get((b.contractor_id, b.project_id), []):
            if b.blocked_at + BLOCK_MARGIN < c.granted_at < end:
                f.add(
                    "granted_while_blocked",
                    f"claim {c.claim_id} of {b.contractor_id} inside {b.block_id}",
                )
    return f.verdict("suspended_no_claims", blocks=len(state.sanction_blocks))
