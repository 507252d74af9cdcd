"""Gold tasks and quality policies from the quality service, as records."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, TypedDict

from crewline.ctl.pb import timestamp_text
from crewline.ctl.records.exports import readable

if TYPE_CHECKING:
    from crewline.client import results
    from crewline.v1 import quality_service_pb2 as quality_api


class GoldRuleRecord(TypedDict):
    also_accepted: list[str]  # a single-choice field: labels correct too
    tolerance: float  # a number field: how far from the key an answer may be


class GoldRecord(TypedDict):
    gold_id: str
    project_id: str
    key: str  # the client's own id for it (its idempotency key)
    answer: Any  # the expected answer: a JSON object of the answer spec's fields
    rules: dict[str, GoldRuleRecord]  # by field, as in a gold file
    answered: int  # contractors who answered it
    correct: int  # of them, those who answered it correctly
    created_at: str | None
    # The payload under one of three names: JSON, else UTF-8 text, else base64.
    payload: Any
    payload_text: str | None
    payload_base64: str | None


class GoldPage(TypedDict):
    gold_tasks: list[GoldRecord]  # oldest first
    next_page_token: str  # empty on the last page


class GoldAdded(TypedDict):
    project_id: str
    gold_tasks: int  # added, or already there from an earlier run (same key)
    new: int  # created by this run
    already_there: int  # made earlier with the same key, returned as they are
    batches: int
    first_gold_id: str | None
    last_gold_id: str | None


class PolicyRecord(TypedDict):
    project_id: str
    gold_share_percent: int | None  # 0-50; the quality service fills in 5 when never set


def _answer(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text or None


def gold_record(pb: quality_api.GoldTask) -> GoldRecord:
    chosen = pb.WhichOneof("payload")
    payload, text, raw = (
        readable(pb.payload_json if chosen == "payload_json" else pb.payload_bytes)
        if chosen
        else (None, None, None)
    )
    return {
        "gold_id": pb.gold_id,
        "project_id": pb.project_id,
        "key": pb.idempotency_key,
        "answer": _answer(pb.answer_json),
        "rules": {
            r.field: {"also_accepted": list(r.also_accepted), "tolerance": r.tolerance}
            for r in pb.rules
        },
        "answered": pb.answered,
        "correct": pb.correct,
        "created_at": timestamp_text(pb, "created_at"),
        "payload": payload,
        "payload_text": text,
        "payload_base64": raw,
    }


def gold_page(reply: results.Page[results.GoldTask]) -> GoldPage:
    return {
        "gold_tasks": [gold_record(g.raw) for g in reply.items],
        "next_page_token": reply.next_page_token,
    }


def policy_record(policy: results.QualityPolicy) -> PolicyRecord:
    return {"project_id": policy.project_id, "gold_share_percent": policy.gold_share_percent}
