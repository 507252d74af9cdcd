"""What ``crewctl submission ...`` needs from the dispatcher, in plain Python.

A client's review calls, made with the client's API key;
``crewline.ctl.submission_rpc.GrpcSubmissions`` is the real one, tests pass a fake.
Records are JSON-ready dicts, like ``crewline.ctl.api``'s.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, TypedDict

from crewline.ctl.api import MoneyRecord
from crewline.ctl.config import Addresses


class BonusRecord(TypedDict):
    bonus_id: str
    idempotency_key: str  # the same key returns the same bonus, forever
    amount: MoneyRecord | None
    reason: str
    granted_at: str | None


class SubmissionRecord(TypedDict):
    """A submission as its client reviews it (its id is the claim's)."""

    submission_id: str
    task_id: str
    project_id: str
    contractor_id: str
    status: str | None  # pending_review, accepted or rejected
    submitted_at: str | None
    earned: MoneyRecord | None  # what it is paid when accepted
    worked_seconds: int
    reviewed_at: str | None
    accepted_by: str | None  # client, auto_accept or override
    feedback: str
    revert_until: str | None  # until when a rejection may still be overridden
    auto_accept_at: str | None  # when unreviewed work is accepted automatically
    bonuses: list[BonusRecord]
    # The result: as text when it is UTF-8, else base64 (one of them is set).
    result_text: str | None
    result_base64: str | None


class SubmissionPage(TypedDict):
    submissions: list[SubmissionRecord]
    next_page_token: str  # empty on the last page


class NewBonus(TypedDict):
    bonus: BonusRecord
    submission: SubmissionRecord


class Submissions(Protocol):
    """A client's review calls. Each raises ``RpcFailed`` when refused."""

    def list_submissions(
        self,
        project_id: str,
        task_id: str,
        status: str | None,
        page_size: int,
        page_token: str,
    ) -> SubmissionPage: ...

    def get_submission(self, submission_id: str) -> SubmissionRecord: ...

    def accept(self, submission_id: str, feedback: str, override: bool) -> SubmissionRecord: ...

    def reject(self, submission_id: str, feedback: str) -> SubmissionRecord: ...

    def grant_bonus(
        self, submission_id: str, key: str, amount: MoneyRecord, reason: str
    ) -> NewBonus: ...


# Builds a Submissions for the resolved addresses and the client's API key.
SubmissionsFactory = Callable[[Addresses, str], Submissions]
