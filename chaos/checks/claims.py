"""Every claim ends once, with the reason docs/concepts/claims.md gives it:

- submitted work ends it with ``submitted``;
- a release ends it ``released``, or with the cut's reason when the client cut it short;
- a lease that ran out ends it ``expired``, ``task_expired`` (after the task's
  lifetime), or with the cut's reason;
- once the run has quiesced no claim is live: the workload ends every claim it does not
  walk away from, and the leases of the others lapse.
"""

from __future__ import annotations

from collections import Counter, defaultdict

from chaos.checks.common import CAUSES, Findings, Ops, Verdict, arg
from chaos.model import ClaimRow, Op, State

ENDED_WITHOUT_WORK = frozenset(
    {"released", "expired", "task_cancelled", "task_expired", "project_paused", "project_closed"}
)
LAPSED = frozenset({"expired", "task_expired"})


def inconsistency(claim: ClaimRow) -> str | None:
    """What is wrong with the claim's own record of its end, if anything."""
    reason = claim.end_reason
    if claim.status == "active":
        return None if reason is None and claim.ended_at is None else f"live, ended {reason}"
    if claim.status == "submitted":
        return None if reason == "submitted" else f"submitted, ended {reason}"
    if claim.status != "ended":
        return f"status {claim.status}"
    if reason not in ENDED_WITHOUT_WORK or claim.ended_at is None:
        return f"ended, with reason {reason} at {claim.ended_at}"
    if claim.cut is not None and reason != claim.cut:
        return f"cut {claim.cut}, ended {reason}"
    return None


def reasons_from_history(claim: ClaimRow, ops: list[Op]) -> frozenset[str] | None:
    """The end reasons the claim's operations allow; None when they say nothing."""
    done = {(op.f, op.type) for op in ops}
    if ("submit", "ok") in done:
        return frozenset({"submitted"})
    if ("release", "ok") in done:
        return frozenset({claim.cut or "released"})
    ended_by_call = any((f, t) in done for f in ("submit", "release") for t in CAUSES)
    if ("abandon", "ok") in done and not ended_by_call:
        return frozenset({claim.cut}) if claim.cut else LAPSED
    return None


def claims_end_once(ops: list[Op], state: State) -> Verdict:
    history = Ops(ops)
    of_claim: dict[str, list[Op]] = defaultdict(list)
    for name in ("submit", "release", "abandon"):
        for op in history.of(name):
            of_claim[arg(op, "claim_id")].append(op)
    f = Findings("twice", "still_active", "inconsistent", "disagrees")
    for claim_id, n in Counter(c.claim_id for c in state.claims).items():
        if n > 1:
            f.add("twice", f"claim {claim_id} x{n}")
    for claim in state.claims:
        if claim.status == "active":
            f.add("still_active", f"claim {claim.claim_id} (task {claim.task_id})")
        wrong = inconsistency(claim)
        if wrong:
            f.add("inconsistent", f"claim {claim.claim_id}: {wrong}")
            continue
        allowed = reasons_from_history(claim, of_claim.get(claim.claim_id, []))
        if allowed is not None and claim.end_reason not in allowed:
            seen = sorted({f"{op.f}:{op.type}" for op in of_claim[claim.claim_id]})
            why = f"ended {claim.end_reason}; {seen} allow {sorted(allowed)}"
            f.add("disagrees", f"claim {claim.claim_id} {why}")
    reasons = Counter(c.end_reason or "live" for c in state.claims)
    return f.verdict(
        "claims_end_once", claims=len(state.claims), **{k: reasons[k] for k in sorted(reasons)}
    )
