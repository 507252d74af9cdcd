"""The matcher's own metrics beside the kernel's: what ClaimTask decided.

(The offer streams' metrics live with the hub, in ``offer_hub.HubMetrics``.)
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

# Every answer ClaimTask gives: a grant, a repeat of a request already granted (its
# claim again, nothing new), or the reason a claim was refused (the ErrorInfo reason
# the caller gets; NOT_FOUND for an unknown task). A fixed set, made up front so each
# series exists, at 0, from the start.
CLAIM_OUTCOMES = (
    "granted",
    "repeated",
    "NOT_FOUND",
    "TASK_CLOSED",
    "NOT_QUALIFIED",
    "BLOCKED",
    "ALREADY_CLAIMED",
    "AT_CLAIM_LIMIT",
    "NO_FREE_SLOT",
    "TERMS_CHANGED",
)


class ClaimMetrics:
    def __init__(self, registry: CollectorRegistry, service: str) -> None:
        p = f"crewline_{service}"
        self.registry = registry
        self.claims = Counter(
            f"{p}_claims_total",
            "ClaimTask decisions, counted where the grant is made (after it commits):"
            " granted, repeated (the same request again), or the refusal's reason"
            " (NO_FREE_SLOT: the slots were taken first, a lost race)",
            ["outcome"],
            registry=registry,
        )
        for outcome in CLAIM_OUTCOMES:
            self.claims.labels(outcome)
        self.batch_size = Histogram(
            f"{p}_claim_batch_rows",
            "ClaimTask calls sent to PostgreSQL together, in one statement and one commit"
            " (group commit: the calls that arrived while the previous batch ran)",
            buckets=(1, 2, 4, 8, 16, 32, 64, 128),
            registry=registry,
        )
        self.batch_splits = Counter(
            f"{p}_claim_batch_splits_total",
            "Claim batches PostgreSQL failed as a whole (a deadlock with another replica's"
            " batch, or one claim's error), then applied again one claim at a time",
            registry=registry,
        )

    def claimed(self, outcome: str) -> None:
        self.claims.labels(outcome).inc()
