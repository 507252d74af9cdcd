"""Answer specs as records: the shape a project gives its results, as projects, offers
and claims carry it, in the same shape a project file's ``answer_spec:`` takes."""

from __future__ import annotations

from typing import TYPE_CHECKING, NotRequired, TypedDict

if TYPE_CHECKING:
    from crewline.v1 import project_pb2
    from crewline.v1 import work_service_pb2 as work_api

KINDS = ("choice", "number", "text", "rubric")
MAX_TEXT = 100_000  # a text field's max_length 0 means this (crewline.v1.TextField)


class ChoiceRecord(TypedDict):
    labels: list[str]
    multiple: bool  # a list of one or more labels instead of one


class ScaleRecord(TypedDict):
    """From min to max, on the steps min, min + step, ...; a step of 0: any number."""

    min: float
    max: float
    step: float


class TextRecord(TypedDict):
    min_length: int
    max_length: int  # 0: up to MAX_TEXT


class CriterionRecord(TypedDict):
    name: str
    description: str
    scale: ScaleRecord


class RubricRecord(TypedDict):
    criteria: list[CriterionRecord]


class AnswerFieldRecord(TypedDict):
    """One field of a result, with exactly one of choice, number, text and rubric."""

    name: str
    prompt: str
    optional: bool
    choice: NotRequired[ChoiceRecord]
    number: NotRequired[ScaleRecord]
    text: NotRequired[TextRecord]
    rubric: NotRequired[RubricRecord]


class AnswerSpecRecord(TypedDict):
    version: int  # 0 in a request: the dispatcher numbers them
    fields: list[AnswerFieldRecord]  # none: no spec (any bytes are a result)


def _scale(pb: project_pb2.NumberField) -> ScaleRecord:
    return {"min": pb.min, "max": pb.max, "step": pb.step}


def _field(pb: project_pb2.AnswerField) -> AnswerFieldRecord:
    record: AnswerFieldRecord = {"name": pb.name, "prompt": pb.prompt, "optional": pb.optional}
    kind = pb.WhichOneof("kind")
    if kind == "choice":
        record["choice"] = {"labels": list(pb.choice.labels), "multiple": pb.choice.multiple}
    elif kind == "number":
        record["number"] = _scale(pb.number)
    elif kind == "text":
        record["text"] = {"min_length": pb.text.min_length, "max_length": pb.text.max_length}
    elif kind == "rubric":
        criteria = pb.rubric.criteria
        record["rubric"] = {
            "criteria": [
                {"name": c.name, "description": c.description, "scale": _scale(c.scale)}
                for c in criteria
            ]
        }
    return record


def answer_spec_record(pb: project_pb2.AnswerSpec, *, present: bool) -> AnswerSpecRecord | None:
    """The spec as a record; None when there is none (``present`` false: the message's
    field is unset, or the spec has no fields)."""
    if not present or not pb.fields:
        return None
    return {"version": pb.version, "fields": [_field(f) for f in pb.fields]}


def answer_spec_of(
    message: project_pb2.Project | work_api.Offer | work_api.Claim,
) -> AnswerSpecRecord | None:
    """The ``answer_spec`` of a Project, Offer or Claim message, as a record or None."""
    return answer_spec_record(message.answer_spec, present=message.HasField("answer_spec"))


def answer_spec_pb(record: AnswerSpecRecord) -> project_pb2.AnswerSpec:
    """A spec record as the message a request carries (the record's names are the
    message's, so protobuf's own JSON reading does it)."""
    from google.protobuf import json_format

    from crewline.v1 import project_pb2

    return json_format.ParseDict(dict(record), project_pb2.AnswerSpec())
