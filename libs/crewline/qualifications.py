"""Qualifications and requirements: who may see and claim a project's tasks.

Shared vocabulary: the matcher owns qualification types and evaluates requirements;
the dispatcher checks a project's requirements against its copy of the types.
Pure: no I/O, no protobuf. Semantics follow Mechanical Turk's
QualificationRequirement: every comparator except NOT_EXISTS requires the
contractor to hold the qualification.

Quality measures (``quality.acceptance_rate``, ``quality.gold_accuracy``) are built-in
SCORE qualifications that nobody defines or grants: the quality service measures them
per contractor and project, and the matcher holds each under a key that names the
project (``measure_key``). A requirement on one names the project it is measured in
(``Requirement.project_id``, resolved by the dispatcher: empty means the project
itself). The newcomer rule: a contractor holds a measure from their first measured
answer in that project; a requirement on a measure in the project being evaluated lets
in contractors not yet measured there (otherwise nobody new could ever be measured
there), while one on a measure in another project must be held, like any
qualification (a training project's score opening the main one).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping, Sequence, Sized
from dataclasses import dataclass

from crewline.errors import InvalidArgument

MIN_SCORE = 0
MAX_SCORE = 100
MAX_TEXT = 64
MAX_REQUIREMENTS = 20
MAX_VALUES = 100
_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")

# Names under this prefix are the quality service's measures: no one defines or grants them.
MEASURE_PREFIX = "quality."
ACCEPTANCE_RATE = "quality.acceptance_rate"
GOLD_ACCURACY = "quality.gold_accuracy"  # answers to gold tasks (docs/quality.md)
MEASURES = frozenset({ACCEPTANCE_RATE, GOLD_ACCURACY})


class Kind(enum.StrEnum):
    SCORE = "score"  # an integer 0-100
    PRESENCE = "presence"  # held or not
    STRING = "string"  # a short string, such as a locale


class Comparator(enum.StrEnum):
    LESS_THAN = "less_than"
    LESS_OR_EQUAL = "less_or_equal"
    GREATER_THAN = "greater_than"
    GREATER_OR_EQUAL = "greater_or_equal"
    EQUAL = "equal"
    NOT_EQUAL = "not_equal"
    EXISTS = "exists"
    NOT_EXISTS = "not_exists"
    IN = "in"
    NOT_IN = "not_in"


_ORDERING = {
    Comparator.LESS_THAN,
    Comparator.LESS_OR_EQUAL,
    Comparator.GREATER_THAN,
    Comparator.GREATER_OR_EQUAL,
}
_ONE_VALUE = _ORDERING | {Comparator.EQUAL, Comparator.NOT_EQUAL}
_PRESENCE_ONLY = {Comparator.EXISTS, Comparator.NOT_EXISTS}
_SETS = {Comparator.IN, Comparator.NOT_IN}

# A held qualification's value: an int for SCORE, a str for STRING, None for PRESENCE.
Value = int | str | None


def type_name(value: str, *, field: str) -> str:
    """A qualification type's name, e.g. ``domain.dermatology``."""
    if not value:
        raise InvalidArgument(field, "is required")
    if not _NAME.fullmatch(value):
        raise InvalidArgument(
            field, "must be 1-64 lower-case letters, digits or . _ - and start with one of a-z0-9"
        )
    return value


def grantable_name(value: str, *, field: str) -> str:
    """A type name an operator may define or grant: not under the measures' prefix."""
    name = type_name(value, field=field)
    if name.startswith(MEASURE_PREFIX):
        raise InvalidArgument(
            field, f"names under {MEASURE_PREFIX!r} are reserved for quality measures"
        )
    return name


def is_measure(name: str) -> bool:
    return name in MEASURES


def measure_key(measure: str, project_id: str) -> str:
    """The key a measured score is held under: type names cannot hold ``@``."""
    return f"{measure}@{project_id}"


def value_for(kind: Kind, *, score: int | None, text: str | None, field: str = "") -> Value:
    """The value a grant carries, checked against the type's kind.

    Errors name ``score`` or ``text``, under ``field`` when one is given (``grant.score``).
    """
    score_field, text_field = (f"{field}.score", f"{field}.text") if field else ("score", "text")
    if kind is Kind.SCORE:
        if text is not None:
            raise InvalidArgument(text_field, "must be unset for a score qualification")
        if score is None:
            raise InvalidArgument(score_field, "is required for a score qualification")
        return _score(score, field=score_field)
    if kind is Kind.STRING:
        if score is not None:
            raise InvalidArgument(score_field, "must be unset for a string qualification")
        if text is None:
            raise InvalidArgument(text_field, "is required for a string qualification")
        return _text(text, field=text_field)
    if score is not None or text is not None:
        raise InvalidArgument(
            score_field if score is not None else text_field,
            "must be unset for a presence qualification",
        )
    return None


def _score(value: int, *, field: str) -> int:
    if not MIN_SCORE <= value <= MAX_SCORE:
        raise InvalidArgument(field, f"must be between {MIN_SCORE} and {MAX_SCORE}")
    return value


def _text(value: str, *, field: str) -> str:
    if not value or len(value) > MAX_TEXT or "\x00" in value:
        raise InvalidArgument(field, f"must be 1-{MAX_TEXT} characters, without NUL")
    return value


@dataclass(frozen=True)
class Requirement:
    """``{qualification, comparator, values}``; ``values`` are ints for SCORE, strs for STRING.

    ``project_id``: for a measure, the project it is measured in ("" means the project
    evaluated; the dispatcher stores it resolved); "" for any other qualification.
    """

    qualification: str
    comparator: Comparator
    values: tuple[int | str, ...] = ()
    project_id: str = ""

    def key(self, project_id: str = "") -> str:
        """What ``held`` holds this requirement's qualification under, when evaluated
        for ``project_id``."""
        if not is_measure(self.qualification):
            return self.qualification
        return measure_key(self.qualification, self.project_id or project_id)

    def holds(self, held: Mapping[str, Value], *, project_id: str = "") -> bool:
        """Whether a contractor holding ``held`` meets it in ``project_id``."""
        key = self.key(project_id)
        if key not in held:
            # The newcomer rule (module docstring): unmeasured in the project evaluated.
            newcomer = is_measure(self.qualification) and self.project_id in ("", project_id)
            return newcomer or self.comparator is Comparator.NOT_EXISTS
        value = held[key]
        match self.comparator:
            case Comparator.EXISTS:
                return True
            case Comparator.NOT_EXISTS:
                return False
            case Comparator.IN:
                return value in self.values
            case Comparator.NOT_IN:
                return value not in self.values
            case Comparator.EQUAL:
                return value == self.values[0]
            case Comparator.NOT_EQUAL:
                return value != self.values[0]
        if not isinstance(value, int):  # an ordering comparator on a non-score value
            return False
        bound = self.values[0]
        assert isinstance(bound, int), "validated: ordering comparators take scores"
        match self.comparator:
            case Comparator.LESS_THAN:
                return value < bound
            case Comparator.LESS_OR_EQUAL:
                return value <= bound
            case Comparator.GREATER_THAN:
                return value > bound
            case _:
                return value >= bound

    def to_json(self) -> dict[str, object]:
        data: dict[str, object] = {
            "q": self.qualification,
            "c": self.comparator.value,
            "v": list(self.values),
        }
        if self.project_id:  # only when set: what was stored before reads back the same
            data["p"] = self.project_id
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> Requirement:
        values = data["v"]
        assert isinstance(values, list)
        return cls(
            str(data["q"]), Comparator(str(data["c"])), tuple(values), str(data.get("p", ""))
        )


def requirement(
    *,
    qualification: str,
    comparator: Comparator | None,
    scores: Sequence[int],
    strings: Sequence[str],
    types: Mapping[str, Kind],
    field: str,
    project_id: str = "",
) -> Requirement:
    """Validate one requirement against the known qualification types (a measure is a
    SCORE type without being one of them); errors name the field. ``project_id`` is
    kept as given: only a measure may have one, and which projects it may name is the
    caller's to check."""
    name = type_name(qualification, field=f"{field}.qualification")
    kind = Kind.SCORE if is_measure(name) else types.get(name)
    if project_id and not is_measure(name):
        raise InvalidArgument(
            f"{field}.project_id", "must be empty: only a quality measure is measured in a project"
        )
    if kind is None:
        raise InvalidArgument(
            f"{field}.qualification",
            f"names no qualification type: {name!r}",
            reason="UNKNOWN_QUALIFICATION",
        )
    if comparator is None:
        raise InvalidArgument(f"{field}.comparator", "is required")
    if kind is Kind.PRESENCE and comparator not in _PRESENCE_ONLY:
        raise InvalidArgument(
            f"{field}.comparator", "a presence qualification allows only exists or not_exists"
        )
    if kind is Kind.STRING and comparator in _ORDERING:
        raise InvalidArgument(f"{field}.comparator", "a string qualification cannot be ordered")
    if kind is Kind.SCORE and strings:
        raise InvalidArgument(f"{field}.strings", "must be empty for a score qualification")
    if kind is Kind.STRING and scores:
        raise InvalidArgument(f"{field}.scores", "must be empty for a string qualification")
    values_field = f"{field}.scores" if kind is Kind.SCORE else f"{field}.strings"
    raw: Sequence[int | str] = scores if kind is Kind.SCORE else strings
    if comparator in _PRESENCE_ONLY:
        if scores or strings:
            given = f"{field}.scores" if scores else f"{field}.strings"
            raise InvalidArgument(given, f"must be empty for {comparator.value}")
        return Requirement(name, comparator, project_id=project_id)
    if comparator in _ONE_VALUE and len(raw) != 1:
        raise InvalidArgument(values_field, f"must hold exactly one value for {comparator.value}")
    if comparator in _SETS and not 1 <= len(raw) <= MAX_VALUES:
        raise InvalidArgument(
            values_field, f"must hold 1-{MAX_VALUES} values for {comparator.value}"
        )
    checked: list[int | str] = []
    for i, item in enumerate(raw):
        if kind is Kind.SCORE:
            assert isinstance(item, int)
            checked.append(_score(item, field=f"{values_field}[{i}]"))
        else:
            assert isinstance(item, str)
            checked.append(_text(item, field=f"{values_field}[{i}]"))
    return Requirement(name, comparator, tuple(checked), project_id)


def check_count(requirements: Sized, *, field: str) -> None:
    if len(requirements) > MAX_REQUIREMENTS:
        raise InvalidArgument(field, f"must hold at most {MAX_REQUIREMENTS} requirements")


def satisfied(
    requirements: Iterable[Requirement], held: Mapping[str, Value], *, project_id: str = ""
) -> bool:
    """True when a contractor holding ``held`` meets every requirement of ``project_id``
    (none: everyone does)."""
    return all(r.holds(held, project_id=project_id) for r in requirements)
