"""Answer specs: the shape a project gives its results, as projects, offers and claims
carry them. Values to send as well as to read: ``to_pb`` makes the message
``Client.create_project(answer_spec=...)`` takes (``crewline.client.build`` has
builders for the same messages)."""

from __future__ import annotations

from dataclasses import dataclass

from crewline.client.results.wire import brief
from crewline.v1 import project_pb2
from crewline.v1 import work_service_pb2 as work_api

KINDS = ("choice", "number", "text", "rubric")


@dataclass(frozen=True, slots=True, kw_only=True)
class ChoiceField:
    """A label from ``labels``, as a JSON string; with ``multiple``, a JSON list of one or
    more distinct labels."""

    labels: tuple[str, ...]
    multiple: bool = False

    @classmethod
    def from_pb(cls, message: project_pb2.ChoiceField) -> ChoiceField:
        return cls(labels=tuple(message.labels), multiple=message.multiple)

    def to_pb(self) -> project_pb2.ChoiceField:
        return project_pb2.ChoiceField(labels=list(self.labels), multiple=self.multiple)

    def __str__(self) -> str:
        return f"{'one or more' if self.multiple else 'one'} of {'|'.join(self.labels)}"


@dataclass(frozen=True, slots=True, kw_only=True)
class NumberField:
    """A JSON number from ``min`` to ``max`` (inclusive), on the steps ``min``,
    ``min + step``, ... up to ``max``; a ``step`` of 0 takes any number in the range."""

    min: float
    max: float
    step: float = 0.0

    @classmethod
    def from_pb(cls, message: project_pb2.NumberField) -> NumberField:
        return cls(min=message.min, max=message.max, step=message.step)

    def to_pb(self) -> project_pb2.NumberField:
        return project_pb2.NumberField(min=self.min, max=self.max, step=self.step)

    def __str__(self) -> str:
        steps = f", step {self.step:g}" if self.step else ""
        return f"a number from {self.min:g} to {self.max:g}{steps}"


@dataclass(frozen=True, slots=True, kw_only=True)
class TextField:
    """A JSON string of ``min_length`` to ``max_length`` characters (a ``max_length`` of
    0 means the limit, 100,000)."""

    min_length: int = 0
    max_length: int = 0

    @classmethod
    def from_pb(cls, message: project_pb2.TextField) -> TextField:
        return cls(min_length=message.min_length, max_length=message.max_length)

    def to_pb(self) -> project_pb2.TextField:
        return project_pb2.TextField(min_length=self.min_length, max_length=self.max_length)

    def __str__(self) -> str:
        return f"text of {self.min_length}-{self.max_length or 100_000:,} characters"


@dataclass(frozen=True, slots=True, kw_only=True)
class RubricCriterion:
    """One criterion of a rubric: ``name`` (its key in the rubric's JSON object), what
    is judged (``description``), and the ``scale`` its number is on."""

    name: str
    description: str = ""
    scale: NumberField

    @classmethod
    def from_pb(cls, message: project_pb2.RubricCriterion) -> RubricCriterion:
        return cls(
            name=message.name,
            description=message.description,
            scale=NumberField.from_pb(message.scale),
        )

    def to_pb(self) -> project_pb2.RubricCriterion:
        return project_pb2.RubricCriterion(
            name=self.name, description=self.description, scale=self.scale.to_pb()
        )

    def __str__(self) -> str:
        scale = self.scale
        steps = f" step {scale.step:g}" if scale.step else ""
        return f"{self.name} {scale.min:g}-{scale.max:g}{steps}"


@dataclass(frozen=True, slots=True, kw_only=True)
class RubricField:
    """A JSON object with a number for every criterion, e.g. ``{"accuracy": 4}``."""

    criteria: tuple[RubricCriterion, ...]

    @classmethod
    def from_pb(cls, message: project_pb2.RubricField) -> RubricField:
        return cls(criteria=tuple(map(RubricCriterion.from_pb, message.criteria)))

    def to_pb(self) -> project_pb2.RubricField:
        return project_pb2.RubricField(criteria=[c.to_pb() for c in self.criteria])

    def __str__(self) -> str:
        return f"a rubric of {', '.join(map(str, self.criteria))}"


Kind = ChoiceField | NumberField | TextField | RubricField


@dataclass(frozen=True, slots=True, kw_only=True)
class AnswerField:
    """One field of a result: its value sits under ``name`` in the result's JSON object.

    ``prompt``: what the contractor is asked; ``optional``: the field may be left out.
    Exactly one of ``choice``, ``number``, ``text`` and ``rubric`` says what it holds
    (none, read from a server newer than this SDK: a kind it does not know).
    """

    name: str
    prompt: str = ""
    optional: bool = False
    choice: ChoiceField | None = None
    number: NumberField | None = None
    text: TextField | None = None
    rubric: RubricField | None = None

    def __post_init__(self) -> None:
        given = [k for k in KINDS if getattr(self, k) is not None]
        if len(given) > 1:
            raise ValueError(f"field {self.name!r}: give one of {', '.join(KINDS)}, not {given}")

    @property
    def kind(self) -> Kind | None:
        """The one of ``choice``, ``number``, ``text`` and ``rubric`` that is set."""
        return self.choice or self.number or self.text or self.rubric

    @classmethod
    def from_pb(cls, message: project_pb2.AnswerField) -> AnswerField:
        which = message.WhichOneof("kind")
        return cls(
            name=message.name,
            prompt=message.prompt,
            optional=message.optional,
            choice=ChoiceField.from_pb(message.choice) if which == "choice" else None,
            number=NumberField.from_pb(message.number) if which == "number" else None,
            text=TextField.from_pb(message.text) if which == "text" else None,
            rubric=RubricField.from_pb(message.rubric) if which == "rubric" else None,
        )

    def to_pb(self) -> project_pb2.AnswerField:
        message = project_pb2.AnswerField(
            name=self.name, prompt=self.prompt, optional=self.optional
        )
        for name in KINDS:
            value: Kind | None = getattr(self, name)
            if value is not None:
                getattr(message, name).CopyFrom(value.to_pb())
        return message

    def __str__(self) -> str:
        optional = ", optional" if self.optional else ""
        return f"{self.name}: {self.kind or 'a kind this SDK does not know'}{optional}"


@dataclass(frozen=True, slots=True, kw_only=True)
class AnswerSpec:
    """The shape of a result: a JSON object holding ``fields`` (checked when work is
    submitted; work that does not fit is refused, naming the field). ``version``: 1 for
    the project's first spec, +1 for each change (0 in a spec being sent: the server
    numbers them). A claim keeps the version in force when it was granted."""

    fields: tuple[AnswerField, ...]
    version: int = 0

    @classmethod
    def from_pb(cls, message: project_pb2.AnswerSpec) -> AnswerSpec:
        return cls(fields=tuple(map(AnswerField.from_pb, message.fields)), version=message.version)

    def to_pb(self) -> project_pb2.AnswerSpec:
        return project_pb2.AnswerSpec(version=self.version, fields=[f.to_pb() for f in self.fields])

    def field(self, name: str) -> AnswerField | None:
        """The field called ``name``; None when there is none."""
        return next((f for f in self.fields if f.name == name), None)

    def __str__(self) -> str:
        shown = "; ".join(map(str, self.fields)) or "no fields"
        return f"answer spec v{self.version}: {shown}"

    def __repr__(self) -> str:
        return brief(self, "version", "fields")


def answer_spec_of(
    message: project_pb2.Project | work_api.Offer | work_api.Claim,
) -> AnswerSpec | None:
    """The message's ``answer_spec``; None when it has none (unset, or no fields: any
    bytes are a result)."""
    if not message.HasField("answer_spec") or not message.answer_spec.fields:
        return None
    return AnswerSpec.from_pb(message.answer_spec)
