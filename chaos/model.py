"""What a chaos run leaves behind for its checker: the history of every operation the
workload tried, and the final state the services hold once they have quiesced.

Both are plain data, written to the run's folder as JSON (``history.jsonl``,
``state.json``), so a run's verdict can be computed again offline, and the self-test
can plant a defect in a copy of them.

Times are seconds since the run started (``time.monotonic`` of the harness) in the
history, and seconds since the epoch (the services' clocks) in the state.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Literal, TypeVar

# --- the history -----------------------------------------------------------------------

# ok: it happened; fail: a definite refusal (nothing changed); info: indefinite (a timeout,
# UNAVAILABLE after the SDK's retries, a lost answer): it may or may not have happened.
Outcome = Literal["ok", "fail", "info"]

# The operations the workload records (Op.f), with the ids each carries:
#   create_client        args: client_id
#   create_contractor    args: contractor_id, referred_by ("" for none)
#   create_project       args: client_id, request_id, basis, rate_minor, auto_accept_seconds,
#                              claim_timeout_seconds      value: project_id
#   submit_tasks         args: client_id, project_id, keys [idempotency keys], slots,
#                              lifetime_seconds           value: task_ids [in key order]
#   cancel_task          args: client_id, task_id
#   add_slots            args: client_id, task_id, request_id, slots
#   pause_project | resume_project | close_project   args: client_id, project_id
#   claim                args: contractor_id, task_id, request_id      value: claim_id
#   heartbeat            args: contractor_id, claim_id, worked_seconds
#   release              args: contractor_id, claim_id
#   submit               args: contractor_id, claim_id, worked_seconds
#   abandon              args: contractor_id, claim_id (no call: the lease is left to lapse;
#                              always ok)
#   accept | reject      args: client_id, submission_id
#   bonus                args: client_id, submission_id, idempotency_key, amount_minor
#                                                         value: bonus_id
#   payout               args: batch_id, threshold_minor (operator)
#   add_gold_tasks       args: client_id, project_id, keys [idempotency keys], answers
#                              [each key's answer_json], tolerance {field: tolerance}
#                                                         value: gold_ids [in key order]
#   set_quality_policy   args: client_id, project_id, gold_share_percent, rules [rule ids]
#   file_appeal          args: contractor_id, sanction_id, idempotency_key
#                                                         value: appeal_id
#   decide_appeal        args: client_id, appeal_id, uphold
# A claim in a project with gold also keeps, in its value, the payload it showed
# (``payload``): what the contractor was shown, searched for gold keys.
OP_NAMES = (
    "create_client",
    "create_contractor",
    "create_project",
    "submit_tasks",
    "cancel_task",
    "add_slots",
    "pause_project",
    "resume_project",
    "close_project",
    "claim",
    "heartbeat",
    "release",
    "submit",
    "abandon",
    "accept",
    "reject",
    "bonus",
    "add_gold_tasks",
    "set_quality_policy",
    "file_appeal",
    "decide_appeal",
)


@dataclass(kw_only=True)
class Op:
    """One operation as a caller saw it, Jepsen-style."""

    index: int
    process: str  # who: "client:<id>", "contractor:<id>", "operator"
    f: str  # one of OP_NAMES
    type: Outcome
    start: float  # seconds since the run started
    end: float
    args: dict[str, Any] = field(default_factory=dict)
    value: dict[str, Any] = field(default_factory=dict)  # on ok: the ids the service returned
    code: str = ""  # gRPC status name on fail or info
    reason: str = ""  # Crewline's reason (ErrorInfo) on fail or info
    message: str = ""


@dataclass(kw_only=True)
class Fault:
    """One fault the nemesis caused, and how long the stack took to recover from it."""

    index: int
    kind: str  # kill | pause | broker_kill | postgres_restart | clock_step
    target: str  # "dispatcher:2", "kafka", "postgres", ...
    start: float  # seconds since the run started
    end: float  # the fault over (process restarted, resumed)
    recovered: float | None = None  # every service answered again; None: never seen
    detail: str = ""

    @property
    def recovery_seconds(self) -> float | None:
        return None if self.recovered is None else self.recovered - self.start


# --- the final state -------------------------------------------------------------------


@dataclass(kw_only=True)
class TaskRow:
    """A task as the dispatcher holds it (``tasks``)."""

    task_id: str
    client_id: str
    project_id: str
    idempotency_key: str
    status: str  # open | in_progress | completed | expired | cancelled
    slots: int
    accepted_count: int
    rejected_count: int
    reserved_for: str | None = None  # a gold task issued to one contractor (else None)


@dataclass(kw_only=True)
class ClaimRow:
    """A claim as the matcher holds it (``claims``)."""

    claim_id: str
    task_id: str
    contractor_id: str
    request_id: str
    status: str  # active | submitted | ended
    end_reason: str | None  # submitted | released | expired | task_cancelled | task_expired |
    # project_paused | project_closed
    cut: str | None  # task_cancelled | project_paused | project_closed
    granted_at: float
    ended_at: float | None
    worked_seconds: int
    terms_basis: str  # per_submission | hourly
    rate_minor: int
    max_paid_seconds: int
    # The order of the claim's grant and of its end without work (ClaimGranted, ClaimEnded)
    # among the matcher's events: the ids of their outbox rows. A claim's grant and end
    # each lock its task's row, so these ids order a task's slot changes as they happened,
    # whatever the clocks said. None when the row was pruned (or never written).
    granted_seq: int | None = None
    ended_seq: int | None = None


@dataclass(kw_only=True)
class ProjectRow:
    """A project as the dispatcher holds it (``projects``)."""

    project_id: str
    client_id: str
    request_id: str
    state: str  # active | paused | closed


@dataclass(kw_only=True)
class SubmissionRow:
    """A submission as the dispatcher holds it (``submissions``)."""

    submission_id: str  # the claim's id
    task_id: str
    contractor_id: str
    client_id: str
    project_id: str
    status: str  # pending_review | accepted | rejected
    accepted_by: str | None  # client | auto_accept | override
    worked_seconds: int
    terms_basis: str | None
    rate_minor: int | None
    max_paid_seconds: int | None


@dataclass(kw_only=True)
class BonusRow:
    bonus_id: str
    client_id: str
    idempotency_key: str
    submission_id: str
    amount_minor: int


@dataclass(kw_only=True)
class Posting:
    """One transaction of the ledger's journal, with its entries by account."""

    transaction_id: str
    source: str  # submission:<id> | bonus:<id> | settlement:<claim> | referral:<contractor> | ...
    kind: str  # pay | bonus | referral | settlement | payout | reversal
    entries: dict[str, int]  # account id -> amount (minor units; the sum is 0)


@dataclass(kw_only=True)
class DeadlineRow:
    """A durable clock of the dispatcher (``deadlines``)."""

    kind: str  # lease | task_lifetime | auto_accept
    ref: str
    generation: int
    due_at: float
    fired_at: float | None
    dead_at: float | None


@dataclass(kw_only=True)
class WatchedEvent:
    """One event of a client's Watch: its sequence number (from the cursor), its kind
    (the WatchEvent oneof's name) and the ids it names."""

    seq: int
    kind: str
    task_id: str
    claim_id: str = ""  # claim or submission id, where the event names one


@dataclass(kw_only=True)
class GoldRow:
    """A gold task as the quality service holds it (``gold_tasks``): its key's text."""

    gold_id: str
    project_id: str
    client_id: str
    idempotency_key: str
    answer_json: str


@dataclass(kw_only=True)
class EvidenceRow:
    """One item a sanction rests on (``sanction_evidence``)."""

    kind: str  # gold | review | flag
    task_id: str
    submission_id: str
    gold_id: str | None
    correct: bool | None
    answer_json: str | None
    expected_json: str | None


@dataclass(kw_only=True)
class SanctionRow:
    """A sanction as the quality service holds it (``sanctions``), with the rule as it
    was when it acted and its evidence, in order (newest first)."""

    sanction_id: str
    contractor_id: str
    project_id: str
    rule_id: str
    measure: str  # gold_accuracy | acceptance_rate | time_flag_share
    below: int | None
    above: int | None
    min_sample: int
    action: str  # suspend | review_all | notify
    measured_value: int
    sample: int
    state: str  # active | ended | lifted
    imposed_at: float
    ended_at: float | None
    evidence: list[EvidenceRow] = field(default_factory=list)


@dataclass(kw_only=True)
class AppealRow:
    """An appeal as the quality service holds it (``appeals``)."""

    appeal_id: str
    contractor_id: str
    project_id: str
    sanction_id: str | None
    submission_id: str | None
    state: str  # pending | upheld | denied
    decided_by: str | None  # client | operator | deadline
    decided_at: float | None
    accepted_submission_ids: list[str] = field(default_factory=list)


@dataclass(kw_only=True)
class BlockRow:
    """A block the matcher holds for a suspension (``blocks``, id ``sanction:<id>``), with
    the matcher's own times: when it applied the sanction, and when it lifted it."""

    block_id: str
    contractor_id: str
    project_id: str | None
    blocked_at: float
    lifted_at: float | None


@dataclass(kw_only=True)
class BooksFigures:
    """VerifyBooks' answer."""

    balanced: bool
    transactions: int
    accepted_submissions: int
    unpaid: int
    paid_twice: int
    rejected_paid: int


@dataclass(kw_only=True)
class State:
    """Everything the checker reads of the services, after the run quiesced."""

    taken_at: float  # epoch seconds
    fee_bps: int
    referral_bonus_minor: int
    projects: list[ProjectRow] = field(default_factory=list)
    tasks: list[TaskRow] = field(default_factory=list)
    claims: list[ClaimRow] = field(default_factory=list)
    submissions: list[SubmissionRow] = field(default_factory=list)
    bonuses: list[BonusRow] = field(default_factory=list)
    postings: list[Posting] = field(default_factory=list)
    balances: dict[str, int] = field(default_factory=dict)  # account id -> balance (ledger)
    books: BooksFigures | None = None
    deadlines: list[DeadlineRow] = field(default_factory=list)
    # How often each deadline's effect was published: "<event type>:<key>" -> count, from
    # the dispatcher's outbox (LeaseElapsed per claim and generation, TaskExpired per
    # task, SubmissionAccepted by auto-accept per submission).
    deadline_effects: dict[str, int] = field(default_factory=dict)
    # Each client's Watch: read live through the run (reconnecting across faults), and
    # replayed from the start after it.
    watched_live: dict[str, list[WatchedEvent]] = field(default_factory=dict)
    watch_replay: dict[str, list[WatchedEvent]] = field(default_factory=dict)
    watch_heads: dict[str, int] = field(default_factory=dict)  # client id -> its last seq
    open_dead_letters: dict[str, int] = field(default_factory=dict)  # service -> count
    dead_deadlines: int = 0
    unsent_outbox: dict[str, int] = field(default_factory=dict)  # service -> count
    # contractor id -> who referred them (the matcher's record)
    referrals: dict[str, str] = field(default_factory=dict)
    # Quality control: gold keys, sanctions with their evidence, appeals (the quality
    # service's), the matcher's blocks for suspensions, and per service the outbox rows
    # (its events on Kafka) holding any gold key's text.
    gold: list[GoldRow] = field(default_factory=list)
    sanctions: list[SanctionRow] = field(default_factory=list)
    appeals: list[AppealRow] = field(default_factory=list)
    sanction_blocks: list[BlockRow] = field(default_factory=list)
    key_hits: dict[str, int] = field(default_factory=dict)


# --- JSON ---------------------------------------------------------------------------------

T = TypeVar("T")


def _build(cls: type[T], data: dict[str, Any]) -> T:
    return cls(**{f.name: data[f.name] for f in fields(cls) if f.name in data})  # type: ignore[arg-type]


def write_history(path: Path, ops: list[Op], faults: list[Fault]) -> None:
    with path.open("w") as out:
        for op in ops:
            out.write(json.dumps({"op": asdict(op)}) + "\n")
        for fault in faults:
            out.write(json.dumps({"fault": asdict(fault)}) + "\n")


def read_history(path: Path) -> tuple[list[Op], list[Fault]]:
    ops: list[Op] = []
    faults: list[Fault] = []
    for line in path.read_text().splitlines():
        item = json.loads(line)
        if "op" in item:
            ops.append(_build(Op, item["op"]))
        else:
            faults.append(_build(Fault, item["fault"]))
    return ops, faults


def write_state(path: Path, state: State) -> None:
    path.write_text(json.dumps(asdict(state)))


def read_state(path: Path) -> State:
    data = json.loads(path.read_text())
    rows: dict[str, type[Any]] = {
        "projects": ProjectRow,
        "tasks": TaskRow,
        "claims": ClaimRow,
        "submissions": SubmissionRow,
        "bonuses": BonusRow,
        "postings": Posting,
        "deadlines": DeadlineRow,
        "gold": GoldRow,
        "appeals": AppealRow,
        "sanction_blocks": BlockRow,
    }
    for name, cls in rows.items():
        data[name] = [_build(cls, r) for r in data.get(name, [])]
    data["sanctions"] = [
        _build(SanctionRow, {**r, "evidence": [_build(EvidenceRow, e) for e in r["evidence"]]})
        for r in data.get("sanctions", [])
    ]
    for name in ("watched_live", "watch_replay"):
        data[name] = {
            c: [_build(WatchedEvent, e) for e in evs] for c, evs in data.get(name, {}).items()
        }
    if data.get("books") is not None:
        data["books"] = _build(BooksFigures, data["books"])
    return _build(State, data)
