"""A task's payload as a client hands it in: the work a contractor is shown. Pure.

The rules a payload meets wherever one enters Crewline: a task's (the dispatcher's
SubmitTasks) and a gold task's (the quality service's AddGoldTasks, which the dispatcher
publishes as a task, so it must be one the dispatcher would take). Errors name
``field.payload_json``, ``field.payload_bytes`` or ``field.payload``, or the bare names
when ``field`` is empty (an event's own fields).
"""

from __future__ import annotations

import json

from crewline.errors import InvalidArgument

MAX_PAYLOAD_BYTES = 64 * 1024


def check_payload(payload_json: str | None, payload_bytes: bytes | None, *, field: str) -> None:
    """JSON text (valid JSON, at most ``MAX_PAYLOAD_BYTES`` of UTF-8) or 1 to
    ``MAX_PAYLOAD_BYTES`` bytes; exactly one of them is set."""
    at = f"{field}." if field else ""
    if payload_json is not None:
        if len(payload_json.encode()) > MAX_PAYLOAD_BYTES:
            raise InvalidArgument(
                f"{at}payload_json", f"must be at most {MAX_PAYLOAD_BYTES} bytes of UTF-8"
            )
        try:
            json.loads(payload_json)
        except (ValueError, RecursionError) as exc:  # RecursionError: nested too deeply
            problem = "is nested too deeply" if isinstance(exc, RecursionError) else exc
            raise InvalidArgument(f"{at}payload_json", f"is not valid JSON: {problem}") from None
    elif payload_bytes is not None:
        if not payload_bytes or len(payload_bytes) > MAX_PAYLOAD_BYTES:
            raise InvalidArgument(f"{at}payload_bytes", f"must be 1-{MAX_PAYLOAD_BYTES} bytes")
    else:
        raise InvalidArgument(f"{at}payload", "must set payload_json or payload_bytes")
