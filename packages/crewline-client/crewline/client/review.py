"""A client's watch and review calls: the live events of its tasks, its submissions,
accepting, rejecting and bonuses. ``Client`` has these calls; they live here to keep
each module short."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TypeAlias

from google.protobuf.message import Message

from crewline.client import paging
from crewline.client.base import LedgerReads
from crewline.client.build import enum_number, money_message
from crewline.client.ids import request_id_or_new
from crewline.client.results import BonusGrant, Money, Page, Submission, SubmissionStatus
from crewline.client.streams import CursorStream, StreamCall
from crewline.client.transport import Reply
from crewline.v1 import money_pb2
from crewline.v1 import task_service_pb2 as task_api

TASKS = "crewline.v1.TaskService"
WatchStream = CursorStream[task_api.WatchResponse, task_api.WatchEvent]
SubmissionStatusNumber: TypeAlias = task_api.SubmissionStatus.ValueType


class Review(LedgerReads):
    """The client's Watch and review calls on the dispatcher's TaskService."""

    # --- watch ---------------------------------------------------------------

    def watch(self, *, project_id: str = "", cursor: str = "") -> WatchStream:
        """The caller's task, claim and submission events, one at a time, live.

        ``cursor`` "" starts from now; else from right after that event. The stream
        reconnects by itself and resumes from the last event handed on (its ``cursor``
        attribute: keep it to resume in a later process)."""
        method = f"{TASKS}/Watch"

        def open_at(at: str) -> StreamCall[task_api.WatchResponse]:
            return self._rpc.server_stream(
                "dispatcher",
                method,
                task_api.WatchRequest(cursor=at, project_id=project_id),
                task_api.WatchResponse,
            )

        return WatchStream(
            open_at,
            cursor=cursor,
            method=method,
            policy=self._reconnect,
            service="dispatcher",
            address=self.endpoints.dispatcher,
        )

    # --- review --------------------------------------------------------------

    async def list_submissions_page(
        self,
        *,
        project_id: str = "",
        task_id: str = "",
        status: SubmissionStatus | SubmissionStatusNumber = task_api.SUBMISSION_STATUS_UNSPECIFIED,
        flagged_only: bool = False,
        page_size: int = 0,
        page_token: str = "",
    ) -> Page[Submission]:
        """One page of the project's or task's submissions; ``status``: only those in it
        (``SubmissionStatus.PENDING_REVIEW``); ``flagged_only``: only work with time
        flags (``Submission.flags``), which waits for your review."""
        request = task_api.ListSubmissionsRequest(
            project_id=project_id,
            task_id=task_id,
            status=enum_number(status, task_api.SubmissionStatus),
            flagged_only=flagged_only,
            page_size=page_size,
            page_token=page_token,
        )
        reply = await self._call("ListSubmissions", request, task_api.ListSubmissionsResponse)
        return Page.from_pb(reply, Submission.from_pb)

    def submissions(
        self,
        *,
        project_id: str = "",
        task_id: str = "",
        status: SubmissionStatus | SubmissionStatusNumber = task_api.SUBMISSION_STATUS_UNSPECIFIED,
        flagged_only: bool = False,
        page_size: int = 0,
    ) -> AsyncIterator[Submission]:
        """Every submission of the project or task (one of them), by ``status`` if given;
        with ``flagged_only``, only flagged ones."""
        return paging.every(
            lambda token: self.list_submissions_page(
                project_id=project_id,
                task_id=task_id,
                status=status,
                flagged_only=flagged_only,
                page_size=page_size,
                page_token=token,
            )
        )

    async def get_submission(self, submission_id: str) -> Submission:
        request = task_api.GetSubmissionRequest(submission_id=submission_id)
        reply = await self._call("GetSubmission", request, task_api.GetSubmissionResponse)
        return Submission.from_pb(reply.submission)

    async def accept(
        self, submission_id: str, *, feedback: str = "", override_rejection: bool = False
    ) -> Submission:
        """Accepts pending work (paid once); with ``override_rejection``, rejected work
        within its revert window."""
        request = task_api.AcceptSubmissionRequest(
            submission_id=submission_id,
            feedback=feedback,
            override_rejection=override_rejection,
        )
        reply = await self._call("AcceptSubmission", request, task_api.AcceptSubmissionResponse)
        return Submission.from_pb(reply.submission)

    async def reject(self, submission_id: str, *, feedback: str) -> Submission:
        """Rejects pending work; ``feedback`` (required) is shown to the contractor."""
        request = task_api.RejectSubmissionRequest(submission_id=submission_id, feedback=feedback)
        reply = await self._call("RejectSubmission", request, task_api.RejectSubmissionResponse)
        return Submission.from_pb(reply.submission)

    async def grant_bonus(
        self,
        submission_id: str,
        *,
        amount: Money | money_pb2.Money,
        reason: str,
        idempotency_key: str | None = None,
    ) -> BonusGrant:
        """A bonus of ``amount`` (``Money.of("2.00", "USD")``) on a submission; the same
        ``idempotency_key`` returns the same bonus."""
        request = task_api.GrantBonusRequest(
            submission_id=submission_id,
            idempotency_key=request_id_or_new(idempotency_key),
            amount=money_message(amount),
            reason=reason,
        )
        reply = await self._call("GrantBonus", request, task_api.GrantBonusResponse)
        return BonusGrant.from_pb(reply)

    async def _call(
        self,
        method: str,
        request: Message,
        reply: type[Reply],
        *,
        correlation_id: str | None = None,
    ) -> Reply:
        return await self._rpc.unary(
            "dispatcher", f"{TASKS}/{method}", request, reply, correlation_id=correlation_id
        )
