"""Protobuf <-> value mapping that every service's adapters share."""

from __future__ import annotations

from datetime import UTC, datetime

from google.protobuf.timestamp_pb2 import Timestamp

from crewline.money import Money
from crewline.v1 import money_pb2


def money_to_pb(money: Money) -> money_pb2.Money:
    return money_pb2.Money(currency_code=money.currency, amount_minor=money.amount_minor)


def money_from_pb(pb: money_pb2.Money) -> Money:
    """Trusted data (an event we or a peer wrote); requests go through ``Money.positive``."""
    return Money(pb.currency_code, pb.amount_minor)


def timestamp(value: datetime) -> Timestamp:
    ts = Timestamp()
    ts.FromDatetime(value)
    return ts


def from_timestamp(ts: Timestamp) -> datetime:
    return ts.ToDatetime(tzinfo=UTC)
