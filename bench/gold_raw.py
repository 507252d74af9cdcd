"""The gold bench's baseline (see ``bench.gold``): the statements the quality service
issues for one scored gold answer, captured from PostgreSQL's own log, replayed by a
bare asyncpg loop.

Capture: the bench database has ``log_statement = all`` (an ALTER DATABASE, so only its
own sessions log) while the quality process scores one answer; the log's lines of that
session from its BEGIN to its COMMIT are the answer's transaction, each statement as
PostgreSQL ran it. ``captured`` returns their texts in order.

Replay: for each answer, those texts, verbatim (prepared once per connection, as asyncpg
does in the service), with the answer's own parameters: GROUP answers a transaction (the
consumer's group), their inbox rows in one statement first, then each answer's
statements. The score stored is the window's tally (``quality.domain.scores``, pure) of
the rows the window's SELECT returned, and the ScoreChanged outbox row is written only
when the score's value moved, as the handler does. No Kafka, no event parsing, no key
check, no handler Python. A statement the captured transaction holds that the replay
has no parameters for stops the bench: the replay must issue what the service issues.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg

from crewline.events import CLAIMS_TOPIC, QUALITY_TOPIC
from quality.domain.scores import Measure, Score, acceptance_tally

GROUP = 100  # the consumer's group size (crewline.consumer.GROUP_SIZE)
WINDOW = 10  # CREWLINE_QUALITY_SCORE_WINDOW's default, as the bench's quality process runs

# log_line_prefix '%m [%p] %q%u@%d ' (deploy/local/postgres.sh): time, pid, user@database.
_ENTRY = re.compile(
    r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+ \S+ \[(\d+)\] \S*@(\S*)"
    r" (LOG|DETAIL|ERROR|STATEMENT|HINT|CONTEXT|WARNING):\s+(.*)$"
)
_EXECUTE = re.compile(r"^(?:execute [^:]+|statement): (.*)$", re.S)


@dataclass(frozen=True, kw_only=True)
class Answer:
    """One gold answer as WorkSubmitted brings it, and what the replay needs of it."""

    claim_id: str
    task_id: str
    gold_id: uuid.UUID
    contractor_id: str
    project_id: str
    client_id: str
    submitted_at: datetime
    result: str
    correct: bool


def _entries(log: Path, offset: int, database: str) -> list[tuple[int, str]]:
    """(pid, message) of each LOG entry of ``database``'s sessions after ``offset``,
    continuation lines joined."""
    out: list[tuple[int, str, str]] = []
    with log.open("rb") as f:
        f.seek(offset)
        text = f.read().decode(errors="replace")
    for line in text.splitlines():
        m = _ENTRY.match(line)
        if m:
            out.append((int(m.group(1)), m.group(2), m.group(3) + "\0" + m.group(4)))
        elif out:
            pid, db, msg = out[-1]
            out[-1] = (pid, db, msg + "\n" + line)
    return [
        (pid, msg.split("\0", 1)[1])
        for pid, db, msg in out
        if db == database and msg.startswith("LOG\0")
    ]


# asyncpg's own: its type introspection, the first time a connection meets a type.
_INTROSPECTION = ("typeinfo_tree", "set_config('jit'")


def captured(log: Path, offset: int, database: str) -> list[str]:
    """The statements of the transaction that stored a gold answer, in order (BEGIN and
    COMMIT left out, and asyncpg's type introspection, once per connection and type)."""
    by_pid: dict[int, list[str]] = {}
    for pid, msg in _entries(log, offset, database):
        m = _EXECUTE.match(msg)
        if m and not any(s in m.group(1) for s in _INTROSPECTION):
            by_pid.setdefault(pid, []).append(m.group(1).strip())
    for statements in by_pid.values():
        txn: list[str] = []
        for sql in statements:
            word = sql.rstrip(";").strip().upper()
            if word == "BEGIN":
                txn = []
            elif word == "COMMIT":
                if any("INSERT INTO gold_answers" in s for s in txn):
                    return txn
                txn = []
            else:
                txn.append(sql)
    raise RuntimeError(f"no transaction storing a gold answer in {log} after byte {offset}")


Params = Callable[[Answer, dict[str, Any]], Sequence[Any]]


def _params(envelope: bytes) -> list[tuple[str, Params]]:
    """Each statement the handler issues (by a phrase in it), and its parameters for an
    answer; ``st`` carries what earlier statements returned."""

    return [
        ("FROM exam_questions WHERE task_id", lambda a, st: (a.task_id,)),
        ("pg_advisory_xact_lock", lambda a, st: (a.contractor_id, a.project_id)),
        (
            "INSERT INTO submissions",
            lambda a, st: (
                a.claim_id,
                a.task_id,
                a.contractor_id,
                a.project_id,
                a.client_id,
                a.submitted_at,
            ),
        ),
        ("UPDATE gold_instances", lambda a, st: (a.task_id, a.claim_id, a.submitted_at)),
        ("SELECT key FROM gold_tasks", lambda a, st: (a.gold_id,)),
        (
            "INSERT INTO gold_answers",
            lambda a, st: (
                a.claim_id,
                a.task_id,
                a.gold_id,
                a.contractor_id,
                a.project_id,
                a.correct,
                a.submitted_at,
                a.result,
            ),
        ),
        ("SELECT correct FROM gold_answers", lambda a, st: (a.contractor_id, a.project_id, WINDOW)),
        ("INSERT INTO scores", lambda a, st: st["score"]),
        (
            "INSERT INTO outbox",
            lambda a, st: (
                [uuid.uuid4()],
                [QUALITY_TOPIC],
                [a.contractor_id.encode()],
                [envelope],
                uuid.uuid4().hex,
            ),
        ),
    ]


@dataclass(frozen=True)
class Step:
    sql: str
    params: Params


def _rules(measure: str) -> Params:
    return lambda a, st: (a.project_id, measure)


# The project's rules are read twice: on the time-flag share after the submission is
# stored, and on the measure after the score is: told apart by their order.
RULES_READ = ("time_flag_share", "gold_accuracy")


def plan(statements: Sequence[str], envelope: bytes) -> list[Step]:
    """The captured statements (the inbox row's left out) with their parameters."""
    known = _params(envelope)
    steps: list[Step] = []
    rules_seen = 0
    for sql in statements:
        if "INSERT INTO inbox" in sql:
            continue  # a group's, issued once per transaction by ``replay``
        if "FROM quality_rules" in sql:
            found = [_rules(RULES_READ[min(rules_seen, 1)])]
            rules_seen += 1
        else:
            found = [p for k, p in known if k in sql]
        if len(found) != 1:
            raise RuntimeError(f"the replay has no parameters for the handler's statement: {sql}")
        steps.append(Step(sql, found[0]))
    return steps


async def _one(conn: asyncpg.Connection, steps: list[Step], a: Answer) -> None:
    st: dict[str, Any] = {}
    for step in steps:
        sql = step.sql
        if "INSERT INTO outbox" in sql and not st.get("moved"):
            continue  # the value did not move: nothing published
        if "SELECT correct FROM gold_answers" in sql:
            rows = await conn.fetch(sql, *step.params(a, st))
            score = Score.of(
                acceptance_tally([r["correct"] for r in rows], window=WINDOW),
                contractor_id=a.contractor_id,
                project_id=a.project_id,
                client_id=a.client_id,
                updated_at=datetime.now(UTC),
                measure=Measure.GOLD_ACCURACY,
            )
            st["score"] = (
                score.contractor_id,
                score.project_id,
                score.measure.value,
                score.client_id,
                score.accepted,
                score.reviewed,
                score.window,
                score.value,
                score.updated_at,
            )
            st["value"] = score.value
        elif "INSERT INTO scores" in sql:
            row = await conn.fetchrow(sql, *step.params(a, st))
            st["moved"] = row is not None and row["before"] != st["value"]
        else:
            await conn.fetch(sql, *step.params(a, st))


async def replay(
    conn: asyncpg.Connection,
    inbox_sql: str,
    steps: list[Step],
    answers: Sequence[Answer],
    consumer: str,
) -> float:
    """Seconds for a bare loop on ``conn`` to issue every answer's statements, GROUP a
    transaction."""
    started = time.monotonic()
    for at in range(0, len(answers), GROUP):
        group = answers[at : at + GROUP]
        async with conn.transaction():
            await conn.fetch(
                inbox_sql,
                consumer,
                [uuid.uuid4() for _ in group],
                ["crewline.v1.WorkSubmitted"] * len(group),
                [CLAIMS_TOPIC] * len(group),
                [0] * len(group),
                list(range(at, at + len(group))),
                "applied",
            )
            for a in group:
                await _one(conn, steps, a)
    return time.monotonic() - started
