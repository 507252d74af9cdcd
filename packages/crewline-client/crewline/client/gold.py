"""A client's quality control on the quality service's QualityService: gold tasks (tasks
whose answer it knows, met by contractors as ordinary work and scored as their gold
accuracy) and each project's quality policy (the share of gold, and the rules that
sanction contractors by their measures). ``Client`` has these calls; they live here to
keep each module short."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable

from google.protobuf import field_mask_pb2

from crewline.client import paging
from crewline.client.results import GoldTask, Page, QualityPolicy, QualityRule
from crewline.client.scores import _Quality
from crewline.v1 import quality_service_pb2 as quality_api


class QualityControl(_Quality):
    """Gold tasks and quality policies of the caller's own projects."""

    async def add_gold_tasks(
        self, project_id: str, gold_tasks: Iterable[quality_api.GoldTask]
    ) -> list[GoldTask]:
        """Adds up to 1,000 gold tasks (see ``crewline.client.gold_task``) to a project
        with an answer spec, all or nothing; in request order. Each idempotency key
        returns the same gold task forever (a key reused for another one is refused)."""
        request = quality_api.AddGoldTasksRequest(
            project_id=project_id, gold_tasks=list(gold_tasks)
        )
        reply = await self._quality("AddGoldTasks", request, quality_api.AddGoldTasksResponse)
        return [GoldTask.from_pb(each) for each in reply.gold_tasks]

    async def list_gold_tasks_page(
        self, project_id: str, *, page_size: int = 0, page_token: str = ""
    ) -> Page[GoldTask]:
        """One page of the project's gold tasks, oldest first, with how they were answered."""
        request = quality_api.ListGoldTasksRequest(
            project_id=project_id, page_size=page_size, page_token=page_token
        )
        reply = await self._quality("ListGoldTasks", request, quality_api.ListGoldTasksResponse)
        return Page.from_pb(reply, GoldTask.from_pb)

    def gold_tasks(self, project_id: str, *, page_size: int = 0) -> AsyncIterator[GoldTask]:
        """Every gold task of the project, oldest first, page by page."""
        return paging.every(
            lambda token: self.list_gold_tasks_page(
                project_id, page_size=page_size, page_token=token
            )
        )

    async def quality_policy(self, project_id: str) -> QualityPolicy:
        """The project's quality settings, every default filled in (gold share 5 %)."""
        request = quality_api.GetQualityPolicyRequest(project_id=project_id)
        reply = await self._quality(
            "GetQualityPolicy", request, quality_api.GetQualityPolicyResponse
        )
        return QualityPolicy.from_pb(reply.policy)

    async def set_quality_policy(
        self,
        project_id: str,
        *,
        gold_share_percent: int | None = None,
        rules: Iterable[QualityRule | quality_api.QualityRule] | None = None,
    ) -> QualityPolicy:
        """Sets the settings given and keeps the others; the policy as it is now.
        ``gold_share_percent``: 0-50, the share of gold in what each contractor takes
        in the project (0: none). ``rules``: the project's rules, all of them, replacing
        those it had (an empty list removes every rule); sent with an update mask naming
        only what is given, so a share left out stays as it is. The quality service
        checks each rule and names the field it refuses (``policy.rules[2].below``),
        storing nothing then. Setting the same values again changes nothing."""
        policy = quality_api.QualityPolicy(project_id=project_id)
        if gold_share_percent is not None:
            policy.gold_share_percent = gold_share_percent
        request = quality_api.SetQualityPolicyRequest(policy=policy)
        if rules is not None:
            request.policy.rules.extend(
                rule.to_pb() if isinstance(rule, QualityRule) else rule for rule in rules
            )
            paths = ["rules"] if gold_share_percent is None else ["gold_share_percent", "rules"]
            request.update_mask.CopyFrom(field_mask_pb2.FieldMask(paths=paths))
        reply = await self._quality(
            "SetQualityPolicy", request, quality_api.SetQualityPolicyResponse
        )
        return QualityPolicy.from_pb(reply.policy)
