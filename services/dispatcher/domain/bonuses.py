"""Bonuses on submissions, idempotent forever on the client's key. Pure.

A bonus's id is derived from (client, idempotency key), so the key names one bonus
for good: the same request returns it, and the key reused for another bonus (another
submission, amount or reason) is refused on ``idempotency_key``. Unlike Mechanical
Turk's tokens (24 h), ours never expire.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from crewline import paging, validate
from crewline.errors import InvalidArgument
from crewline.money import Money
from crewline.paging import PageCursor
from dispatcher.domain.review import Submission, required_text

MAX_REASON = 500
PAGE = 50
PAGE_MAX = 500
# uuid5 namespace for bonus ids; the name is "<client_id>/<idempotency_key>" (neither
# may hold "/", so the name is unambiguous).
BONUS_NAMESPACE = uuid.UUID("5d0c6f0e-4f0a-5b8e-9c61-2b1c9a3e7b10")


def bonus_id(client_id: str, idempotency_key: str) -> uuid.UUID:
    return uuid.uuid5(BONUS_NAMESPACE, f"{client_id}/{idempotency_key}")


@dataclass(frozen=True, kw_only=True)
class Bonus:
    bonus_id: uuid.UUID
    client_id: str
    idempotency_key: str
    submission_id: uuid.UUID
    amount: Money
    reason: str
    granted_at: datetime


@dataclass(frozen=True, kw_only=True)
class GrantBonus:
    """Command: a bonus on one of the client's submissions."""

    client_id: str
    submission_id: uuid.UUID
    idempotency_key: str
    amount: Money
    reason: str

    @property
    def bonus_id(self) -> uuid.UUID:
        return bonus_id(self.client_id, self.idempotency_key)

    def grant(self, sub: Submission, *, now: datetime) -> Bonus:
        """The new bonus, in the submission's currency."""
        if self.amount.currency != sub.reward.currency:
            raise InvalidArgument(
                "amount.currency_code", f"must be the submission's currency, {sub.reward.currency}"
            )
        return Bonus(
            bonus_id=self.bonus_id,
            client_id=self.client_id,
            idempotency_key=self.idempotency_key,
            submission_id=self.submission_id,
            amount=self.amount,
            reason=self.reason,
            granted_at=now,
        )

    def repeats(self, earlier: Bonus) -> Bonus:
        """The bonus this key made before, if this request is the same one; else refused."""
        if (earlier.submission_id, earlier.amount, earlier.reason) != (
            self.submission_id,
            self.amount,
            self.reason,
        ):
            raise InvalidArgument("idempotency_key", "was already used for a different bonus")
        return earlier


def grant_bonus(
    *,
    client_id: str,
    submission_id: str,
    idempotency_key: str,
    currency: str,
    amount_minor: int,
    reason: str,
) -> GrantBonus:
    return GrantBonus(
        client_id=validate.identifier(client_id, field="client_id"),
        submission_id=validate.uuid_id(submission_id, field="submission_id"),
        idempotency_key=validate.identifier(idempotency_key, field="idempotency_key"),
        amount=Money.positive(currency=currency, amount_minor=amount_minor, field="amount"),
        reason=required_text(reason, field="reason", max_length=MAX_REASON),
    )


@dataclass(frozen=True, kw_only=True)
class ListedBonus:
    """A bonus, with the work it was granted on."""

    bonus: Bonus
    task_id: uuid.UUID
    project_id: str
    contractor_id: str

    @property
    def cursor(self) -> PageCursor:
        return PageCursor(self.bonus.granted_at, str(self.bonus.bonus_id))


@dataclass(frozen=True, kw_only=True)
class ListBonuses:
    """Query: bonuses newest first, before ``before``; a filter None lets all through."""

    client_id: str | None
    project_id: str | None
    limit: int
    before: PageCursor | None


def list_bonuses(*, client_id: str, project_id: str, size: int, page_token: str) -> ListBonuses:
    return ListBonuses(
        client_id=validate.identifier(client_id, field="client_id") if client_id else None,
        # Tasks from before projects may hold any identifier as their project id.
        project_id=validate.identifier(project_id, field="project_id") if project_id else None,
        limit=paging.page_size(size, default=PAGE, maximum=PAGE_MAX),
        before=paging.cursor_of(page_token),
    )
