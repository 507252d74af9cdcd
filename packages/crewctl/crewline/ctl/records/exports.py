"""A row of ``crewctl submission export``: a submission joined to its task, so it can be
matched with the lab's own data by the task's key, with the result and the payload as
structured JSON where they are JSON."""

from __future__ import annotations

import base64
import json
from typing import TYPE_CHECKING, Any, TypedDict

from crewline.ctl.pb import MoneyRecord, field_word, money_field, timestamp_text
from crewline.ctl.records.submissions import BonusRecord, FlagRecord, bonus_record, flag_record

if TYPE_CHECKING:
    from crewline.v1 import task_service_pb2 as task_api


class ExportRow(TypedDict):
    submission_id: str  # its claim's id
    task_id: str
    task_key: str | None  # the task's idempotency key: the lab's own id for it
    project_id: str
    contractor_id: str
    status: str | None  # pending_review, accepted or rejected
    submitted_at: str | None
    reviewed_at: str | None
    accepted_by: str | None
    feedback: str
    revert_until: str | None  # until when a rejection may still be overridden
    auto_accept_at: str | None  # when unreviewed work is accepted automatically
    worked_seconds: int
    paid: MoneyRecord | None  # set only where pay was posted: accepted work
    bonuses: list[BonusRecord]
    flags: list[FlagRecord]  # why its time was flagged: it waits for review
    # The task's payload and the submitted result, each under one of three names: as
    # JSON when it parses as JSON, else as text when it is UTF-8, else in base64.
    payload: Any
    payload_text: str | None
    payload_base64: str | None
    result: Any
    result_text: str | None
    result_base64: str | None


COLUMNS: tuple[str, ...] = tuple(ExportRow.__annotations__)
_JSON_COLUMNS = frozenset({"payload", "result"})  # JSON values: a string stays JSON text
# A spreadsheet runs a cell starting with one of these as a formula; the text comes from
# contractors' results and clients' feedback, so a leading ' keeps it text (OWASP's advice).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def readable(data: bytes | str) -> tuple[Any, str | None, str | None]:
    """``data`` as (JSON value, None, None) when it parses as JSON, else (None, text, None)
    when it is UTF-8, else (None, None, base64). NaN and Infinity, which Python's json
    reads but valid JSON has not, make it text: written back they would break the line."""
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            return None, None, base64.b64encode(data).decode()
    else:
        text = data
    try:
        return json.loads(text, parse_constant=_no_constant), None, None
    except ValueError:
        return None, text, None


def _payload(task: task_api.Task | None) -> tuple[Any, str | None, str | None]:
    chosen = task.WhichOneof("payload") if task is not None else None
    if task is None or chosen is None:
        return None, None, None
    return readable(task.payload_json if chosen == "payload_json" else task.payload_bytes)


def export_row(sub: task_api.Submission, task: task_api.Task | None) -> ExportRow:
    """``sub`` joined to its ``task`` (None: the task could not be read)."""
    payload, payload_text, payload_base64 = _payload(task)
    result, result_text, result_base64 = readable(sub.result)
    status = field_word(sub, "status")
    return {
        "submission_id": sub.submission_id,
        "task_id": sub.task_id,
        "task_key": task.idempotency_key if task is not None else None,
        "project_id": sub.project_id,
        "contractor_id": sub.contractor_id,
        "status": status,
        "submitted_at": timestamp_text(sub, "submitted_at"),
        "reviewed_at": timestamp_text(sub, "reviewed_at"),
        "accepted_by": field_word(sub, "accepted_by"),
        "feedback": sub.feedback,
        "revert_until": timestamp_text(sub, "revert_until"),
        "auto_accept_at": timestamp_text(sub, "auto_accept_at"),
        "worked_seconds": sub.worked_seconds,
        "paid": money_field(sub, "earned") if status == "accepted" else None,
        "bonuses": [bonus_record(b) for b in sub.bonuses],
        "flags": [flag_record(f) for f in sub.flags],
        "payload": payload,
        "payload_text": payload_text,
        "payload_base64": payload_base64,
        "result": result,
        "result_text": result_text,
        "result_base64": result_base64,
    }


def csv_cells(row: ExportRow) -> list[str]:
    """``row`` as CSV cells in ``COLUMNS`` order: nested values as JSON text, None empty,
    and text that a spreadsheet would run as a formula with a leading single quote."""
    cells: list[str] = []
    for column in COLUMNS:
        value = row[column]  # type: ignore[literal-required]
        if value is None:
            cells.append("")
        elif isinstance(value, str) and column not in _JSON_COLUMNS:
            cells.append(f"'{value}" if value.startswith(_FORMULA_STARTS) else value)
        else:
            cells.append(json.dumps(value, separators=(",", ":"), ensure_ascii=False))
    return cells
