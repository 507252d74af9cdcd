"""Gold tasks as clients add and read them: the request's rules and the stored record.
Pure: no I/O, no protobuf.

A request is checked in two steps. ``add_gold`` checks what needs no project (ids,
counts, payloads, tolerances); once the project is known to be the caller's and to
have an answer spec, ``GoldKeys`` checks each key against it (``domain.gold_keys``).
All or nothing: one bad gold task refuses the request, naming its field.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from crewline import paging, validate
from crewline.auth.principal import Kind, Principal
from crewline.errors import InvalidArgument, NotFound
from crewline.payloads import check_payload
from quality.domain.gold_keys import FieldRule, Key, check_rule

MAX_BATCH = 1000
PAGE = 50
PAGE_MAX = 500


@dataclass(frozen=True, kw_only=True)
class GoldInput:
    """One gold task as the client sent it."""

    idempotency_key: str
    payload_json: str | None = None
    payload_bytes: bytes | None = None
    answer_json: str = ""
    rules: tuple[FieldRule, ...] = ()
    project_id: str = ""  # empty, or the request's

    def fingerprint(self) -> str:
        """What must match when the idempotency key is used again."""
        digest = hashlib.sha256()
        rules = [[r.field, list(r.also_accepted), r.tolerance] for r in self.rules]
        digest.update(json.dumps([self.answer_json, rules]).encode())
        if self.payload_json is not None:
            digest.update(b"\x00json\x00" + self.payload_json.encode())
        if self.payload_bytes is not None:
            digest.update(b"\x00bytes\x00" + self.payload_bytes)
        return digest.hexdigest()


@dataclass(frozen=True, kw_only=True)
class AddGold:
    """Command: add gold tasks to one of the caller's projects, all or nothing."""

    client_id: str
    project_id: str
    gold: tuple[GoldInput, ...]


def add_gold(caller: Principal, *, project_id: str, gold: Sequence[GoldInput]) -> AddGold:
    """What can be checked before the project is read; errors name ``gold_tasks[i]...``.
    A key repeated in the request with a different gold task is refused at the repeat."""
    project = validate.identifier(project_id, field="project_id")
    if not 1 <= len(gold) <= MAX_BATCH:
        raise InvalidArgument("gold_tasks", f"must hold 1-{MAX_BATCH} gold tasks")
    first: dict[str, GoldInput] = {}
    for i, item in enumerate(gold):
        at = f"gold_tasks[{i}]"
        validate.identifier(item.idempotency_key, field=f"{at}.idempotency_key")
        if item.project_id and item.project_id != project:
            raise InvalidArgument(f"{at}.project_id", "must be empty or the request's project_id")
        check_payload(item.payload_json, item.payload_bytes, field=at)
        if not item.answer_json:
            raise InvalidArgument(f"{at}.answer_json", "is required")
        for j, rule in enumerate(item.rules):
            check_rule(rule, field=f"{at}.rules[{j}]")
        if first.setdefault(item.idempotency_key, item).fingerprint() != item.fingerprint():
            raise InvalidArgument(
                f"{at}.idempotency_key",
                "repeats an earlier gold task's key in this request with a different gold task",
            )
    return AddGold(client_id=caller.id, project_id=project, gold=tuple(gold))


@dataclass(frozen=True, kw_only=True)
class GoldTask:
    """A gold task as stored, with how contractors answered it."""

    gold_id: uuid.UUID
    project_id: str
    client_id: str
    idempotency_key: str
    payload_json: str | None
    payload_bytes: bytes | None
    answer_json: str  # as the client sent it
    rules: tuple[FieldRule, ...]
    key: Key = field(repr=False)
    fingerprint: str
    created_at: datetime
    seq: int = 0  # the order gold was added in, for pages
    answered: int = 0
    correct: int = 0


@dataclass(frozen=True, kw_only=True)
class GoldQuery:
    """A page of one project's gold tasks, oldest first."""

    project_id: str
    client_id: str | None  # the caller's, who must own the project; None: an operator
    limit: int
    after: int | None  # the last seq of the page before


def list_gold(
    caller: Principal, *, project_id: str, page_size: int = 0, page_token: str = ""
) -> GoldQuery:
    project = validate.identifier(project_id, field="project_id")
    limit = paging.page_size(page_size, default=PAGE, maximum=PAGE_MAX)
    after = paging.token_uint(paging.decode_token(page_token, parts=1)[0]) if page_token else None
    return GoldQuery(project_id=project, client_id=owner(caller, project), limit=limit, after=after)


@dataclass(frozen=True, kw_only=True)
class ProjectRef:
    """A project as ``caller`` may name it: ``client_id`` must own it (None: an operator)."""

    project_id: str
    client_id: str | None


def project_ref(caller: Principal, project_id: str) -> ProjectRef:
    project = validate.identifier(project_id, field="project_id")
    return ProjectRef(project_id=project, client_id=owner(caller, project))


def owner(caller: Principal, project_id: str) -> str | None:
    """The client that must own ``project_id`` for ``caller`` to see it: the caller
    itself, or None for an operator (any project)."""
    if caller.kind is Kind.OPERATOR:
        return None
    if caller.kind is not Kind.CLIENT:
        raise NotFound(f"project {project_id} not found")
    return caller.id


def page_token(last: GoldTask | None) -> str:
    return paging.encode_token(str(last.seq)) if last is not None else ""
