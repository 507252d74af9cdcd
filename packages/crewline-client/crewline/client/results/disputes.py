"""A contractor's ``Dispute`` of a gold key, as ``Contractor.dispute_gold_key`` and
``my_disputes``, ``Client.disputes`` and ``resolve_dispute`` and ``Operator.disputes``
return it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from crewline.client.results.enums import DisputeState
from crewline.client.results.wire import brief, time_of, when
from crewline.v1 import quality_service_pb2 as quality_api


@dataclass(frozen=True, slots=True, kw_only=True)
class Dispute:
    """A contractor's dispute of the key of a gold task a sanction showed them.

    ``dispute_id``, ``contractor_id``, ``project_id``, ``client_id``; ``task_id``: the
    task the contractor met, as the sanction's evidence shows it; ``gold_id``: the gold
    task disputed (for the project's client and operators; "" for the contractor);
    ``note``: the contractor's; ``state``: OPEN, then CORRECTED (the client corrected
    the key) or DISMISSED (the client kept it); ``filed_at``, ``resolved_at``;
    ``resolution_note``: the client's; corrected, ``accepted_submission_ids``: the
    rejections, of any contractor in the project, the corrected key turned into
    acceptances, and ``overturned_sanction_ids``: the sanctions that no longer hold.
    """

    dispute_id: str
    contractor_id: str
    project_id: str
    client_id: str
    task_id: str
    gold_id: str
    note: str
    state: DisputeState | None
    filed_at: datetime | None
    resolved_at: datetime | None
    resolution_note: str
    accepted_submission_ids: tuple[str, ...]
    overturned_sanction_ids: tuple[str, ...]
    raw: quality_api.Dispute = field(default_factory=quality_api.Dispute, repr=False, compare=False)

    @classmethod
    def from_pb(cls, message: quality_api.Dispute) -> Dispute:
        return cls(
            dispute_id=message.dispute_id,
            contractor_id=message.contractor_id,
            project_id=message.project_id,
            client_id=message.client_id,
            task_id=message.task_id,
            gold_id=message.gold_id,
            note=message.note,
            state=DisputeState.from_pb(message.state),
            filed_at=time_of(message, "filed_at"),
            resolved_at=time_of(message, "resolved_at"),
            resolution_note=message.resolution_note,
            accepted_submission_ids=tuple(message.accepted_submission_ids),
            overturned_sanction_ids=tuple(message.overturned_sanction_ids),
            raw=message,
        )

    def __str__(self) -> str:
        resolved = f", resolved {when(self.resolved_at)}" if self.resolved_at else ""
        return (
            f"dispute {self.dispute_id} of task {self.task_id} by {self.contractor_id} in"
            f" {self.project_id}: {self.state or 'UNKNOWN'}, filed {when(self.filed_at)}{resolved}"
        )

    def __repr__(self) -> str:
        return brief(self, "dispute_id", "contractor_id", "task_id", "state")
