"""Protobuf values as the plain values of crewctl's records, written once.

Timestamps become RFC 3339 text, enum values lower-case words without the enum's
prefix (``TASK_STATUS_IN_PROGRESS`` -> ``in_progress``), unset ones ``None``. Enums are
read from the message's own descriptor, so nothing here imports generated code.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypedDict

if TYPE_CHECKING:
    from google.protobuf.descriptor import EnumDescriptor
    from google.protobuf.message import Message

_UNSPECIFIED = "UNSPECIFIED"


class MoneyRecord(TypedDict):
    """An amount in the currency's minor units (cents): 1250 USD is 12.50 USD."""

    currency: str
    amount_minor: int


def timestamp_text(message: Message, name: str) -> str | None:
    """RFC 3339 text of a Timestamp field, or None when it is unset."""
    if not message.HasField(name):
        return None
    return str(getattr(message, name).ToJsonString())


def money_record(money: Any) -> MoneyRecord:
    """A crewline.v1.Money as a record."""
    return {"currency": money.currency_code, "amount_minor": money.amount_minor}


def money_field(message: Message, name: str) -> MoneyRecord | None:
    """A Money field as a record, or None when it is unset."""
    if not message.HasField(name):
        return None
    return money_record(getattr(message, name))


def _prefix(enum: EnumDescriptor) -> str:
    # buf style: every enum's zero value is <PREFIX>_UNSPECIFIED.
    return enum.values_by_number[0].name.removesuffix(_UNSPECIFIED)


def enum_word(enum: EnumDescriptor, number: int) -> str | None:
    """``TASK_STATUS_IN_PROGRESS`` -> ``in_progress``; None for the zero value."""
    if number == 0:
        return None
    value = enum.values_by_number.get(number)
    if value is None:  # a value newer than this crewctl
        return str(number)
    return value.name.removeprefix(_prefix(enum)).lower()


def field_word(message: Message, name: str) -> str | None:
    """The enum field ``name`` of ``message`` as a word (see ``enum_word``)."""
    enum: Any = message.DESCRIPTOR.fields_by_name[name].enum_type
    return enum_word(enum, getattr(message, name))


def enum_words(enum: EnumDescriptor) -> list[str]:
    """Every word of the enum but the zero value's, in number order: a command's choices."""
    return [w for w in (enum_word(enum, v.number) for v in enum.values) if w]


def enum_number(enum: EnumDescriptor, word: str) -> int:
    """``in_progress`` (or ``in-progress``) -> the enum's number; KeyError if unknown."""
    return int(enum.values_by_name[_prefix(enum) + word.upper().replace("-", "_")].number)
