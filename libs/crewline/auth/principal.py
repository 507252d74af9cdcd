"""The acting principal: taken from the credential, never from a request field."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Kind(enum.StrEnum):
    CLIENT = "client"  # an AI lab's system, with an API key
    CONTRACTOR = "contractor"  # an expert, with a signed token that expires
    OPERATOR = "operator"  # runs the platform, with the operator credential


@dataclass(frozen=True)
class Principal:
    kind: Kind
    id: str

    def __str__(self) -> str:
        return f"{self.kind}:{self.id}"


OPERATOR = Principal(Kind.OPERATOR, "operator")

CLIENTS = frozenset({Kind.CLIENT})
CONTRACTORS = frozenset({Kind.CONTRACTOR})
OPERATORS = frozenset({Kind.OPERATOR})
EVERYONE = frozenset(Kind)
