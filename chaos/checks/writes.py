"""No lost writes, and nothing made up: every write an ok operation acknowledged is in
the final state, and everything in the state that a caller makes has an operation
(ok, or info: it may have happened) that could have made it."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from chaos.checks.common import Findings, Ops, Verdict, arg
from chaos.model import Op, State

Rule = tuple[str, Callable[[Op], bool]]


def _names(op: Op) -> str:
    ids = {**op.args, **op.value}
    return f"{op.f} #{op.index} " + " ".join(
        f"{k}={v}" for k, v in ids.items() if isinstance(v, str) and v
    )


def _acknowledged(history: Ops, state: State) -> list[Rule]:
    """What each ok operation leaves in the state."""
    projects = {(p.client_id, p.request_id): p for p in state.projects}
    tasks = {t.task_id: t for t in state.tasks}
    claims = {c.claim_id: c for c in state.claims}
    subs = {s.submission_id: s for s in state.submissions}
    bonuses = {b.bonus_id for b in state.bonuses}
    sources = {p.source for p in state.postings}
    accept_calls = set(history.on("accept", "submission_id"))

    def project_made(op: Op) -> bool:
        return (arg(op, "client_id"), arg(op, "request_id")) in projects

    def referral_kept(op: Op) -> bool:
        referrer = arg(op, "referred_by")
        return not referrer or state.referrals.get(arg(op, "contractor_id")) == referrer

    def tasks_in_project(op: Op) -> bool:
        made = [tasks[t] for t in op.value.get("task_ids", []) if t in tasks]
        return all(t.project_id == arg(op, "project_id") for t in made)

    def claim_held(op: Op) -> bool:
        claim = claims.get(str(op.value.get("claim_id", "")))
        return claim is not None and (claim.contractor_id, claim.task_id) == (
            arg(op, "contractor_id"),
            arg(op, "task_id"),
        )

    def status_of(op: Op) -> tuple[str, str | None]:
        sub = subs.get(arg(op, "submission_id"))
        return (sub.status, sub.accepted_by) if sub else ("missing", None)

    def rejection_stands(op: Op) -> bool:
        # A rejection stands unless the client overrode it (an accept after it), or an
        # upheld appeal turned it into an acceptance (which appeals_paid judges).
        overridden = status_of(op) == ("accepted", "override")
        return (
            status_of(op)[0] == "rejected"
            or status_of(op) == ("accepted", "appeal")
            or (overridden and arg(op, "submission_id") in accept_calls)
        )

    def bonus_booked(op: Op) -> bool:
        bonus_id = str(op.value.get("bonus_id", ""))
        return bonus_id in bonuses and f"bonus:{bonus_id}" in sources

    def task_status(op: Op) -> str:
        task = tasks.get(arg(op, "task_id"))
        return task.status if task else "missing"

    def claim_status(op: Op) -> str:
        claim = claims.get(arg(op, "claim_id"))
        return claim.status if claim else "missing"

    def project_state(op: Op) -> str:
        return next((p.state for p in state.projects if p.project_id == arg(op, "project_id")), "")

    return [
        ("create_project", project_made),
        ("create_contractor", referral_kept),
        ("submit_tasks", tasks_in_project),
        ("claim", claim_held),
        ("submit", lambda op: arg(op, "claim_id") in subs),
        ("accept", lambda op: status_of(op)[0] == "accepted"),
        ("reject", rejection_stands),
        ("bonus", bonus_booked),
        ("cancel_task", lambda op: task_status(op) in ("cancelled", "completed")),
        ("release", lambda op: claim_status(op) == "ended"),
        ("close_project", lambda op: project_state(op) == "closed"),
    ]


def _lost(history: Ops, state: State, f: Findings) -> int:
    """Each ok write is in the state; how many were checked."""
    checked = 0
    for name, kept in _acknowledged(history, state):
        for op in history.ok(name):
            checked += 1
            if not kept(op):
                f.add("lost", _names(op))
    return checked


Cause = tuple[bool, str]  # (an operation could have made it, what it is)


def _tasks_caused(history: Ops, state: State) -> Iterator[Cause]:
    """Projects and tasks by their request ids and keys; cancellations by CancelTask, or
    by CloseProject, which cancels the project's unfinished tasks."""
    projects = history.by("create_project", "client_id", "request_id")
    for p in state.projects:
        yield (p.client_id, p.request_id) in projects, f"project {p.project_id}"
    keys = {
        (arg(op, "client_id"), str(key))
        for op in history.caused("submit_tasks")
        for key in op.args.get("keys", [])
    }
    cancelled = set(history.on("cancel_task", "task_id"))
    closed = set(history.on("close_project", "project_id"))
    with_gold = set(history.on("add_gold_tasks", "project_id"))
    for t in state.tasks:
        if t.reserved_for:  # gold issued to one contractor: the quality service's
            yield t.project_id in with_gold, f"gold task {t.task_id}"
        else:
            yield (t.client_id, t.idempotency_key) in keys, f"task {t.task_id}"
        if t.status == "cancelled":
            # Gold ends with its contractor's claim on it: the dispatcher cancels it then.
            caused = t.task_id in cancelled or t.project_id in closed or bool(t.reserved_for)
            yield caused, f"cancellation of task {t.task_id}"


def _claims_caused(history: Ops, state: State) -> Iterator[Cause]:
    """Claims by their request ids; submissions, the client's acceptances and rejections
    by the calls that name them (auto-acceptance is the clock's)."""
    claims = history.by("claim", "contractor_id", "request_id")
    for c in state.claims:
        yield (c.contractor_id, c.request_id) in claims, f"claim {c.claim_id}"
    submitted = set(history.on("submit", "claim_id"))
    accepted = set(history.on("accept", "submission_id"))
    rejected = set(history.on("reject", "submission_id"))
    appealed = set(history.on("file_appeal", "contractor_id"))
    for s in state.submissions:
        yield s.submission_id in submitted, f"submission {s.submission_id}"
        if s.accepted_by in ("client", "override"):
            yield s.submission_id in accepted, f"acceptance of {s.submission_id}"
        if s.accepted_by == "appeal":
            yield s.contractor_id in appealed, f"acceptance by appeal of {s.submission_id}"
        if s.status == "rejected" or s.accepted_by == "override":
            yield s.submission_id in rejected, f"rejection of {s.submission_id}"


def _pay_caused(history: Ops, state: State) -> Iterator[Cause]:
    """Bonuses by their idempotency keys; referrals by the contractor's creation."""
    bonuses = history.by("bonus", "client_id", "idempotency_key")
    for b in state.bonuses:
        yield (b.client_id, b.idempotency_key) in bonuses, f"bonus {b.bonus_id}"
    referrals = history.by("create_contractor", "contractor_id", "referred_by")
    for referred, referrer in state.referrals.items():
        yield (referred, referrer) in referrals, f"referral of {referred} by {referrer}"


def _uncaused(history: Ops, state: State, f: Findings) -> int:
    """Each row a caller makes has an ok or info operation that could have made it; how
    many rows were checked."""
    checked = 0
    for causes in (_tasks_caused, _claims_caused, _pay_caused):
        for caused, what in causes(history, state):
            checked += 1
            if not caused:
                f.add("uncaused", what)
    return checked


def no_lost_writes(ops: list[Op], state: State) -> Verdict:
    history = Ops(ops)
    f = Findings("lost", "uncaused")
    checked = _lost(history, state, f)
    rows = _uncaused(history, state, f)
    return f.verdict("no_lost_writes", ok_writes=checked, rows=rows)
