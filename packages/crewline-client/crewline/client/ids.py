"""Request ids and idempotency keys the SDK makes when the caller gives none.

A key is made once per SDK call, before the request is built: gRPC's retries resend
that same request, so every attempt carries the same key and the server applies it once.
"""

from __future__ import annotations

import uuid


def new_request_id() -> str:
    """A fresh key (uuid4, 32 hex digits): unique enough to be honoured forever."""
    return uuid.uuid4().hex


def request_id_or_new(given: str | None) -> str:
    """``given`` when the caller chose one, else a fresh one."""
    return given if given else new_request_id()
