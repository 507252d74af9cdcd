"""Operators manage contractors' profiles, qualification types, qualifications and
blocks through the matcher's gRPC API; bad input names its field; only operators may."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
import pytest
from google.protobuf import field_mask_pb2

from crewline.client.errors import error_reason
from crewline.client.metadata import bearer_metadata
from crewline.v1 import contractor_admin_service_pb2 as admin
from crewline.v1 import project_pb2, work_service_pb2

from flow import Metadata, as_client, as_contractor, as_operator, refused, unique
from harness import Stack
from stack import eventually

SCORE = project_pb2.QUALIFICATION_KIND_SCORE


async def new_contractor(stack: Stack, **fields: Any) -> admin.Contractor:
    request = admin.CreateContractorRequest(contractor_id=unique("expert"), **fields)
    reply = await stack.contractors.CreateContractor(request, metadata=as_operator(stack))
    return reply.contractor  # type: ignore[no-any-return]


async def new_type(stack: Stack, kind: Any = SCORE) -> str:
    name = f"domain.{uuid.uuid4().hex[:12]}"
    request = admin.DefineQualificationTypeRequest(name=name, kind=kind, description="e2e")
    await stack.contractors.DefineQualificationType(request, metadata=as_operator(stack))
    return name


async def test_an_operator_edits_a_profile_and_a_deactivation_ends_its_tokens(
    stack: Stack,
) -> None:
    op = as_operator(stack)
    referrer = await new_contractor(stack)
    made = await new_contractor(
        stack, domains=["medicine"], languages=["en"], referred_by=referrer.contractor_id
    )
    assert (made.max_concurrent_claims, made.revision, made.active) == (3, 1, True)
    contractor_id = made.contractor_id
    issued = await stack.contractors.IssueContractorToken(
        admin.IssueContractorTokenRequest(contractor_id=contractor_id), metadata=op
    )
    worker = bearer_metadata(issued.secret)

    change = admin.UpdateContractorRequest(
        contractor=admin.Contractor(contractor_id=contractor_id, locale="BR", domains=["law"]),
        update_mask=field_mask_pb2.FieldMask(paths=["locale", "domains"]),
    )
    updated = (await stack.contractors.UpdateContractor(change, metadata=op)).contractor
    assert (list(updated.domains), updated.locale, updated.revision) == (["law"], "BR", 2)
    again = (await stack.contractors.UpdateContractor(change, metadata=op)).contractor
    assert again == updated
    got = await stack.contractors.GetContractor(
        admin.GetContractorRequest(contractor_id=contractor_id), metadata=op
    )
    assert got.contractor == updated

    stop = admin.DeactivateContractorRequest(contractor_id=contractor_id, reason="left")
    gone = (await stack.contractors.DeactivateContractor(stop, metadata=op)).contractor
    assert (gone.active, gone.revision) == (False, 3)
    assert (await stack.contractors.DeactivateContractor(stop, metadata=op)).contractor == gone
    err = await refused(
        stack.contractors.IssueContractorToken(
            admin.IssueContractorTokenRequest(contractor_id=contractor_id), metadata=op
        )
    )
    assert (err.code(), error_reason(err)) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "CONTRACTOR_INACTIVE",
    )

    async def token_refused() -> bool:
        try:
            await stack.work.ListOffers(work_service_pb2.ListOffersRequest(), metadata=worker)
        except grpc.aio.AioRpcError as failed:
            return failed.code() == grpc.StatusCode.UNAUTHENTICATED
        return False

    await eventually(token_refused, timeout=10)


async def test_an_operator_grants_updates_and_revokes_a_qualification(stack: Stack) -> None:
    op = as_operator(stack)
    contractor_id = (await new_contractor(stack)).contractor_id
    name = await new_type(stack)
    listed = await stack.contractors.ListQualificationTypes(
        admin.ListQualificationTypesRequest(), metadata=op
    )
    assert name in {t.name for t in listed.qualification_types}

    def grant(score: int) -> admin.GrantQualificationRequest:
        return admin.GrantQualificationRequest(
            contractor_id=contractor_id, qualification=name, score=score
        )

    held = (await stack.contractors.GrantQualification(grant(80), metadata=op)).qualification
    assert (held.score, held.kind) == (80, SCORE)
    await stack.contractors.GrantQualification(grant(80), metadata=op)  # the same: no change
    await stack.contractors.GrantQualification(grant(90), metadata=op)
    revoke = admin.RevokeQualificationRequest(
        contractor_id=contractor_id, qualification=name, reason="lapsed"
    )
    await stack.contractors.RevokeQualification(revoke, metadata=op)
    await stack.contractors.RevokeQualification(revoke, metadata=op)  # not held: no change

    found = await stack.contractors.ListQualifications(
        admin.ListQualificationsRequest(contractor_id=contractor_id), metadata=op
    )
    assert list(found.qualifications) == []
    assert [(e.change, e.score, e.reason) for e in found.history] == [
        (admin.QUALIFICATION_CHANGE_GRANTED, 80, ""),
        (admin.QUALIFICATION_CHANGE_UPDATED, 90, ""),
        (admin.QUALIFICATION_CHANGE_REVOKED, 0, "lapsed"),
    ]


async def test_an_operator_places_and_lifts_blocks(stack: Stack) -> None:
    op = as_operator(stack)
    contractor_id = (await new_contractor(stack)).contractor_id
    project_id = str(uuid.uuid4())
    request = admin.BlockContractorRequest(
        block_id=unique("block"), contractor_id=contractor_id, project_id=project_id, reason="coi"
    )
    placed = (await stack.contractors.BlockContractor(request, metadata=op)).block
    assert (await stack.contractors.BlockContractor(request, metadata=op)).block == placed
    request.reason = "another"
    err = await refused(stack.contractors.BlockContractor(request, metadata=op))
    assert (err.code(), error_reason(err)) == (grpc.StatusCode.ALREADY_EXISTS, "BLOCK_EXISTS")

    lift = admin.LiftBlockRequest(block_id=placed.block_id)
    lifted = (await stack.contractors.LiftBlock(lift, metadata=op)).block
    assert lifted.HasField("lifted_at") and not placed.HasField("lifted_at")
    assert (await stack.contractors.LiftBlock(lift, metadata=op)).block == lifted
    found = await stack.contractors.ListBlocks(
        admin.ListBlocksRequest(contractor_id=contractor_id), metadata=op
    )
    assert list(found.blocks) == [lifted]
    assert lifted.project_id == project_id


Call = Callable[[Stack, Metadata, str, str], Awaitable[object]]


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (
            lambda s, op, c, q: s.contractors.DefineQualificationType(
                admin.DefineQualificationTypeRequest(name="domain.x"), metadata=op
            ),
            "kind",
        ),
        (
            lambda s, op, c, q: s.contractors.DefineQualificationType(
                admin.DefineQualificationTypeRequest(name="Domain X", kind=SCORE), metadata=op
            ),
            "name",
        ),
        (
            lambda s, op, c, q: s.contractors.GrantQualification(
                admin.GrantQualificationRequest(contractor_id=c, qualification=q, score=101),
                metadata=op,
            ),
            "score",
        ),
        (
            lambda s, op, c, q: s.contractors.GrantQualification(
                admin.GrantQualificationRequest(contractor_id=c, qualification=q, text="high"),
                metadata=op,
            ),
            "text",
        ),
        (
            lambda s, op, c, q: s.contractors.GrantQualification(
                admin.GrantQualificationRequest(
                    contractor_id=c, qualification="domain.never-defined", score=5
                ),
                metadata=op,
            ),
            "qualification",
        ),
        (
            lambda s, op, c, q: s.contractors.UpdateContractor(
                admin.UpdateContractorRequest(contractor=admin.Contractor(contractor_id=c)),
                metadata=op,
            ),
            "update_mask",
        ),
        (
            lambda s, op, c, q: s.contractors.UpdateContractor(
                admin.UpdateContractorRequest(
                    contractor=admin.Contractor(contractor_id=c),
                    update_mask=field_mask_pb2.FieldMask(paths=["active"]),
                ),
                metadata=op,
            ),
            "update_mask",
        ),
        (
            lambda s, op, c, q: s.contractors.UpdateContractor(
                admin.UpdateContractorRequest(
                    contractor=admin.Contractor(contractor_id=c, max_concurrent_claims=101),
                    update_mask=field_mask_pb2.FieldMask(paths=["max_concurrent_claims"]),
                ),
                metadata=op,
            ),
            "contractor.max_concurrent_claims",
        ),
        (
            lambda s, op, c, q: s.contractors.DeactivateContractor(
                admin.DeactivateContractorRequest(contractor_id=c), metadata=op
            ),
            "reason",
        ),
        (
            lambda s, op, c, q: s.contractors.CreateContractor(
                admin.CreateContractorRequest(contractor_id=unique("x"), referred_by="nobody-0"),
                metadata=op,
            ),
            "referred_by",
        ),
        (
            lambda s, op, c, q: s.contractors.CreateContractor(
                admin.CreateContractorRequest(contractor_id=unique("x"), domains=["a", "a"]),
                metadata=op,
            ),
            "domains[1]",
        ),
        (
            lambda s, op, c, q: s.contractors.BlockContractor(
                admin.BlockContractorRequest(
                    block_id=unique("b"), contractor_id=c, project_id="derm", reason="r"
                ),
                metadata=op,
            ),
            "project_id",
        ),
        (
            lambda s, op, c, q: s.contractors.BlockContractor(
                admin.BlockContractorRequest(block_id=unique("b"), contractor_id=c), metadata=op
            ),
            "reason",
        ),
        (
            lambda s, op, c, q: s.contractors.ListQualifications(
                admin.ListQualificationsRequest(), metadata=op
            ),
            "contractor_id",
        ),
    ],
)
async def test_malformed_operator_requests_name_the_field_and_change_nothing(
    stack: Stack, call: Call, field: str
) -> None:
    op = as_operator(stack)
    contractor = await new_contractor(stack)
    name = await new_type(stack)
    err = await refused(call(stack, op, contractor.contractor_id, name))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert (err.details() or "").startswith(f"{field}:")
    got = await stack.contractors.GetContractor(
        admin.GetContractorRequest(contractor_id=contractor.contractor_id), metadata=op
    )
    assert got.contractor == contractor
    found = await stack.contractors.ListQualifications(
        admin.ListQualificationsRequest(contractor_id=contractor.contractor_id), metadata=op
    )
    assert (list(found.qualifications), list(found.history)) == ([], [])


async def test_unknown_contractors_and_blocks_are_not_found(stack: Stack) -> None:
    op = as_operator(stack)
    ghost = unique("ghost")
    name = await new_type(stack)
    calls = [
        stack.contractors.GetContractor(
            admin.GetContractorRequest(contractor_id=ghost), metadata=op
        ),
        stack.contractors.GrantQualification(
            admin.GrantQualificationRequest(contractor_id=ghost, qualification=name, score=5),
            metadata=op,
        ),
        stack.contractors.ListBlocks(admin.ListBlocksRequest(contractor_id=ghost), metadata=op),
        stack.contractors.LiftBlock(admin.LiftBlockRequest(block_id=unique("b")), metadata=op),
    ]
    for call in calls:
        assert (await refused(call)).code() == grpc.StatusCode.NOT_FOUND


async def test_only_operators_manage_contractors_qualifications_and_blocks(stack: Stack) -> None:
    contractor_id = unique("expert")
    callers = [await as_contractor(stack, contractor_id), await as_client(stack, "acme")]
    requests = [
        ("GetContractor", admin.GetContractorRequest(contractor_id=contractor_id)),
        ("UpdateContractor", admin.UpdateContractorRequest()),
        ("DeactivateContractor", admin.DeactivateContractorRequest(contractor_id=contractor_id)),
        ("DefineQualificationType", admin.DefineQualificationTypeRequest(name="domain.x")),
        ("ListQualificationTypes", admin.ListQualificationTypesRequest()),
        ("GrantQualification", admin.GrantQualificationRequest(contractor_id=contractor_id)),
        ("RevokeQualification", admin.RevokeQualificationRequest(contractor_id=contractor_id)),
        ("ListQualifications", admin.ListQualificationsRequest(contractor_id=contractor_id)),
        ("BlockContractor", admin.BlockContractorRequest(contractor_id=contractor_id)),
        ("LiftBlock", admin.LiftBlockRequest(block_id="b")),
        ("ListBlocks", admin.ListBlocksRequest(contractor_id=contractor_id)),
    ]
    for metadata in callers:

        async def known_here(md: Metadata = metadata) -> bool:
            """The credential has reached the matcher (a client's key comes by event)."""
            err = await refused(stack.contractors.ListBlocks(requests[-1][1], metadata=md))
            return err.code() != grpc.StatusCode.UNAUTHENTICATED

        await eventually(known_here)
        for method, request in requests:
            err = await refused(getattr(stack.contractors, method)(request, metadata=metadata))
            assert err.code() == grpc.StatusCode.PERMISSION_DENIED, method
