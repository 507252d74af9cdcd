"""The dispatcher's review calls for crewctl, made with a client's API key.

Protobuf stops here: replies become the records of ``crewline.ctl.submission_api``.
"""

from __future__ import annotations

import base64

from crewline.ctl.api import MoneyRecord
from crewline.ctl.config import Addresses
from crewline.ctl.pb import enum_number, enum_word, money_field, timestamp_text
from crewline.ctl.project_rpc import task_service
from crewline.ctl.rpc import Caller
from crewline.ctl.submission_api import (
    BonusRecord,
    NewBonus,
    SubmissionPage,
    SubmissionRecord,
)
from crewline.v1 import events_pb2, money_pb2
from crewline.v1 import task_service_pb2 as api

SUBMISSION_STATUS = api.SubmissionStatus.DESCRIPTOR
_ACCEPTED_BY = events_pb2.AcceptedBy.DESCRIPTOR


def result_fields(result: bytes) -> tuple[str | None, str | None]:
    """A result as (text, None) when it is UTF-8, else (None, base64)."""
    try:
        return result.decode("utf-8"), None
    except UnicodeDecodeError:
        return None, base64.b64encode(result).decode()


def bonus_record(pb: api.Bonus) -> BonusRecord:
    return {
        "bonus_id": pb.bonus_id,
        "idempotency_key": pb.idempotency_key,
        "amount": money_field(pb, "amount"),
        "reason": pb.reason,
        "granted_at": timestamp_text(pb, "granted_at"),
    }


def submission_record(pb: api.Submission) -> SubmissionRecord:
    """A Submission message as a record."""
    text, encoded = result_fields(pb.result)
    return {
        "submission_id": pb.submission_id,
        "task_id": pb.task_id,
        "project_id": pb.project_id,
        "contractor_id": pb.contractor_id,
        "status": enum_word(SUBMISSION_STATUS, pb.status),
        "submitted_at": timestamp_text(pb, "submitted_at"),
        "earned": money_field(pb, "earned"),
        "worked_seconds": pb.worked_seconds,
        "reviewed_at": timestamp_text(pb, "reviewed_at"),
        "accepted_by": enum_word(_ACCEPTED_BY, pb.accepted_by),
        "feedback": pb.feedback,
        "revert_until": timestamp_text(pb, "revert_until"),
        "auto_accept_at": timestamp_text(pb, "auto_accept_at"),
        "bonuses": [bonus_record(b) for b in pb.bonuses],
        "result_text": text,
        "result_base64": encoded,
    }


class GrpcSubmissions:
    """Calls the dispatcher's TaskService with ``authorization: Bearer <API key>``."""

    def __init__(self, calls: Caller) -> None:
        self._calls = calls

    @classmethod
    def connect(cls, addresses: Addresses, credential: str) -> GrpcSubmissions:
        return cls(task_service(addresses, credential))

    def list_submissions(
        self,
        project_id: str,
        task_id: str,
        status: str | None,
        page_size: int,
        page_token: str,
    ) -> SubmissionPage:
        request = api.ListSubmissionsRequest(
            project_id=project_id, task_id=task_id, page_size=page_size, page_token=page_token
        )
        if status:
            request.status = enum_number(SUBMISSION_STATUS, status)  # type: ignore[assignment]
        reply = self._calls.call("ListSubmissions", request)
        return {
            "submissions": [submission_record(s) for s in reply.submissions],
            "next_page_token": reply.next_page_token,
        }

    def get_submission(self, submission_id: str) -> SubmissionRecord:
        request = api.GetSubmissionRequest(submission_id=submission_id)
        return submission_record(self._calls.call("GetSubmission", request).submission)

    def accept(self, submission_id: str, feedback: str, override: bool) -> SubmissionRecord:
        request = api.AcceptSubmissionRequest(
            submission_id=submission_id, feedback=feedback, override_rejection=override
        )
        return submission_record(self._calls.call("AcceptSubmission", request).submission)

    def reject(self, submission_id: str, feedback: str) -> SubmissionRecord:
        request = api.RejectSubmissionRequest(submission_id=submission_id, feedback=feedback)
        return submission_record(self._calls.call("RejectSubmission", request).submission)

    def grant_bonus(
        self, submission_id: str, key: str, amount: MoneyRecord, reason: str
    ) -> NewBonus:
        request = api.GrantBonusRequest(
            submission_id=submission_id,
            idempotency_key=key,
            amount=money_pb2.Money(
                currency_code=amount["currency"], amount_minor=amount["amount_minor"]
            ),
            reason=reason,
        )
        reply = self._calls.call("GrantBonus", request)
        return {
            "bonus": bonus_record(reply.bonus),
            "submission": submission_record(reply.submission),
        }
