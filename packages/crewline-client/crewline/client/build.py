"""Small builders for the messages a caller writes by hand: money, pay terms,
requirements, task specs, gold tasks, answer specs. Money is an integer of the
currency's minor unit, always."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from google.protobuf import timestamp_pb2

from crewline.client.ids import request_id_or_new
from crewline.client.results.answers import AnswerSpec
from crewline.client.results.enums import ProtoEnum
from crewline.client.results.gold import GoldFieldRule
from crewline.client.results.money import Money
from crewline.v1 import money_pb2, project_pb2
from crewline.v1 import quality_service_pb2 as quality_api
from crewline.v1 import task_service_pb2 as task_api

if TYPE_CHECKING:
    from google.protobuf.internal.enum_type_wrapper import _EnumTypeWrapper

Payload = str | bytes | dict[str, Any] | list[Any]
# A result to hand in: bytes as they are, a str as UTF-8, a mapping (an answer under a
# project's answer spec) as a JSON object.
Result = bytes | str | Mapping[str, Any]
V = TypeVar("V", bound=int)
# The comparators a requirement may use, by name ("greater_or_equal"), in the proto's order.
COMPARATORS: tuple[str, ...] = tuple(
    name.removeprefix("COMPARATOR_").lower()
    for name in project_pb2.Comparator.keys()
    if name != "COMPARATOR_UNSPECIFIED"
)


def money(amount_minor: int, currency: str = "USD") -> money_pb2.Money:
    """``amount_minor`` units of the currency's minor unit (cents for USD)."""
    if isinstance(amount_minor, bool) or not isinstance(amount_minor, int):
        raise TypeError(f"amount_minor must be an int of minor units, not {amount_minor!r}")
    return money_pb2.Money(currency_code=currency, amount_minor=amount_minor)


def money_message(amount: Money | money_pb2.Money) -> money_pb2.Money:
    """An amount given as ``Money`` (``Money.of("12.50", "USD")``) or as a message."""
    return amount.to_pb() if isinstance(amount, Money) else amount


def enum_number(value: ProtoEnum | V, enum: _EnumTypeWrapper[V]) -> V:
    """A filter given as an SDK enum (``TaskStatus.OPEN``) or as the proto's number."""
    if not isinstance(value, ProtoEnum):
        return value
    if value.descriptor() is not enum.DESCRIPTOR:
        raise TypeError(f"{type(value).__name__}.{value.name} is not a {enum.DESCRIPTOR.name}")
    return enum.Value(value.pb_name())


def usd(cents: int) -> money_pb2.Money:
    return money(cents, "USD")


def per_submission(reward: money_pb2.Money) -> project_pb2.PayTerms:
    """Pay ``reward`` for each accepted submission."""
    return project_pb2.PayTerms(per_submission=project_pb2.PerSubmissionPay(reward=reward))


def hourly(rate: money_pb2.Money, *, max_paid_seconds: int) -> project_pb2.PayTerms:
    """Pay ``rate`` an hour for the time worked, at most ``max_paid_seconds`` per task."""
    return project_pb2.PayTerms(
        hourly=project_pb2.HourlyPay(rate=rate, max_paid_seconds=max_paid_seconds)
    )


def requirement(
    qualification: str,
    comparator: project_pb2.Comparator.ValueType = project_pb2.COMPARATOR_EXISTS,
    *,
    scores: Iterable[int] = (),
    strings: Iterable[str] = (),
    project_id: str = "",
) -> project_pb2.Requirement:
    """A qualification a contractor must hold, e.g.
    ``requirement("derm", project_pb2.COMPARATOR_GREATER_OR_EQUAL, scores=[80])``.
    ``project_id``: for a quality measure (``quality.acceptance_rate``,
    ``quality.gold_accuracy``), the project it is measured in, one of the same client's;
    empty: the project the requirement is on. Other qualifications take none."""
    return project_pb2.Requirement(
        qualification=qualification,
        comparator=comparator,
        scores=list(scores),
        strings=list(strings),
        project_id=project_id,
    )


def task(
    payload: Payload,
    *,
    idempotency_key: str | None = None,
    slots: int = 0,
    priority: int | None = None,
    lifetime_seconds: int = 0,
) -> task_api.TaskSpec:
    """A task to publish. ``payload``: bytes are sent as they are; a str is JSON text;
    a dict or list is encoded as JSON. ``idempotency_key``: made when not given (give
    your own to make a re-run after a crash publish nothing twice)."""
    spec = task_api.TaskSpec(
        idempotency_key=request_id_or_new(idempotency_key),
        slots=slots,
        lifetime_seconds=lifetime_seconds,
    )
    _set_payload(spec, payload)
    if priority is not None:
        spec.priority = priority
    return spec


def _set_payload(message: task_api.TaskSpec | quality_api.GoldTask, payload: Payload) -> None:
    if isinstance(payload, bytes):
        message.payload_bytes = payload
    elif isinstance(payload, str):
        message.payload_json = payload
    else:
        message.payload_json = json.dumps(payload, separators=(",", ":"))


def gold_task(
    payload: Payload,
    answer: Mapping[str, Any] | str,
    *,
    idempotency_key: str | None = None,
    also_accepted: Mapping[str, Iterable[str]] | None = None,
    tolerance: Mapping[str, float] | None = None,
) -> quality_api.GoldTask:
    """A gold task for ``Client.add_gold_tasks``: ``payload`` as in ``task`` (contractors
    see it as any task's); ``answer``: the key, a dict of the answer spec's fields sent
    as compact JSON with its keys sorted (a str is sent as it is), a field left out
    being not scored. ``also_accepted``: per single-choice field, labels correct too
    (``{"severity": ["moderate"]}``); ``tolerance``: per number field, how far from the
    key an answer may be (``{"confidence": 0.1}``). ``idempotency_key``: made when not
    given (give your own to make a re-run add nothing twice)."""
    gold = quality_api.GoldTask(
        idempotency_key=request_id_or_new(idempotency_key), answer_json=answer_json(answer)
    )
    _set_payload(gold, payload)
    gold.rules.extend(rule.to_pb() for rule in gold_rules(also_accepted or {}, tolerance or {}))
    return gold


def answer_json(answer: Mapping[str, Any] | str) -> str:
    """A gold key as ``GoldTask.answer_json`` carries it: compact JSON, keys sorted, so
    the same answer is the same text on every run (NaN and infinities are refused)."""
    if isinstance(answer, str):
        return answer
    return json.dumps(
        dict(answer), separators=(",", ":"), sort_keys=True, ensure_ascii=False, allow_nan=False
    )


def gold_rules(
    also_accepted: Mapping[str, Iterable[str]], tolerance: Mapping[str, float]
) -> list[GoldFieldRule]:
    """One rule per field named in either mapping, by field name: the same rules are
    the same message whatever order they were given in."""
    rules = []
    for name in sorted({*also_accepted, *tolerance}):
        within = tolerance.get(name, 0.0)
        if isinstance(within, bool) or not isinstance(within, int | float):
            raise TypeError(f"tolerance of {name!r} must be a number, not {within!r}")
        labels = tuple(_texts(also_accepted.get(name, ()), f"also_accepted of {name!r}"))
        rules.append(GoldFieldRule(field=name, also_accepted=labels, tolerance=float(within)))
    return rules


def timestamp(at: datetime) -> timestamp_pb2.Timestamp:
    """A timezone-aware datetime as a Timestamp."""
    if at.tzinfo is None:
        raise ValueError("give a timezone-aware datetime (e.g. datetime.now(UTC))")
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(at)
    return stamp


def result_bytes(result: Result) -> bytes:
    """A result as ``SubmitWork`` carries it: bytes as they are, a str as UTF-8, a
    mapping as compact JSON (NaN and infinities are refused: they are not JSON)."""
    if isinstance(result, bytes):
        return result
    if isinstance(result, str):
        return result.encode()
    return json.dumps(
        dict(result), separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode()


# --- answer specs: the shape of a project's results -------------------------


def answer_spec(*fields: project_pb2.AnswerField) -> project_pb2.AnswerSpec:
    """A spec of ``fields`` (each a ``choice_field``, ``number_field``, ``text_field`` or
    ``rubric_field``), for ``create_project(answer_spec=...)``; no fields: no spec."""
    return project_pb2.AnswerSpec(fields=list(fields))


def answer_spec_message(spec: AnswerSpec | project_pb2.AnswerSpec) -> project_pb2.AnswerSpec:
    """A spec given as an ``AnswerSpec`` (e.g. read from another project) or as a message."""
    return spec.to_pb() if isinstance(spec, AnswerSpec) else spec


def _field(name: str, prompt: str, optional: bool) -> project_pb2.AnswerField:
    return project_pb2.AnswerField(name=name, prompt=prompt, optional=optional)


def _texts(values: Iterable[str], what: str) -> list[str]:
    if isinstance(values, str):  # a lone label would be read letter by letter
        raise TypeError(f"{what} must be a list of strings, not the string {values!r}")
    return list(values)


def choice_field(
    name: str,
    labels: Iterable[str],
    *,
    multiple: bool = False,
    prompt: str = "",
    optional: bool = False,
) -> project_pb2.AnswerField:
    """A label from ``labels`` (a JSON string: ``"severe"``); with ``multiple``, a JSON
    list of one or more distinct labels (``["rash", "itch"]``)."""
    field = _field(name, prompt, optional)
    field.choice.labels.extend(_texts(labels, "labels"))
    field.choice.multiple = multiple
    return field


def number_field(
    name: str,
    *,
    min: float,
    max: float,
    step: float = 0,
    prompt: str = "",
    optional: bool = False,
) -> project_pb2.AnswerField:
    """A JSON number from ``min`` to ``max`` (inclusive) on the steps ``min``,
    ``min + step``, ...; a ``step`` of 0 takes any number in the range."""
    field = _field(name, prompt, optional)
    field.number.CopyFrom(project_pb2.NumberField(min=min, max=max, step=step))
    return field


def text_field(
    name: str,
    *,
    min_length: int = 0,
    max_length: int = 0,
    prompt: str = "",
    optional: bool = False,
) -> project_pb2.AnswerField:
    """A JSON string of ``min_length`` to ``max_length`` characters (0: up to 100,000)."""
    field = _field(name, prompt, optional)
    field.text.CopyFrom(project_pb2.TextField(min_length=min_length, max_length=max_length))
    return field


def criterion(
    name: str, *, min: float, max: float, step: float = 0, description: str = ""
) -> project_pb2.RubricCriterion:
    """One criterion of a ``rubric_field``: a number on the scale ``min``-``max``."""
    scale = project_pb2.NumberField(min=min, max=max, step=step)
    return project_pb2.RubricCriterion(name=name, description=description, scale=scale)


def rubric_field(
    name: str,
    criteria: Iterable[project_pb2.RubricCriterion],
    *,
    prompt: str = "",
    optional: bool = False,
) -> project_pb2.AnswerField:
    """A JSON object with a number for every criterion (``{"accuracy": 4, "clarity": 3}``)."""
    field = _field(name, prompt, optional)
    field.rubric.criteria.extend(criteria)
    return field
