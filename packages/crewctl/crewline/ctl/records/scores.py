"""A contractor's scores from the quality service, as records."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypedDict

from crewline.ctl.pb import field_word, timestamp_text

if TYPE_CHECKING:
    from crewline.client import results
    from crewline.v1 import quality_service_pb2 as quality_api


class ScoreRecord(TypedDict):
    contractor_id: str
    project_id: str
    measure: str | None  # acceptance_rate
    value: int  # 0-100
    accepted: int  # of the reviewed submissions over the window
    reviewed: int  # the last `window` reviewed, fewer while there are fewer
    window: int
    updated_at: str | None  # when the value or its counts last changed


class ScorePage(TypedDict):
    scores: list[ScoreRecord]  # by project id, then measure
    next_page_token: str  # empty on the last page


def score_record(pb: quality_api.Score) -> ScoreRecord:
    return {
        "contractor_id": pb.contractor_id,
        "project_id": pb.project_id,
        "measure": field_word(pb, "measure"),
        "value": pb.value,
        "accepted": pb.accepted,
        "reviewed": pb.reviewed,
        "window": pb.window,
        "updated_at": timestamp_text(pb, "updated_at"),
    }


def score_page(reply: results.Page[results.Score]) -> ScorePage:
    return {
        "scores": [score_record(score.raw) for score in reply.items],
        "next_page_token": reply.next_page_token,
    }
