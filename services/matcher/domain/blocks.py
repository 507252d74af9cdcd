"""Blocks: an operator bars a contractor from one project, or from all. Pure: no I/O."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from crewline import validate
from crewline.errors import AlreadyExists
from matcher.domain.contractors import operator_reason


@dataclass(frozen=True, kw_only=True)
class BlockContractor:
    block_id: str  # the operator's idempotency key
    contractor_id: str
    project_id: str | None  # None: every project
    reason: str


def block_contractor(
    *, block_id: str, contractor_id: str, project_id: str, reason: str
) -> BlockContractor:
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

    def lifted(self, *, now: datetime) -> Block:
        """Lifted now; a block already lifted keeps its first lifting."""
        return self if self.lifted_at is not None else replace(self, lifted_at=now)
