"""Quality sanctions that suspend a contractor in a project, as the quality service
announces them (SanctionChanged with action SUSPEND). The matcher holds an active one as
a block of the contractor in the project, under the block id ``sanction:<sanction_id>``,
so eligibility, offers and ClaimTask treat it as any project block. Pure: no I/O."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from crewline import validate
from crewline.errors import InvalidArgument
from matcher.domain.blocks import SANCTION_PREFIX, Block


class SuspensionState(enum.StrEnum):
    ACTIVE = "active"
    ENDED = "ended"  # ran its time
    LIFTED = "lifted"  # lifted early by an upheld appeal


@dataclass(frozen=True, kw_only=True)
class Suspension:
    """One suspension at one version: the quality service's, only the highest is kept."""

    sanction_id: str
    contractor_id: str
    project_id: str
    rule_id: str
    state: SuspensionState
    ends_at: datetime | None  # required while active: the block's reason names it
    version: int

    def __post_init__(self) -> None:
        # Named as the event names them: a malformed event is dead-lettered with its field.
        validate.uuid_id(self.sanction_id, field="sanction.sanction_id")
        validate.identifier(self.contractor_id, field="sanction.contractor_id")
        validate.uuid_id(self.project_id, field="sanction.project_id")
        validate.int_range(self.version, field="version", low=1, high=2**63 - 1)
        if self.state is SuspensionState.ACTIVE and self.ends_at is None:
            raise InvalidArgument("sanction.ends_at", "is required for an active suspension")

    @property
    def block_id(self) -> str:
        return f"{SANCTION_PREFIX}{self.sanction_id}"

    @property
    def in_force(self) -> bool:
        return self.state is SuspensionState.ACTIVE

    def block(self, *, now: datetime) -> Block:
        """The block an active suspension holds, placed ``now`` (when this matcher
        enforces it, as an operator's block is)."""
        assert self.ends_at is not None, "checked on construction"
        return Block(
            block_id=self.block_id,
            contractor_id=self.contractor_id,
            project_id=self.project_id,
            reason=f"suspended by quality rule {self.rule_id} until {self.ends_at.isoformat()}",
            blocked_at=now,
        )
