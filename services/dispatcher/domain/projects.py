"""Projects: a body of work with shared terms, owned by one client. Pure: no I/O, no protobuf.

A project's requirements name qualification types; they are checked against the
types the dispatcher knows (its copy of the matcher's) when the handler has them,
so the commands here hold requirements as the caller sent them.

A project's answer spec (the shape of its results) is versioned like its pay terms:
version 0 with no fields until it has one, then 1, +1 for each change of its fields.
"""

from __future__ import annotations

import enum
import hashlib
import json
from collections.abc import Callable, Mapping, Sequence, Set
from dataclasses import dataclass, replace
from dataclasses import fields as dataclass_fields
from datetime import datetime
from typing import Any

from crewline import answers, paging, qualifications, validate
from crewline.answers import AnswerSpec
from crewline.errors import Aborted, FailedPrecondition, InvalidArgument
from crewline.paging import PageCursor
from crewline.pay_terms import PayTerms
from crewline.qualifications import Comparator, Kind, Requirement

MAX_TITLE = 200
MAX_INSTRUCTIONS = 20_000
MAX_SLOTS = 1000
DAY = 24 * 3600
# The shortest claim timeout, task lifetime and auto-accept delay, unless the
# dispatcher's setting (min_duration_seconds) says otherwise: callers pass it in.
MIN_SECONDS = 60
MAX_TASK_LIFETIME = 365 * DAY
MAX_CLAIM_TIMEOUT = 7 * DAY
MAX_AUTO_ACCEPT = 30 * DAY
DEFAULT_CLAIM_TIMEOUT = 3600
DEFAULT_TASK_LIFETIME = 7 * DAY
DEFAULT_AUTO_ACCEPT = 3 * DAY
MAX_PRIORITY = 100
MAX_CLAIMS_PER_CONTRACTOR = 1_000_000
MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 50


class ProjectState(enum.StrEnum):
    """A paused project offers nothing until resumed; a closed one never again."""

    ACTIVE = "active"
    PAUSED = "paused"
    CLOSED = "closed"


# The clock kind that cancels a closed project's unfinished tasks (its ref is the
# project id), and the reason those tasks carry.
PROJECT_CLOSED = "project_closed"
CLOSED_REASON = "project closed"


def closed_error(project_id: str) -> FailedPrecondition:
    return FailedPrecondition(f"project {project_id} is closed", reason="PROJECT_CLOSED")


@dataclass(frozen=True)
class RequirementSpec:
    """A requirement as the caller sent it; ``resolve_requirements`` checks it."""

    qualification: str
    comparator: Comparator | None
    scores: tuple[int, ...] = ()
    strings: tuple[str, ...] = ()
    project_id: str = ""  # a quality measure's project; "" is the project itself


def named_projects(specs: Sequence[RequirementSpec], *, field: str) -> set[str]:
    """The projects the specs' measures name (canonical ids), for the caller to look up
    whose they are; a malformed one is refused here, before it reaches a query (another
    qualification naming one is refused by ``resolve_requirements``)."""
    return {
        project_ref(s.project_id, field=f"{field}[{i}].project_id")
        for i, s in enumerate(specs)
        if s.project_id and qualifications.is_measure(s.qualification)
    }


def resolve_requirements(
    specs: Sequence[RequirementSpec],
    types: Mapping[str, Kind],
    *,
    field: str,
    project_id: str,
    own_projects: Set[str] = frozenset(),
) -> tuple[Requirement, ...]:
    """Requirements checked against the known qualification types; errors name
    ``field[i]...``, an unknown type with reason UNKNOWN_QUALIFICATION.

    A quality measure's project must be ``project_id`` (the project these are for) or one
    of ``own_projects`` (its client's); it is stored resolved, "" becoming ``project_id``,
    so the matcher can tell a measure of the project itself (which lets newcomers in)
    from one of another project (which must be held). Another client's project is
    refused as one that does not exist: which ids exist is not for a caller to learn.
    """
    resolved = []
    for i, s in enumerate(specs):
        at = f"{field}[{i}]"
        req = qualifications.requirement(
            qualification=s.qualification,
            comparator=s.comparator,
            scores=s.scores,
            strings=s.strings,
            types=types,
            field=at,
            project_id=s.project_id,
        )
        if qualifications.is_measure(req.qualification):
            where = project_ref(s.project_id, field=f"{at}.project_id") if s.project_id else ""
            if where and where != project_id and where not in own_projects:
                raise InvalidArgument(f"{at}.project_id", f"names no project of yours: {where}")
            req = replace(req, project_id=where or project_id)
        resolved.append(req)
    qualifications.check_count(resolved, field=field)
    return tuple(resolved)


@dataclass(frozen=True, kw_only=True)
class ProjectFields:
    """The fields a client sets; ``None`` (in an update) leaves one as it is.

    Built from a request as given; ``check_fields`` returns them validated.
    """

    title: str | None = None
    instructions: str | None = None
    requirements: tuple[RequirementSpec, ...] | None = None
    pay_terms: PayTerms | None = None  # validated by the kernel's pay_terms()
    assignments_per_task: int | None = None
    claim_timeout_seconds: int | None = None
    task_lifetime_seconds: int | None = None
    auto_accept_delay_seconds: int | None = None
    priority: int | None = None
    max_claims_per_contractor: int | None = None
    # No fields: no spec. On create, None is no spec too; in an update, None leaves it.
    answer_spec: AnswerSpec | None = None


# What a project that never had an answer spec holds.
NO_SPEC = AnswerSpec(fields=(), version=0)
UPDATABLE = frozenset(f.name for f in dataclass_fields(ProjectFields))
IntRule = Callable[[int, str], int]


def _ints(low: int, high: int, *, zero_means: int = 0) -> IntRule:
    def rule(value: int, field: str) -> int:
        return validate.int_range(value or zero_means, field=field, low=low, high=high)

    return rule


def _int_rules(min_seconds: int) -> dict[str, IntRule]:
    """The integer fields and their rules; 0 means the default where there is one.
    Durations are at least ``min_seconds`` (the dispatcher's setting)."""
    return {
        "assignments_per_task": _ints(1, MAX_SLOTS, zero_means=1),
        "claim_timeout_seconds": _ints(
            min_seconds, MAX_CLAIM_TIMEOUT, zero_means=DEFAULT_CLAIM_TIMEOUT
        ),
        "task_lifetime_seconds": _ints(
            min_seconds, MAX_TASK_LIFETIME, zero_means=DEFAULT_TASK_LIFETIME
        ),
        "auto_accept_delay_seconds": _ints(
            min_seconds, MAX_AUTO_ACCEPT, zero_means=DEFAULT_AUTO_ACCEPT
        ),
        "priority": _ints(0, MAX_PRIORITY),
        "max_claims_per_contractor": _ints(0, MAX_CLAIMS_PER_CONTRACTOR),
    }


_INT_FIELDS = tuple(_int_rules(MIN_SECONDS))
# The fields that are plain values (not requirements, not pay terms).
_PLAIN = ("title", "instructions", *_INT_FIELDS)


def _title(value: str, *, field: str) -> str:
    validate.text(value, field=field, max_length=MAX_TITLE)
    if not value.strip():
        raise InvalidArgument(field, f"must be 1-{MAX_TITLE} characters, not blank")
    return value


def check_fields(
    given: ProjectFields, *, prefix: str = "", min_seconds: int = MIN_SECONDS
) -> ProjectFields:
    """The fields given, validated, defaults applied; errors name ``prefix + field``."""
    checked: dict[str, Any] = {}
    if given.title is not None:
        checked["title"] = _title(given.title, field=f"{prefix}title")
    if given.instructions is not None:
        checked["instructions"] = validate.text(
            given.instructions, field=f"{prefix}instructions", max_length=MAX_INSTRUCTIONS
        )
    for name, rule in _int_rules(min_seconds).items():
        value = getattr(given, name)
        if value is not None:
            checked[name] = rule(value, f"{prefix}{name}")
    if given.answer_spec is not None:
        spec = answers.check_spec(given.answer_spec, field=f"{prefix}answer_spec")
        checked["answer_spec"] = replace(spec, version=0)  # a request's version is ignored
    return replace(given, **checked)


@dataclass(frozen=True, kw_only=True)
class CreateProject:
    """Command: a project exists. ``request_id`` makes it idempotent, forever."""

    request_id: str
    client_id: str
    fields: ProjectFields

    def fingerprint(self) -> str:
        """What must match when a request id is used again."""
        f = self.fields
        assert f.pay_terms is not None and f.requirements is not None
        terms = f.pay_terms
        canonical = {
            **{name: getattr(f, name) for name in _PLAIN},
            # A project id only when named, so a request of before hashes as it did.
            "requirements": [
                [r.qualification, r.comparator and r.comparator.value, r.scores, r.strings]
                + ([r.project_id] if r.project_id else [])
                for r in f.requirements
            ],
            "pay_terms": [
                terms.basis.value,
                terms.rate.currency,
                terms.rate.amount_minor,
                terms.max_paid_seconds,
            ],
        }
        # Only a spec with fields counts, so a request without one hashes as it did
        # before specs existed (a repeat of such a request is still the same request).
        if f.answer_spec is not None and f.answer_spec.fields:
            canonical["answer_spec"] = answers.to_json(f.answer_spec)["fields"]
        return hashlib.sha256(json.dumps(canonical, sort_keys=True).encode()).hexdigest()


def create_project(
    *, request_id: str, client_id: str, fields: ProjectFields, min_seconds: int = MIN_SECONDS
) -> CreateProject:
    """Validate a request; ``fields`` must hold every field (requirements may be empty)
    but the answer spec, whose absence is no spec."""
    missing = [
        f.name
        for f in dataclass_fields(fields)
        if getattr(fields, f.name) is None and f.name != "answer_spec"
    ]
    if missing:
        raise ValueError(f"create_project needs every field; missing {missing}")
    checked = check_fields(fields, min_seconds=min_seconds)
    return CreateProject(
        request_id=validate.identifier(request_id, field="request_id"),
        client_id=validate.identifier(client_id, field="client_id"),
        fields=replace(checked, answer_spec=checked.answer_spec or NO_SPEC),
    )


@dataclass(frozen=True, kw_only=True)
class UpdateProject:
    """Command: set the fields in ``changes`` (the update mask's), unless nothing changes."""

    project_id: str
    client_id: str
    changes: ProjectFields
    expected_revision: int = 0


def update_paths(paths: Sequence[str]) -> frozenset[str]:
    """An update mask's paths: at least one, each a field a client may change."""
    if not paths:
        raise InvalidArgument("update_mask", "must name at least one field")
    for path in paths:
        if path not in UPDATABLE:
            raise InvalidArgument(
                "update_mask", f"{path!r} is not one of {', '.join(sorted(UPDATABLE))}"
            )
    return frozenset(paths)


def update_project(
    *,
    project_id: str,
    client_id: str,
    changes: ProjectFields,
    expected_revision: int,
    min_seconds: int = MIN_SECONDS,
) -> UpdateProject:
    """Validate an update; ``changes`` holds the mask's fields only (the request's
    ``project`` message, hence the ``project.`` in the fields errors name)."""
    return UpdateProject(
        project_id=project_ref(project_id, field="project.project_id"),
        client_id=validate.identifier(client_id, field="client_id"),
        changes=check_fields(changes, prefix="project.", min_seconds=min_seconds),
        expected_revision=validate.int_range(
            expected_revision, field="expected_revision", low=0, high=2**63 - 1
        ),
    )


@dataclass(frozen=True, kw_only=True)
class ChangeProjectState:
    """Command: pause (PAUSED), resume (ACTIVE) or close (CLOSED) a project."""

    project_id: str
    client_id: str
    state: ProjectState


def change_project_state(
    *, project_id: str, client_id: str, state: ProjectState
) -> ChangeProjectState:
    return ChangeProjectState(
        project_id=project_ref(project_id, field="project_id"),
        client_id=validate.identifier(client_id, field="client_id"),
        state=state,
    )


def project_ref(value: str, *, field: str) -> str:
    """A project id from a request: Crewline issues UUIDs; this is their canonical text."""
    return str(validate.uuid_id(value, field=field))


@dataclass(frozen=True, kw_only=True)
class ListProjects:
    client_id: str
    page_size: int
    after: PageCursor | None = None  # (created_at, project_id) of the last one seen


def list_projects(*, client_id: str, page_size: int, page_token: str) -> ListProjects:
    return ListProjects(
        client_id=client_id,
        page_size=paging.page_size(page_size, default=DEFAULT_PAGE_SIZE, maximum=MAX_PAGE_SIZE),
        after=paging.cursor_of(page_token),
    )


@dataclass(frozen=True, kw_only=True)
class Project:
    project_id: str
    client_id: str
    title: str
    instructions: str
    requirements: tuple[Requirement, ...]
    pay_terms: PayTerms  # the current version
    assignments_per_task: int
    claim_timeout_seconds: int
    task_lifetime_seconds: int
    auto_accept_delay_seconds: int
    priority: int
    max_claims_per_contractor: int
    revision: int
    created_at: datetime
    updated_at: datetime
    state: ProjectState = ProjectState.ACTIVE
    answer_spec: AnswerSpec = NO_SPEC  # the current version (NO_SPEC: never had one)

    @classmethod
    def create(
        cls,
        cmd: CreateProject,
        *,
        requirements: tuple[Requirement, ...],
        project_id: str,
        now: datetime,
    ) -> Project:
        f = cmd.fields
        assert f.pay_terms is not None, "create_project requires pay terms"
        spec = f.answer_spec or NO_SPEC
        values = {name: getattr(f, name) for name in _PLAIN}
        return cls(
            project_id=project_id,
            client_id=cmd.client_id,
            requirements=requirements,
            pay_terms=replace(f.pay_terms, version=1, effective_at=now),
            answer_spec=replace(spec, version=1 if spec.fields else 0),
            revision=1,
            created_at=now,
            updated_at=now,
            **values,
        )

    def updated(
        self, cmd: UpdateProject, *, requirements: tuple[Requirement, ...] | None, now: datetime
    ) -> Project:
        """This project with ``cmd``'s changes: itself when they change nothing (so a repeat
        is idempotent, whatever revision it expected), else the next revision. New pay
        terms become the next version, effective now; so does an answer spec with other
        fields (none: removed). A closed project changes no more."""
        self.check_not_closed()
        changes = cmd.changes
        values = {n: getattr(changes, n) for n in _PLAIN if getattr(changes, n) is not None}
        if requirements is not None:
            values["requirements"] = requirements
        candidate = replace(self, **values, **self._new_versions(changes, now=now))
        if candidate == self:
            return self
        if cmd.expected_revision and cmd.expected_revision != self.revision:
            raise Aborted(
                f"project {self.project_id} is at revision {self.revision},"
                f" not {cmd.expected_revision}",
                reason="REVISION_MISMATCH",
                metadata={"revision": str(self.revision)},
            )
        return replace(candidate, revision=self.revision + 1, updated_at=now)

    def _new_versions(self, changes: ProjectFields, *, now: datetime) -> dict[str, Any]:
        """The pay terms and answer spec ``changes`` makes different, each the next version
        (comparing terms and fields only: a repeat is the same version)."""
        versions: dict[str, Any] = {}
        terms = changes.pay_terms
        if terms is not None and not terms.same_terms(self.pay_terms):
            version = self.pay_terms.version + 1
            versions["pay_terms"] = replace(terms, version=version, effective_at=now)
        spec = changes.answer_spec
        if spec is not None and not spec.same_fields(self.answer_spec):
            versions["answer_spec"] = replace(spec, version=self.answer_spec.version + 1)
        return versions

    def check_not_closed(self) -> None:
        if self.state is ProjectState.CLOSED:
            raise closed_error(self.project_id)

    def moved_to(self, state: ProjectState, *, now: datetime) -> Project:
        """Pause, resume or close: the next revision in ``state``; itself when it is
        there already (a repeated command). Nothing leaves CLOSED."""
        if state is self.state:
            return self
        self.check_not_closed()
        return replace(self, state=state, revision=self.revision + 1, updated_at=now)

    @property
    def cursor(self) -> PageCursor:
        return PageCursor(self.created_at, self.project_id)

    def answers(self, fingerprint: str, cmd: CreateProject) -> Project:
        """This project, when ``cmd`` repeats the request that created it."""
        if fingerprint != cmd.fingerprint():
            raise InvalidArgument("request_id", "was already used for a different request")
        return self
