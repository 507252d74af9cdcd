"""Blocks: an operator bars a contractor from one project, or from all; a quality
sanction that suspends a contractor bars them from its project. Pure: no I/O."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from crewline import validate
from crewline.errors import AlreadyExists, FailedPrecondition, InvalidArgument
from matcher.domain.contractors import operator_reason

# A suspension's block id is this and the sanction id: closed to operators' ids, so
# neither kind of block can take, answer for or lift the other.
SANCTION_PREFIX = "sanction:"


@dataclass(frozen=True, kw_only=True)
class BlockContractor:
    block_id: str  # the operator's idempotency key
    contractor_id: str
    project_id: str | None  # None: every project
    reason: str


def block_contractor(
    *, block_id: str, contractor_id: str, project_id: str, reason: str
) -> BlockContractor:
    if block_id.startswith(SANCTION_PREFIX):
        raise InvalidArgument(
            "block_id", f"must not start with {SANCTION_PREFIX!r}, which quality sanctions use"
        )
    return BlockContractor(
        block_id=validate.identifier(block_id, field="block_id"),
        contractor_id=validate.identifier(contractor_id, field="contractor_id"),
        # The project need not be known here yet: the block waits for it.
        project_id=str(validate.uuid_id(project_id, field="project_id")) if project_id else None,
        reason=operator_reason(reason),
    )


@dataclass(frozen=True, kw_only=True)
class Block:
    block_id: str
    contractor_id: str
    project_id: str | None
    reason: str
    blocked_at: datetime
    lifted_at: datetime | None = None

    @classmethod
    def placed(cls, cmd: BlockContractor, *, now: datetime) -> Block:
        return cls(
            block_id=cmd.block_id,
            contractor_id=cmd.contractor_id,
            project_id=cmd.project_id,
            reason=cmd.reason,
            blocked_at=now,
        )

    @property
    def in_force(self) -> bool:
        return self.lifted_at is None

    @property
    def held_by_sanction(self) -> bool:
        return self.block_id.startswith(SANCTION_PREFIX)

    def answers(self, cmd: BlockContractor) -> Block:
        """This block, when a repeated BlockContractor asks for the same one."""
        if (self.contractor_id, self.project_id, self.reason) != (
            cmd.contractor_id,
            cmd.project_id,
            cmd.reason,
        ):
            raise AlreadyExists(
                f"block {self.block_id} exists with other fields", reason="BLOCK_EXISTS"
            )
        return self

    def lifted_by_operator(self, *, now: datetime) -> Block:
        """Lifted now at an operator's request. A sanction's block is the quality
        service's to lift (its end, or an upheld appeal): an operator lifting it would
        let in a contractor whose sanction still reads as active."""
        if self.held_by_sanction:
            raise FailedPrecondition(
                f"block {self.block_id} holds a quality sanction: it is lifted when the"
                " sanction ends or an appeal of it is upheld",
                reason="SANCTION_BLOCK",
            )
        return self.lifted(now=now)

    def lifted(self, *, now: datetime) -> Block:
        """Lifted now; a block already lifted keeps its first lifting."""
        return self if self.lifted_at is not None else replace(self, lifted_at=now)
