"""The ledger's own metrics beside the kernel's: postings booked, and the books' checks."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge

from ledger.domain.model import BooksReport, PostingKind

BOOKS_RESULTS = ("balanced", "unbalanced")


class LedgerMetrics:
    def __init__(self, registry: CollectorRegistry, service: str) -> None:
        p = f"crewline_{service}"
        self.registry = registry
        self.postings = Counter(
            f"{p}_postings_total",
            "Journal transactions booked, by kind. Those the ledger commits itself"
            " (payouts, reversals) count after their commit; those from consumed events"
            " count inside the consumer's transaction, so a group of events that rolls"
            " back and is applied again one by one (rare: one of them failed) counts its"
            " postings twice. A redelivered event books nothing and counts nothing",
            ["kind"],
            registry=registry,
        )
        for kind in PostingKind:
            self.postings.labels(kind.value)
        self.books_verified = Counter(
            f"{p}_books_verified_total",
            "VerifyBooks runs, by result: balanced when every transaction sums to zero"
            " and every stored balance is the sum of its entries, else unbalanced",
            ["result"],
            registry=registry,
        )
        for result in BOOKS_RESULTS:
            self.books_verified.labels(result)
        self.books_balanced = Gauge(
            f"{p}_books_balanced",
            "1 when this replica's last VerifyBooks found the books balanced, 0 when it"
            " found them unbalanced; NaN until this replica has run one",
            registry=registry,
        )
        self.books_balanced.set(float("nan"))

    def posted(self, kind: PostingKind) -> None:
        self.postings.labels(kind.value).inc()

    def verified(self, report: BooksReport) -> None:
        self.books_verified.labels("balanced" if report.balanced else "unbalanced").inc()
        self.books_balanced.set(1 if report.balanced else 0)
