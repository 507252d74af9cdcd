"""QualityService over gRPC: parse, call a handler, map back.

Who may call what is the access policy at the bottom; the kernel's edge enforces
it, authenticates, and maps errors. The caller comes from ``principal_of``.
"""

from __future__ import annotations

import grpc

from crewline.auth.principal import CLIENTS, CONTRACTORS, OPERATORS
from crewline.edge import AccessPolicy, principal_of
from crewline.v1 import quality_service_pb2 as api
from crewline.v1 import quality_service_pb2_grpc as api_grpc
from quality.adapters import protobuf as pb
from quality.adapters import protobuf_rules as pbr
from quality.deps import Deps
from quality.domain import gold, issuing, queries, sanctions
from quality.entrypoints import appeals_api, disputes_api, exams_api
from quality.handlers import gold as gold_handlers
from quality.handlers.sanctions import find_sanctions
from quality.handlers.scores import find_scores


class QualityServicer(api_grpc.QualityServiceServicer):
    def __init__(self, deps: Deps) -> None:
        self._deps = deps

    async def ListMyScores(
        self, request: api.ListMyScoresRequest, context: grpc.aio.ServicerContext
    ) -> api.ListMyScoresResponse:
        query = queries.my_scores(
            principal_of(context),
            project_id=request.project_id,
            page_size=request.page_size,
            page_token=request.page_token,
        )
        found, token = await find_scores(query, self._deps)
        return api.ListMyScoresResponse(
            scores=[pb.score_to_pb(s) for s in found], next_page_token=token
        )

    async def GetContractorScores(
        self, request: api.GetContractorScoresRequest, context: grpc.aio.ServicerContext
    ) -> api.GetContractorScoresResponse:
        query = queries.contractor_scores(
            principal_of(context),
            request.contractor_id,
            project_id=request.project_id,
            page_size=request.page_size,
            page_token=request.page_token,
        )
        found, token = await find_scores(query, self._deps)
        return api.GetContractorScoresResponse(
            scores=[pb.score_to_pb(s) for s in found], next_page_token=token
        )

    async def AddGoldTasks(
        self, request: api.AddGoldTasksRequest, context: grpc.aio.ServicerContext
    ) -> api.AddGoldTasksResponse:
        cmd = gold.add_gold(
            principal_of(context),
            project_id=request.project_id,
            gold=[pb.gold_input(g) for g in request.gold_tasks],
        )
        added = await gold_handlers.add_gold_tasks(cmd, self._deps)
        return api.AddGoldTasksResponse(gold_tasks=[pb.gold_to_pb(g) for g in added])

    async def ListGoldTasks(
        self, request: api.ListGoldTasksRequest, context: grpc.aio.ServicerContext
    ) -> api.ListGoldTasksResponse:
        query = gold.list_gold(
            principal_of(context),
            project_id=request.project_id,
            page_size=request.page_size,
            page_token=request.page_token,
        )
        found, token = await gold_handlers.list_gold_tasks(query, self._deps)
        return api.ListGoldTasksResponse(
            gold_tasks=[pb.gold_to_pb(g) for g in found], next_page_token=token
        )

    async def GetQualityPolicy(
        self, request: api.GetQualityPolicyRequest, context: grpc.aio.ServicerContext
    ) -> api.GetQualityPolicyResponse:
        ref = gold.project_ref(principal_of(context), request.project_id)
        policy = await gold_handlers.get_policy(ref, self._deps)
        return api.GetQualityPolicyResponse(policy=pb.policy_to_pb(policy))

    async def SetQualityPolicy(
        self, request: api.SetQualityPolicyRequest, context: grpc.aio.ServicerContext
    ) -> api.SetQualityPolicyResponse:
        p = request.policy
        cmd = issuing.set_policy(
            client_id=principal_of(context).id,
            project_id=p.project_id,
            gold_share_percent=(p.gold_share_percent if p.HasField("gold_share_percent") else None),
            rules=[pbr.rule_input(r) for r in p.rules],
            update_mask=list(request.update_mask.paths),
        )
        policy = await gold_handlers.set_policy(cmd, self._deps)
        return api.SetQualityPolicyResponse(policy=pb.policy_to_pb(policy))

    async def ListMySanctions(
        self, request: api.ListMySanctionsRequest, context: grpc.aio.ServicerContext
    ) -> api.ListMySanctionsResponse:
        query = sanctions.my_sanctions(
            principal_of(context),
            project_id=request.project_id,
            page_size=request.page_size,
            page_token=request.page_token,
        )
        found, token = await find_sanctions(query, self._deps)
        return api.ListMySanctionsResponse(
            sanctions=[pbr.sanction_to_pb(s, evidence=True) for s in found], next_page_token=token
        )

    async def ListSanctions(
        self, request: api.ListSanctionsRequest, context: grpc.aio.ServicerContext
    ) -> api.ListSanctionsResponse:
        query = sanctions.sanctions(
            principal_of(context),
            project_id=request.project_id,
            contractor_id=request.contractor_id,
            state=pbr.state_from_pb(request.state),
            page_size=request.page_size,
            page_token=request.page_token,
        )
        found, token = await find_sanctions(query, self._deps)
        return api.ListSanctionsResponse(
            sanctions=[pbr.sanction_to_pb(s, evidence=True) for s in found], next_page_token=token
        )

    async def FileAppeal(
        self, request: api.FileAppealRequest, context: grpc.aio.ServicerContext
    ) -> api.FileAppealResponse:
        return await appeals_api.file_appeal(request, principal_of(context), self._deps)

    async def ListMyAppeals(
        self, request: api.ListMyAppealsRequest, context: grpc.aio.ServicerContext
    ) -> api.ListMyAppealsResponse:
        return await appeals_api.list_my_appeals(request, principal_of(context), self._deps)

    async def ListAppeals(
        self, request: api.ListAppealsRequest, context: grpc.aio.ServicerContext
    ) -> api.ListAppealsResponse:
        return await appeals_api.list_appeals(request, principal_of(context), self._deps)

    async def DecideAppeal(
        self, request: api.DecideAppealRequest, context: grpc.aio.ServicerContext
    ) -> api.DecideAppealResponse:
        return await appeals_api.decide_appeal(request, principal_of(context), self._deps)

    async def DisputeGoldKey(
        self, request: api.DisputeGoldKeyRequest, context: grpc.aio.ServicerContext
    ) -> api.DisputeGoldKeyResponse:
        return await disputes_api.dispute_gold_key(request, principal_of(context), self._deps)

    async def ListMyDisputes(
        self, request: api.ListMyDisputesRequest, context: grpc.aio.ServicerContext
    ) -> api.ListMyDisputesResponse:
        return await disputes_api.list_my_disputes(request, principal_of(context), self._deps)

    async def ListDisputes(
        self, request: api.ListDisputesRequest, context: grpc.aio.ServicerContext
    ) -> api.ListDisputesResponse:
        return await disputes_api.list_disputes(request, principal_of(context), self._deps)

    async def ResolveDispute(
        self, request: api.ResolveDisputeRequest, context: grpc.aio.ServicerContext
    ) -> api.ResolveDisputeResponse:
        return await disputes_api.resolve_dispute(request, principal_of(context), self._deps)

    async def SetExam(
        self, request: api.SetExamRequest, context: grpc.aio.ServicerContext
    ) -> api.SetExamResponse:
        return await exams_api.set_exam(request, principal_of(context), self._deps)

    async def GetExam(
        self, request: api.GetExamRequest, context: grpc.aio.ServicerContext
    ) -> api.GetExamResponse:
        return await exams_api.get_exam(request, principal_of(context), self._deps)

    async def ListExams(
        self, request: api.ListExamsRequest, context: grpc.aio.ServicerContext
    ) -> api.ListExamsResponse:
        return await exams_api.list_exams(request, principal_of(context), self._deps)

    async def StartExam(
        self, request: api.StartExamRequest, context: grpc.aio.ServicerContext
    ) -> api.StartExamResponse:
        return await exams_api.start_exam(request, principal_of(context), self._deps)

    async def ListMyExamAttempts(
        self, request: api.ListMyExamAttemptsRequest, context: grpc.aio.ServicerContext
    ) -> api.ListMyExamAttemptsResponse:
        return await exams_api.list_my_attempts(request, principal_of(context), self._deps)

    async def ListExamAttempts(
        self, request: api.ListExamAttemptsRequest, context: grpc.aio.ServicerContext
    ) -> api.ListExamAttemptsResponse:
        return await exams_api.list_attempts(request, principal_of(context), self._deps)

    def register(self, server: grpc.aio.Server) -> None:
        api_grpc.add_QualityServiceServicer_to_server(self, server)


_QUALITY = api.DESCRIPTOR.services_by_name["QualityService"]
SERVICE_NAMES = (_QUALITY.full_name,)
POLICY = AccessPolicy.of(
    _QUALITY,
    {
        "ListMyScores": CONTRACTORS,  # their own
        "GetContractorScores": CLIENTS | OPERATORS,  # clients: their own projects' only
        # Clients: their own projects' only; operators may read any project's.
        "AddGoldTasks": CLIENTS,
        "ListGoldTasks": CLIENTS | OPERATORS,
        "GetQualityPolicy": CLIENTS | OPERATORS,
        "SetQualityPolicy": CLIENTS,
        "ListMySanctions": CONTRACTORS,  # their own
        "ListSanctions": CLIENTS | OPERATORS,  # clients: one of their projects
        # Appeals (served from entrypoints/appeals_api.py).
        "FileAppeal": CONTRACTORS,
        "ListMyAppeals": CONTRACTORS,
        "ListAppeals": CLIENTS | OPERATORS,
        "DecideAppeal": CLIENTS | OPERATORS,
        # Disputes of gold keys (served from entrypoints/disputes_api.py): contractors
        # dispute what they were shown; the client, who owns the key, corrects or dismisses.
        "DisputeGoldKey": CONTRACTORS,
        "ListMyDisputes": CONTRACTORS,
        "ListDisputes": CLIENTS | OPERATORS,
        "ResolveDispute": CLIENTS,
        # Exams: the type's client or operators attach them; anyone reads them.
        "SetExam": CLIENTS | OPERATORS,
        "GetExam": CONTRACTORS | CLIENTS | OPERATORS,
        "ListExams": CONTRACTORS | CLIENTS | OPERATORS,
        "StartExam": CONTRACTORS,
        "ListMyExamAttempts": CONTRACTORS,
        "ListExamAttempts": CLIENTS | OPERATORS,
    },
)
