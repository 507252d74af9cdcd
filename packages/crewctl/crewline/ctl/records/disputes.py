"""Disputes of gold keys from the quality service, as records."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypedDict

from crewline.ctl.pb import field_word, timestamp_text

if TYPE_CHECKING:
    from crewline.client import results
    from crewline.v1 import quality_service_pb2 as quality_api

# The words of the proto's enum (test_crewctl_disputes holds them equal to the SDK's),
# written out so that loading crewctl imports no generated code.
DISPUTE_STATES = ("open", "corrected", "dismissed")


class DisputeRecord(TypedDict):
    dispute_id: str
    contractor_id: str  # who disputed
    project_id: str
    client_id: str
    task_id: str  # the task the contractor met, as a sanction's evidence showed it
    gold_id: str | None  # the gold task disputed: for the client and operators only
    note: str  # the contractor's
    state: str | None  # open, corrected or dismissed
    filed_at: str | None
    resolved_at: str | None
    resolution_note: str  # the client's
    # corrected: the rejections, of any contractor in the project, it turned into
    # acceptances, and the sanctions that no longer hold
    accepted_submission_ids: list[str]
    overturned_sanction_ids: list[str]


class DisputePage(TypedDict):
    disputes: list[DisputeRecord]
    next_page_token: str  # empty on the last page


def dispute_record(pb: quality_api.Dispute) -> DisputeRecord:
    return {
        "dispute_id": pb.dispute_id,
        "contractor_id": pb.contractor_id,
        "project_id": pb.project_id,
        "client_id": pb.client_id,
        "task_id": pb.task_id,
        "gold_id": pb.gold_id or None,
        "note": pb.note,
        "state": field_word(pb, "state"),
        "filed_at": timestamp_text(pb, "filed_at"),
        "resolved_at": timestamp_text(pb, "resolved_at"),
        "resolution_note": pb.resolution_note,
        "accepted_submission_ids": list(pb.accepted_submission_ids),
        "overturned_sanction_ids": list(pb.overturned_sanction_ids),
    }


def dispute_page(reply: results.Page[results.Dispute]) -> DisputePage:
    return {
        "disputes": [dispute_record(d.raw) for d in reply.items],
        "next_page_token": reply.next_page_token,
    }
