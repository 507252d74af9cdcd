"""The quality-control part of a chaos run's final state, read (read only) from the
databases once the stack has quiesced: gold keys, sanctions with their evidence and
appeals (the quality service's), the matcher's blocks for suspensions, and in each
service's outbox (its events on Kafka) the rows that hold a gold key's text."""

from __future__ import annotations

import json

import asyncpg

from chaos.model import AppealRow, BlockRow, EvidenceRow, GoldRow, SanctionRow, State

SANCTION_BLOCK = "sanction:"  # the matcher's block id for a suspension: sanction:<id>


def _epoch(at: object) -> float | None:
    return None if at is None else at.timestamp()  # type: ignore[attr-defined]


async def read_quality(conn: asyncpg.Connection, state: State) -> None:
    rows = await conn.fetch(
        "SELECT gold_id::text, project_id, client_id, idempotency_key, answer_json FROM gold_tasks"
    )
    state.gold = [GoldRow(**dict(r)) for r in rows]
    evidence: dict[str, list[EvidenceRow]] = {}
    for r in await conn.fetch(
        "SELECT sanction_id::text, kind, task_id, submission_id, gold_id::text, correct,"
        " answer_json, expected_json FROM sanction_evidence ORDER BY sanction_id, position"
    ):
        item = dict(r)
        evidence.setdefault(item.pop("sanction_id"), []).append(EvidenceRow(**item))
    rows = await conn.fetch(
        "SELECT sanction_id::text, contractor_id, project_id, rule_id, rule::text, action,"
        " measured_value, sample, state, imposed_at, ended_at FROM sanctions"
    )
    state.sanctions = [_sanction(r, evidence.get(r["sanction_id"], [])) for r in rows]
    rows = await conn.fetch(
        "SELECT appeal_id::text, contractor_id, project_id, sanction_id::text, submission_id,"
        " state, decided_by, decided_at, accepted_submission_ids FROM appeals"
    )
    state.appeals = [
        AppealRow(
            **{
                **dict(r),
                "decided_at": _epoch(r["decided_at"]),
                "accepted_submission_ids": list(r["accepted_submission_ids"]),
            }
        )
        for r in rows
    ]


def _sanction(r: asyncpg.Record, evidence: list[EvidenceRow]) -> SanctionRow:
    rule = json.loads(r["rule"])
    return SanctionRow(
        sanction_id=r["sanction_id"],
        contractor_id=r["contractor_id"],
        project_id=r["project_id"],
        rule_id=r["rule_id"],
        measure=str(rule.get("measure", "")),
        below=rule.get("below"),
        above=rule.get("above"),
        min_sample=int(rule.get("min_sample", 0)),
        action=r["action"],
        measured_value=r["measured_value"],
        sample=r["sample"],
        state=r["state"],
        imposed_at=r["imposed_at"].timestamp(),
        ended_at=_epoch(r["ended_at"]),
        evidence=evidence,
    )


async def read_blocks(conn: asyncpg.Connection, state: State) -> None:
    """The matcher's suspensions, as it applied them."""
    rows = await conn.fetch(
        "SELECT block_id, contractor_id, project_id, blocked_at, lifted_at FROM blocks"
        " WHERE starts_with(block_id, $1)",
        SANCTION_BLOCK,
    )
    state.sanction_blocks = [
        BlockRow(
            **{
                **dict(r),
                "blocked_at": r["blocked_at"].timestamp(),
                "lifted_at": _epoch(r["lifted_at"]),
            }
        )
        for r in rows
    ]


async def key_hits(conn: asyncpg.Connection, keys: list[str]) -> int:
    """The service's outbox rows whose envelope holds one of the keys' text."""
    if not keys:
        return 0
    return int(
        await conn.fetchval(
            "SELECT count(*) FROM outbox o WHERE EXISTS (SELECT 1 FROM unnest($1::bytea[]) k"
            " WHERE position(k IN o.envelope) > 0)",
            [k.encode() for k in keys],
        )
    )
