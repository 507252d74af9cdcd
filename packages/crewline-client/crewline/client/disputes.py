"""Disputes of gold keys on the quality service's QualityService: a contractor disputes
the key of a gold task a sanction showed them and reads their own disputes
(``MyDisputes``, on ``Contractor``); a client reads those of its projects and corrects
or dismisses them (``ResolveDisputes``, on ``Client``), an operator reads any
(``Disputes``, on ``Operator``). Each is a typed ``Dispute``."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping
from typing import Any, TypeAlias

from crewline.client import paging
from crewline.client.build import answer_json, enum_number
from crewline.client.ids import request_id_or_new
from crewline.client.results import Dispute, DisputeState, GoldFieldRule, Page
from crewline.client.scores import _Quality
from crewline.v1 import quality_service_pb2 as quality_api

DisputeStateNumber: TypeAlias = quality_api.DisputeState.ValueType
ANY_DISPUTE = quality_api.DISPUTE_STATE_UNSPECIFIED


class MyDisputes(_Quality):
    """The calling contractor's own disputes, and disputing a gold key."""

    async def dispute_gold_key(
        self, task_id: str, note: str, idempotency_key: str | None = None
    ) -> Dispute:
        """Disputes the key of the gold task ``task_id`` (the task as a sanction's
        evidence showed it: the only gold a contractor can know of). ``note``: why,
        1-2,000 characters. Any other task is NOT_FOUND, in the same words whatever it
        is; a second dispute of the same task while one is open is ALREADY_EXISTS. The
        same ``idempotency_key`` returns the same dispute (one is made when not given,
        and kept across retries)."""
        request = quality_api.DisputeGoldKeyRequest(
            idempotency_key=request_id_or_new(idempotency_key), task_id=task_id, note=note
        )
        reply = await self._quality("DisputeGoldKey", request, quality_api.DisputeGoldKeyResponse)
        return Dispute.from_pb(reply.dispute)

    async def my_disputes_page(self, *, page_size: int = 0, page_token: str = "") -> Page[Dispute]:
        """One page of the caller's disputes, newest first."""
        request = quality_api.ListMyDisputesRequest(page_size=page_size, page_token=page_token)
        reply = await self._quality("ListMyDisputes", request, quality_api.ListMyDisputesResponse)
        return Page.from_pb(reply, Dispute.from_pb)

    def my_disputes(self, *, page_size: int = 0) -> AsyncIterator[Dispute]:
        """Every dispute of the caller, newest first, page by page."""
        return paging.every(
            lambda token: self.my_disputes_page(page_size=page_size, page_token=token)
        )


class Disputes(_Quality):
    """The disputes in a client's own projects (``project_id`` required), or in any
    project for an operator (``project_id`` optional)."""

    async def list_disputes_page(
        self,
        project_id: str = "",
        *,
        state: DisputeState | DisputeStateNumber | None = None,
        page_size: int = 0,
        page_token: str = "",
    ) -> Page[Dispute]:
        """One page of disputes, open ones first; ``state``: only those in it
        (``DisputeState.OPEN``; None: any). A project of another client is NOT_FOUND,
        as an unknown one."""
        request = quality_api.ListDisputesRequest(
            project_id=project_id,
            state=enum_number(ANY_DISPUTE if state is None else state, quality_api.DisputeState),
            page_size=page_size,
            page_token=page_token,
        )
        reply = await self._quality("ListDisputes", request, quality_api.ListDisputesResponse)
        return Page.from_pb(reply, Dispute.from_pb)

    def disputes(
        self,
        project_id: str = "",
        *,
        state: DisputeState | DisputeStateNumber | None = None,
        page_size: int = 0,
    ) -> AsyncIterator[Dispute]:
        """Every dispute matching the filters, open ones first, page by page."""
        return paging.every(
            lambda token: self.list_disputes_page(
                project_id, state=state, page_size=page_size, page_token=token
            )
        )


class ResolveDisputes(Disputes):
    """A client's disputes, and resolving them (the key is the client's: an operator
    reads disputes but does not resolve them)."""

    async def resolve_dispute(
        self,
        dispute_id: str,
        *,
        correct: Mapping[str, Any] | str | None = None,
        rules: Iterable[GoldFieldRule | quality_api.GoldFieldRule] = (),
        dismiss: bool = False,
        note: str = "",
    ) -> Dispute:
        """Corrects the disputed key (``correct``: the new key, a dict of the answer
        spec's fields, sent as ``gold_task`` sends a key; ``rules``: how its fields are
        scored when not by equality, e.g. ``build.gold_rules(...)``), or keeps it
        (``dismiss=True``): exactly one. ``note`` (at most 2,000 characters) is shown to
        the contractor. Corrected, every answer to the gold task is scored again, the
        sanctions that no longer hold are overturned, the rejections it turned into
        acceptances are listed, and every open dispute of the same gold task is resolved
        with it. The same resolution again returns the dispute unchanged; another is
        refused (FAILED_PRECONDITION, DISPUTE_ALREADY_RESOLVED)."""
        if (correct is None) == (not dismiss):
            raise TypeError("resolve_dispute takes correct or dismiss=True: exactly one")
        request = quality_api.ResolveDisputeRequest(dispute_id=dispute_id, note=note)
        if correct is not None:
            request.correct.answer_json = answer_json(correct)
            request.correct.rules.extend(
                rule.to_pb() if isinstance(rule, GoldFieldRule) else rule for rule in rules
            )
        elif rules:
            raise TypeError("rules go with correct, not with dismiss")
        else:
            request.dismiss = True
        reply = await self._quality("ResolveDispute", request, quality_api.ResolveDisputeResponse)
        return Dispute.from_pb(reply.dispute)
