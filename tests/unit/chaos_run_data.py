"""A small chaos run written out by hand, consistent in every respect: two clients,
three contractors (x2 referred by x1), and each way work ends.

lab1, project p-review (per submission, 200): task t1 (2 slots): x1's work accepted by
the client with a bonus of 50, x2's rejected. Project p-hourly (3600/h, cap 60 s): task
t2: x3 released, then x2 worked 30 s, auto-accepted (pays 30; x2's first accepted work,
so x1 earns the referral). Task t6 came of a SubmitTasks whose answer was lost.

lab2, project p-auto (150): task t3: x1 walked away (the lease lapsed), x3's work
auto-accepted; task t5 cancelled. Project p-closed (7200/h, cap 60 s), closed while x3
held t4's claim after reporting 45 s: t4 is cancelled with it, the claim lapsed cut,
and is settled (90).

With a 20 % fee: x1 200 + 50 + 25,000; x2 30; x3 150 + 90; lab1 -(240 + 60 + 36);
lab2 -(180 + 108); platform:fees 104; platform:referrals -25,000.
"""

from __future__ import annotations

from typing import Any

from chaos.model import (
    BonusRow,
    BooksFigures,
    ClaimRow,
    DeadlineRow,
    Op,
    Outcome,
    Posting,
    ProjectRow,
    State,
    SubmissionRow,
    TaskRow,
    WatchedEvent,
)

TAKEN_AT = 1_700_000_000.0
T0 = TAKEN_AT - 100  # the services' clock when the run's work began


class _History:
    def __init__(self) -> None:
        self.ops: list[Op] = []

    def add(
        self,
        who: str,
        f: str,
        value: dict[str, Any] | None = None,
        kind: Outcome = "ok",
        **args: Any,
    ) -> None:
        n = len(self.ops)
        code = "" if kind == "ok" else "UNAVAILABLE" if kind == "info" else "FAILED_PRECONDITION"
        self.ops.append(
            Op(
                index=n,
                process=who,
                f=f,
                type=kind,
                start=float(n),
                end=n + 0.5,
                args=args,
                value=value or {},
                code=code,
            )
        )

    def client(
        self,
        client: str,
        f: str,
        value: dict[str, Any] | None = None,
        kind: Outcome = "ok",
        **args: Any,
    ) -> None:
        self.add(f"client:{client}", f, value, kind, client_id=client, **args)

    def contractor(
        self,
        contractor: str,
        f: str,
        value: dict[str, Any] | None = None,
        kind: Outcome = "ok",
        **args: Any,
    ) -> None:
        self.add(f"contractor:{contractor}", f, value, kind, contractor_id=contractor, **args)

    def claim(self, contractor: str, task: str, claim: str) -> None:
        self.contractor(
            contractor, "claim", {"claim_id": claim}, task_id=task, request_id=f"r-{claim}"
        )


PROJECTS = (("lab1", "review"), ("lab1", "hourly"), ("lab2", "auto"), ("lab2", "closed"))
BATCHES = (
    ("lab1", "p-review", ["k1"], ["t1"]),
    ("lab1", "p-hourly", ["k2"], ["t2"]),
    ("lab2", "p-auto", ["k3", "k5"], ["t3", "t5"]),
    ("lab2", "p-closed", ["k4"], ["t4"]),
)
SUBMITTED = (("x1", "c1", 0), ("x2", "c2", 0), ("x2", "c4", 30), ("x3", "c6", 0))


def history() -> list[Op]:
    h = _History()
    for client in ("lab1", "lab2"):
        h.add("operator", "create_client", client_id=client)
    for contractor, referrer in (("x1", ""), ("x2", "x1"), ("x3", "")):
        h.add("operator", "create_contractor", contractor_id=contractor, referred_by=referrer)
    for client, name in PROJECTS:
        h.client(client, "create_project", request_id=f"rq-{name}")
    lifetime: dict[str, Any] = {"slots": 1, "lifetime_seconds": 86400}
    for client, project, keys, tasks in BATCHES:
        h.client(
            client, "submit_tasks", {"task_ids": tasks}, project_id=project, keys=keys, **lifetime
        )
    h.client("lab1", "submit_tasks", kind="info", project_id="p-review", keys=["k6"], **lifetime)
    for contractor, task, claim in (
        ("x1", "t1", "c1"),
        ("x2", "t1", "c2"),
        ("x3", "t2", "c3"),
        ("x1", "t3", "c5"),
        ("x3", "t4", "c7"),
    ):
        h.claim(contractor, task, claim)
    h.contractor("x3", "claim", kind="fail", task_id="t1", request_id="r-x")
    h.contractor("x3", "heartbeat", claim_id="c7", worked_seconds=45)
    h.contractor("x3", "release", claim_id="c3")
    h.claim("x2", "t2", "c4")
    h.claim("x3", "t3", "c6")
    for contractor, claim, worked in SUBMITTED:
        h.contractor(contractor, "submit", claim_id=claim, worked_seconds=worked)
    h.contractor("x1", "abandon", claim_id="c5")
    h.client("lab2", "close_project", project_id="p-closed")
    h.contractor("x3", "abandon", claim_id="c7")
    h.client("lab2", "cancel_task", task_id="t5")
    h.client("lab1", "accept", submission_id="c1")
    h.client("lab1", "reject", submission_id="c2")
    h.client(
        "lab1",
        "bonus",
        {"bonus_id": "b1"},
        submission_id="c1",
        idempotency_key="bk1",
        amount_minor=50,
    )
    return h.ops


def _task(task_id: str, client: str, project: str, key: str, **fields: Any) -> TaskRow:
    row = {"status": "completed", "slots": 1, "accepted_count": 1, "rejected_count": 0}
    return TaskRow(
        task_id=task_id,
        client_id=client,
        project_id=project,
        idempotency_key=key,
        **{**row, **fields},
    )


def tasks() -> list[TaskRow]:
    return [
        _task("t1", "lab1", "p-review", "k1", slots=2, rejected_count=1),
        _task("t2", "lab1", "p-hourly", "k2"),
        _task("t3", "lab2", "p-auto", "k3"),
        _task("t4", "lab2", "p-closed", "k4", status="cancelled", accepted_count=0),
        _task("t5", "lab2", "p-auto", "k5", status="cancelled", accepted_count=0),
        _task("t6", "lab1", "p-review", "k6", status="open", accepted_count=0),
    ]


PER_SUBMISSION = {"terms_basis": "per_submission", "max_paid_seconds": 0}


def _claim(
    claim_id: str, task: str, contractor: str, granted: float, seq: int, **fields: Any
) -> ClaimRow:
    row: dict[str, Any] = {
        "status": "submitted",
        "end_reason": "submitted",
        "cut": None,
        "ended_at": None,
        "worked_seconds": 0,
        "rate_minor": 200,
        "ended_seq": None,
        **PER_SUBMISSION,
        **fields,
    }
    return ClaimRow(
        claim_id=claim_id,
        task_id=task,
        contractor_id=contractor,
        request_id=f"r-{claim_id}",
        granted_at=T0 + granted,
        granted_seq=seq,
        **row,
    )


def claims() -> list[ClaimRow]:
    hourly = {"terms_basis": "hourly", "rate_minor": 3600, "max_paid_seconds": 60}
    return [
        _claim("c1", "t1", "x1", 10, 1, ended_at=T0 + 15),
        _claim("c2", "t1", "x2", 11, 2, ended_at=T0 + 16),
        _claim(
            "c3",
            "t2",
            "x3",
            12,
            3,
            status="ended",
            end_reason="released",
            ended_at=T0 + 20,
            ended_seq=5,
            **hourly,
        ),
        _claim("c4", "t2", "x2", 21, 6, ended_at=T0 + 50, worked_seconds=30, **hourly),
        _claim(
            "c5",
            "t3",
            "x1",
            13,
            4,
            status="ended",
            end_reason="expired",
            ended_at=T0 + 30,
            ended_seq=7,
            rate_minor=150,
        ),
        _claim("c6", "t3", "x3", 31, 8, ended_at=T0 + 40, rate_minor=150),
        _claim(
            "c7",
            "t4",
            "x3",
            14,
            9,
            status="ended",
            end_reason="project_closed",
            cut="project_closed",
            ended_at=T0 + 60,
            ended_seq=10,
            worked_seconds=45,
            **{**hourly, "rate_minor": 7200},
        ),
    ]


def submissions() -> list[SubmissionRow]:
    def sub(
        sid: str, task: str, who: str, client: str, project: str, **fields: Any
    ) -> SubmissionRow:
        row = {"worked_seconds": 0, "rate_minor": 200, **PER_SUBMISSION, **fields}
        return SubmissionRow(
            submission_id=sid,
            task_id=task,
            contractor_id=who,
            client_id=client,
            project_id=project,
            **row,
        )

    hourly = {"terms_basis": "hourly", "rate_minor": 3600, "max_paid_seconds": 60}
    return [
        sub("c1", "t1", "x1", "lab1", "p-review", status="accepted", accepted_by="client"),
        sub("c2", "t1", "x2", "lab1", "p-review", status="rejected", accepted_by=None),
        sub(
            "c4",
            "t2",
            "x2",
            "lab1",
            "p-hourly",
            status="accepted",
            accepted_by="auto_accept",
            worked_seconds=30,
            **hourly,
        ),
        sub(
            "c6",
            "t3",
            "x3",
            "lab2",
            "p-auto",
            status="accepted",
            accepted_by="auto_accept",
            rate_minor=150,
        ),
    ]


def postings() -> list[Posting]:
    def charge(source: str, kind: str, client: str, who: str, amount: int) -> Posting:
        fee = -(-amount // 5)
        entries = {f"client:{client}": -(amount + fee), f"contractor:{who}": amount}
        return Posting(
            transaction_id=f"txn-{source}",
            source=source,
            kind=kind,
            entries={**entries, "platform:fees": fee},
        )

    return [
        charge("submission:c1", "pay", "lab1", "x1", 200),
        charge("bonus:b1", "bonus", "lab1", "x1", 50),
        charge("submission:c4", "pay", "lab1", "x2", 30),
        Posting(
            transaction_id="txn-referral",
            source="referral:x2",
            kind="referral",
            entries={"platform:referrals": -25000, "contractor:x1": 25000},
        ),
        charge("submission:c6", "pay", "lab2", "x3", 150),
        charge("settlement:c7", "settlement", "lab2", "x3", 90),
    ]


BALANCES = {
    "contractor:x1": 25250,
    "contractor:x2": 30,
    "contractor:x3": 240,
    "client:lab1": -336,
    "client:lab2": -288,
    "platform:fees": 104,
    "platform:referrals": -25000,
}


def deadlines() -> list[DeadlineRow]:
    fired = [("lease", c, 60 + n) for n, c in enumerate(["c1", "c2", "c3", "c4", "c5", "c6"])]
    fired += [("lease", "c7", 59), ("auto_accept", "c4", 52), ("auto_accept", "c6", 42)]
    rows = [
        DeadlineRow(
            kind=k, ref=r, generation=1, due_at=T0 + at, fired_at=T0 + at + 0.1, dead_at=None
        )
        for k, r, at in fired
    ]
    rows += [
        DeadlineRow(
            kind="task_lifetime",
            ref=t,
            generation=1,
            due_at=TAKEN_AT + 86400,
            fired_at=None,
            dead_at=None,
        )
        for t in ("t1", "t2", "t3", "t4", "t6")
    ]
    return rows


EFFECTS = {
    "LeaseElapsed:c5:1": 1,
    "LeaseElapsed:c7:1": 1,
    "SubmissionAccepted:c4": 1,
    "SubmissionAccepted:c6": 1,
}


def _events(*events: tuple[str, str, str]) -> list[WatchedEvent]:
    return [
        WatchedEvent(seq=n, kind=kind, task_id=task, claim_id=claim)
        for n, (kind, task, claim) in enumerate(events, start=1)
    ]


def replays() -> dict[str, list[WatchedEvent]]:
    lab1 = _events(
        ("task_changed", "t1", ""),
        ("task_changed", "t2", ""),
        ("claim_granted", "t1", "c1"),
        ("claim_granted", "t1", "c2"),
        ("work_submitted", "t1", "c1"),
        ("work_submitted", "t1", "c2"),
        ("claim_granted", "t2", "c3"),
        ("claim_ended", "t2", "c3"),
        ("claim_granted", "t2", "c4"),
        ("submission_accepted", "t1", "c1"),
        ("submission_rejected", "t1", "c2"),
        ("bonus_granted", "t1", "c1"),
        ("work_submitted", "t2", "c4"),
        ("submission_accepted", "t2", "c4"),
        ("task_changed", "t1", ""),
        ("task_changed", "t6", ""),
    )
    lab2 = _events(
        ("task_changed", "t3", ""),
        ("task_changed", "t4", ""),
        ("task_changed", "t5", ""),
        ("claim_granted", "t3", "c5"),
        ("claim_granted", "t4", "c7"),
        ("claim_extended", "t4", "c7"),
        ("task_changed", "t5", ""),
        ("claim_ended", "t3", "c5"),
        ("claim_granted", "t3", "c6"),
        ("work_submitted", "t3", "c6"),
        ("submission_accepted", "t3", "c6"),
        ("claim_ended", "t4", "c7"),
        ("claim_settled", "t4", "c7"),
    )
    return {"lab1": lab1, "lab2": lab2}


def state() -> State:
    replay = replays()
    return State(
        taken_at=TAKEN_AT,
        fee_bps=2000,
        referral_bonus_minor=25000,
        projects=[
            ProjectRow(
                project_id=f"p-{name}",
                client_id=client,
                request_id=f"rq-{name}",
                state="closed" if name == "closed" else "active",
            )
            for client, name in PROJECTS
        ],
        tasks=tasks(),
        claims=claims(),
        submissions=submissions(),
        bonuses=[
            BonusRow(
                bonus_id="b1",
                client_id="lab1",
                idempotency_key="bk1",
                submission_id="c1",
                amount_minor=50,
            )
        ],
        postings=postings(),
        balances=dict(BALANCES),
        books=BooksFigures(
            balanced=True,
            transactions=6,
            accepted_submissions=3,
            unpaid=0,
            paid_twice=0,
            rejected_paid=0,
        ),
        deadlines=deadlines(),
        deadline_effects=dict(EFFECTS),
        watched_live={c: list(events) for c, events in replay.items()},
        watch_replay=replay,
        watch_heads={c: len(e) for c, e in replay.items()},
        open_dead_letters={"dispatcher": 0, "matcher": 0, "ledger": 0},
        unsent_outbox={"dispatcher": 0, "matcher": 0, "ledger": 0},
        referrals={"x2": "x1"},
    )
