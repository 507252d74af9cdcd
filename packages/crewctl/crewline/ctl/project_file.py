"""``crewctl project apply -f FILE``: a project described in a YAML or JSON file.

The file names the project by its ``title`` (or by ``project_id``, which also allows a
rename). Applying it creates the project when the caller has none by that title, and
otherwise changes exactly the fields that differ from the file, at the revision read:
applying the same file again changes nothing. The format is in ``FILE_FORMAT`` and in
``examples/project-*.yaml``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict, cast

import click
import yaml

from crewline.ctl import answers
from crewline.ctl.app import State, example, pass_state
from crewline.ctl.errors import CtlError, ExitCode
from crewline.ctl.output import print_record
from crewline.ctl.params import parse_duration
from crewline.ctl.projects import parse_requirement, pay_terms, print_project
from crewline.ctl.records.projects import (
    PayTermsRecord,
    ProjectFields,
    ProjectRecord,
    RequirementRecord,
    create_project,
    project_record,
    update_project,
)

if TYPE_CHECKING:
    from crewline.client.sync import Client

FILE_FORMAT = (
    """\b
  title: Dermatology ratings       # required; names the project unless project_id is set
  project_id: 6f1c2a4e-...         # optional: apply to this project (allows a rename)
  instructions: Rate each image 1-5.
  pay: {per_submission: 12.50 USD} # or {hourly: 60 USD, cap: 2h}; amounts as text
  requirements:                    # as --requirement, or {qualification, comparator, values}
    - domain.dermatology:>=:80
    - {qualification: quality.acceptance_rate, comparator: ">=", values: [70],
       project: 1eb0688e-...}      # a measure in another project (left out: this one)
  slots: 3                         # per task, 1-1000
  priority: 60                     # 0-100
  claim_timeout: 30m               # durations: seconds, or 90s, 30m, 2h, 7d
  lifetime: 7d
  auto_accept: 3d
  max_claims_per_contractor: 0     # 0: no limit
  state: active                    # or paused
"""
    + answers.FORMAT
)

# File key -> project field, for the plain integer and duration fields.
_INTEGERS = {
    "slots": "assignments_per_task",
    "priority": "priority",
    "max_claims_per_contractor": "max_claims_per_contractor",
}
_DURATIONS = {
    "claim_timeout": "claim_timeout_seconds",
    "lifetime": "task_lifetime_seconds",
    "auto_accept": "auto_accept_delay_seconds",
}
_KEYS = frozenset(
    {"title", "project_id", "instructions", "pay", "requirements", "state", "answer_spec"}
    | {*_INTEGERS, *_DURATIONS}
)
_STATES = ("active", "paused")
_REQUIREMENT_KEYS = frozenset({"qualification", "comparator", "values", "project", "project_id"})
# CreateProject request ids of applied files: the same content, the same id, so an apply
# retried after a lost reply creates nothing twice.
_APPLY_IDS = uuid.UUID("0b8f7c2e-4d1a-4e6b-9c3f-5a2d8e7b1f40")


class FileError(ValueError):
    """A mistake in a project file; the message starts with the field's path."""


@dataclass(frozen=True)
class ProjectFile:
    """What a project file asks for."""

    fields: ProjectFields  # always has the title
    project_id: str = ""
    state: str = ""  # "" (leave as it is), active or paused


class Applied(TypedDict):
    action: str  # created, updated or unchanged
    changed: list[str]  # the fields changed (all given ones when created)
    project: ProjectRecord


def _text(data: Mapping[str, Any], key: str) -> str:
    value = data[key]
    if not isinstance(value, str):
        raise FileError(f"{key}: must be text")
    return value


def _integer(value: Any, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise FileError(f"{key}: must be a whole number")
    return value


def _duration(value: Any, key: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if not isinstance(value, str):
        raise FileError(f"{key}: must be seconds or a duration such as 30m, 2h, 7d")
    try:
        return parse_duration(value)
    except ValueError as err:
        raise FileError(f"{key}: {err}") from None


def _money(value: Any, key: str) -> tuple[str, str]:
    """``"12.50 USD"`` as (amount, currency); a bare number is refused (it may be a float)."""
    parts = value.split() if isinstance(value, str) else []
    if len(parts) != 2:
        raise FileError(f'{key}: write the amount and its currency as text, e.g. "12.50 USD"')
    return parts[0], parts[1]


def _pay(value: Any) -> PayTermsRecord:
    if not isinstance(value, Mapping):
        raise FileError(
            "pay: expected {per_submission: AMOUNT CURRENCY} or {hourly: ..., cap: ...}"
        )
    unknown = set(value) - {"per_submission", "hourly", "cap"}
    if unknown:
        raise FileError(f"pay.{sorted(unknown)[0]}: unknown; use per_submission, hourly, cap")
    given = value.get("per_submission")
    reward = _money(given, "pay.per_submission") if given is not None else None
    hourly = _money(value["hourly"], "pay.hourly") if "hourly" in value else None
    cap = _duration(value["cap"], "pay.cap") if "cap" in value else None
    try:
        terms = pay_terms(reward, hourly, cap)
    except click.ClickException as err:
        message = err.message.replace("--reward", "per_submission").replace("--hourly", "hourly")
        message = message.replace("--cap SECONDS", "cap").replace("--cap", "cap")
        raise FileError(f"pay: {message}") from None
    if terms is None:
        raise FileError("pay: give per_submission or hourly")
    return terms


def _requirement(value: Any, key: str) -> RequirementRecord:
    if isinstance(value, str):
        try:
            return parse_requirement(value)
        except click.BadParameter as err:
            raise FileError(f"{key}: {err.message}") from None
    if not isinstance(value, Mapping) or not isinstance(value.get("qualification"), str):
        raise FileError(f"{key}: expected 'NAME:COMPARATOR[:VALUES]' or {{qualification: ...}}")
    unknown = sorted(set(value) - _REQUIREMENT_KEYS)
    if unknown:
        known = ", ".join(sorted(_REQUIREMENT_KEYS))
        raise FileError(f"{key}.{unknown[0]}: unknown; a requirement takes {known}")
    values = value.get("values", [])
    if not isinstance(values, list) or not all(
        isinstance(v, str | int) and not isinstance(v, bool) for v in values
    ):
        raise FileError(f"{key}.values: must be a list of scores or strings")
    text = f"{value['qualification']}:{value.get('comparator', '')}:"
    try:
        found = parse_requirement(text)
    except click.BadParameter as err:
        raise FileError(f"{key}.comparator: {err.message}") from None
    return {**found, "values": list(values), "project_id": _measured_in(value, key)}


def _measured_in(value: Mapping[str, Any], key: str) -> str:
    """A requirement's ``project`` (or ``project_id``): the project a quality measure is
    measured in; "" when left out (the project the file describes)."""
    named = [name for name in ("project", "project_id") if name in value]
    if len(named) > 1:
        raise FileError(f"{key}.project_id: give project or project_id, not both")
    if not named:
        return ""
    project = value[named[0]]
    if project is None:
        return ""
    if not isinstance(project, str):
        raise FileError(f"{key}.{named[0]}: must be a project id, as text")
    return project.strip()


def _requirements(value: Any) -> list[RequirementRecord]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise FileError("requirements: expected a list")
    return [_requirement(item, f"requirements[{i}]") for i, item in enumerate(value)]


def parse_project(data: Any) -> ProjectFile:
    """A project file's content (already loaded) as what it asks for; FileError names the
    field that is wrong."""
    if not isinstance(data, Mapping):
        raise FileError("expected a mapping of fields (title, pay, ...)")
    unknown = sorted(set(data) - _KEYS)
    if unknown:
        raise FileError(f"{unknown[0]}: unknown field; known: {', '.join(sorted(_KEYS))}")
    if "title" not in data:
        raise FileError("title: required")
    fields: dict[str, Any] = {"title": _text(data, "title")}
    if "instructions" in data:
        fields["instructions"] = "" if data["instructions"] is None else _text(data, "instructions")
    if "pay" in data:
        fields["pay_terms"] = _pay(data["pay"])
    if "requirements" in data:
        fields["requirements"] = _requirements(data["requirements"])
    for key, name in _INTEGERS.items():
        if key in data:
            fields[name] = _integer(data[key], key)
    for key, name in _DURATIONS.items():
        if key in data:
            fields[name] = _duration(data[key], key)
    if answers.KEY in data:
        try:
            fields["answer_spec"] = answers.parse_answer_spec(data[answers.KEY])
        except ValueError as err:
            raise FileError(str(err)) from None
    state = _text(data, "state").lower() if "state" in data else ""
    if state and state not in _STATES:
        raise FileError(f"state: must be active or paused, not {state!r}")
    project_id = _text(data, "project_id") if "project_id" in data else ""
    return ProjectFile(cast(ProjectFields, fields), project_id.strip(), state)


def load_project_file(path: Path) -> ProjectFile:
    """Read and check a .yaml/.yml/.json project file; CtlError (exit 2) names the field."""
    try:
        text = path.read_text()
    except OSError as err:
        raise CtlError(
            f"{path}: cannot be read: {err.strerror}", exit_code=ExitCode.USAGE
        ) from None
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
        return parse_project(data)
    except (json.JSONDecodeError, yaml.YAMLError) as err:
        problem = f"not valid {'JSON' if path.suffix.lower() == '.json' else 'YAML'}: {err}"
    except FileError as err:
        problem = str(err)
    raise CtlError(
        f"{path}: {' '.join(problem.split())}",
        exit_code=ExitCode.USAGE,
        hint="nothing was applied; `crewctl project apply --help` shows the format",
    )


def _same_requirements(
    rs: list[RequirementRecord], own: str
) -> list[tuple[str, str, tuple[str, ...], str]]:
    """Requirements as compared: a measure of the project itself is "" in a file and
    the project's own id once stored, and the two are the same requirement."""
    return sorted(
        (
            r["qualification"],
            r["comparator"],
            tuple(map(str, r["values"])),
            "" if r["project_id"] == own else r["project_id"],
        )
        for r in rs
    )


def _same_terms(t: PayTermsRecord, own: str) -> tuple[object, ...]:
    return t["basis"], t["currency"], t["amount_minor"], t["max_paid_seconds"]


def _same_spec(spec: Any, own: str) -> object:
    return answers.same_spec(spec)


# How a field's value is compared, given the project's own id.
_COMPARE: dict[str, Callable[[Any, str], object]] = {
    "requirements": _same_requirements,
    "pay_terms": _same_terms,
    "answer_spec": _same_spec,
}


def _as_is(value: Any, own: str) -> object:
    return value


def differences(wanted: ProjectFields, project: ProjectRecord) -> ProjectFields:
    """The fields of ``wanted`` whose value differs from the project's."""
    current: Mapping[str, Any] = project
    own = project["project_id"]
    changed: dict[str, Any] = {}
    for name, value in wanted.items():
        same = _COMPARE.get(name, _as_is)
        if same(value, own) != same(current[name], own):
            changed[name] = value
    return cast(ProjectFields, changed)


def apply_request_id(fields: ProjectFields) -> str:
    """The CreateProject request id of a file's fields: the same content, the same id.
    A requirement naming no project hashes as before requirements could name one, so a
    file applied by an earlier crewctl keeps its id."""
    canonical_fields: dict[str, Any] = dict(fields)
    if "requirements" in fields:
        canonical_fields["requirements"] = [
            {k: v for k, v in r.items() if k != "project_id" or v} for r in fields["requirements"]
        ]
    canonical = json.dumps(canonical_fields, sort_keys=True, separators=(",", ":"))
    return f"apply-{uuid.uuid5(_APPLY_IDS, canonical)}"


def find_project(client: Client, wanted: ProjectFile) -> ProjectRecord | None:
    """The project the file means: by project_id, else the caller's one (not closed)
    with its title; None when there is none."""
    if wanted.project_id:
        return project_record(client.get_project(wanted.project_id).project.raw)
    title = wanted.fields["title"]
    listed = (project_record(p.raw) for p in client.projects(page_size=100))
    found = [p for p in listed if p["title"] == title and p["state"] != "closed"]
    if len(found) > 1:
        ids = ", ".join(p["project_id"] for p in found)
        raise CtlError(
            f"{len(found)} projects are titled {title!r} ({ids})",
            exit_code=ExitCode.USAGE,
            hint="add project_id: ID to the file to say which one",
        )
    return found[0] if found else None


def apply_project(client: Client, wanted: ProjectFile) -> Applied:
    """Create the project, or change what differs; nothing when nothing does."""
    current = find_project(client, wanted)
    if current is None:
        if "pay_terms" not in wanted.fields:
            raise CtlError(
                f"no project titled {wanted.fields['title']!r} yet, and the file has no pay",
                exit_code=ExitCode.USAGE,
                hint="add pay: {per_submission: 12.50 USD} (or hourly) to create it",
            )
        fields = cast(ProjectFields, {"instructions": "", **wanted.fields})
        created = create_project(client, apply_request_id(fields), fields)
        project = _move(client, created, wanted.state)
        return {"action": "created", "changed": sorted(wanted.fields), "project": project}
    changes = differences(wanted.fields, current)
    project = current
    if changes:
        project = update_project(client, current["project_id"], changes, current["revision"])
    moved = _move(client, project, wanted.state)
    changed = sorted(changes) + (["state"] if moved["state"] != project["state"] else [])
    action = "updated" if changed else "unchanged"
    return {"action": action, "changed": changed, "project": moved}


def _move(client: Client, project: ProjectRecord, state: str) -> ProjectRecord:
    if not state or state == project["state"]:
        return project
    if state == "paused":
        return project_record(client.pause_project(project["project_id"]).raw)
    return project_record(client.resume_project(project["project_id"]).raw)


def print_applied(applied: Applied) -> None:
    print_project(applied["project"])
    changed = ", ".join(applied["changed"]) or "nothing"
    print_record("Applied", {"action": applied["action"], "changed": changed})


@click.command(
    "apply",
    epilog=example(
        "crewctl project apply -f examples/project-dermatology.yaml",
        "crewctl --json project apply -f project.json | jq -r .project.project_id",
    ),
    help="Create or update a project from a YAML or JSON file; re-applying it changes"
    " nothing.\n\nThe file names the project by its title (or by project_id, which also"
    " allows a rename). Without such a project it is created; otherwise exactly the"
    " fields that differ from the file are changed, at the revision read (a concurrent"
    " change makes it fail: apply again). Fields left out stay as they are. New pay"
    " becomes a new pay terms version, and a new answer_spec a new version of the spec"
    " (claims granted before keep theirs; work submitted under a spec must be a JSON"
    f" object of its fields).\n\n{FILE_FORMAT}",
)
@click.option(
    "-f",
    "--file",
    "path",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="The project file: .yaml, .yml or .json.",
)
@pass_state
def apply(state: State, path: Path) -> None:
    wanted = load_project_file(path)
    with state.client() as client:
        applied = apply_project(client, wanted)
    state.emit(applied, print_applied)
