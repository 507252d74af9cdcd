"""Protobuf <-> value mapping that every service's adapters share."""

from __future__ import annotations

from datetime import UTC, datetime

from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

from crewline.answers import (
    AnswerField,
    AnswerSpec,
    Choice,
    Criterion,
    FieldKind,
    Rubric,
    Scale,
    Text,
)
from crewline.errors import InvalidArgument
from crewline.money import Money
from crewline.pay_terms import Basis, PayTerms
from crewline.qualifications import ACCEPTANCE_RATE, GOLD_ACCURACY, Comparator, Kind, Requirement
from crewline.v1 import money_pb2, project_pb2, quality_service_pb2


def money_to_pb(money: Money) -> money_pb2.Money:
    return money_pb2.Money(currency_code=money.currency, amount_minor=money.amount_minor)


def money_from_pb(pb: money_pb2.Money) -> Money:
    """Trusted data (an event we or a peer wrote); requests go through ``Money.positive``."""
    return Money(pb.currency_code, pb.amount_minor)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def timestamp(value: datetime) -> Timestamp:
    """``Timestamp.FromDatetime``'s value (a naive time is UTC), computed from the offset
    to the epoch: FromDatetime goes through ``utctimetuple()`` and was ~2% of the
    matcher's CPU under a claims burst (each claim writes four times, twice)."""
    delta = value.replace(tzinfo=UTC) - _EPOCH if value.tzinfo is None else value - _EPOCH
    return Timestamp(seconds=delta.days * 86_400 + delta.seconds, nanos=delta.microseconds * 1000)


def from_timestamp(ts: Timestamp) -> datetime:
    return ts.ToDatetime(tzinfo=UTC)


def request_time(message: Message, name: str, *, field: str | None = None) -> datetime | None:
    """The time in a request's Timestamp field ``name``; None when it is unset. One no
    calendar holds (seconds or nanos out of range) is refused, naming ``field`` (by
    default ``name``)."""
    if not message.HasField(name):
        return None
    try:
        return from_timestamp(getattr(message, name))
    except (ValueError, OverflowError):
        raise InvalidArgument(field or name, "is not a valid time") from None


# Requirements and pay terms travel in requests (dispatcher), events (both) and
# offers (matcher); the enum mapping is written once, here.
COMPARATORS: dict[project_pb2.Comparator.ValueType, Comparator] = {
    project_pb2.COMPARATOR_LESS_THAN: Comparator.LESS_THAN,
    project_pb2.COMPARATOR_LESS_OR_EQUAL: Comparator.LESS_OR_EQUAL,
    project_pb2.COMPARATOR_GREATER_THAN: Comparator.GREATER_THAN,
    project_pb2.COMPARATOR_GREATER_OR_EQUAL: Comparator.GREATER_OR_EQUAL,
    project_pb2.COMPARATOR_EQUAL: Comparator.EQUAL,
    project_pb2.COMPARATOR_NOT_EQUAL: Comparator.NOT_EQUAL,
    project_pb2.COMPARATOR_EXISTS: Comparator.EXISTS,
    project_pb2.COMPARATOR_NOT_EXISTS: Comparator.NOT_EXISTS,
    project_pb2.COMPARATOR_IN: Comparator.IN,
    project_pb2.COMPARATOR_NOT_IN: Comparator.NOT_IN,
}
_COMPARATOR_PB = {v: k for k, v in COMPARATORS.items()}

KINDS: dict[project_pb2.QualificationKind.ValueType, Kind] = {
    project_pb2.QUALIFICATION_KIND_SCORE: Kind.SCORE,
    project_pb2.QUALIFICATION_KIND_PRESENCE: Kind.PRESENCE,
    project_pb2.QUALIFICATION_KIND_STRING: Kind.STRING,
}
_KIND_PB = {v: k for k, v in KINDS.items()}


def kind_to_pb(kind: Kind) -> project_pb2.QualificationKind.ValueType:
    return _KIND_PB[kind]


# The quality service's measures (ScoreChanged.measure) by the qualification names
# requirements give them.
MEASURES: dict[quality_service_pb2.ScoreMeasure.ValueType, str] = {
    quality_service_pb2.SCORE_MEASURE_ACCEPTANCE_RATE: ACCEPTANCE_RATE,
    quality_service_pb2.SCORE_MEASURE_GOLD_ACCURACY: GOLD_ACCURACY,
}


def requirement_to_pb(req: Requirement) -> project_pb2.Requirement:
    pb = project_pb2.Requirement(
        qualification=req.qualification,
        comparator=_COMPARATOR_PB[req.comparator],
        project_id=req.project_id,
    )
    pb.scores.extend(v for v in req.values if isinstance(v, int))
    pb.strings.extend(v for v in req.values if isinstance(v, str))
    return pb


def requirement_from_pb(pb: project_pb2.Requirement) -> Requirement:
    """Trusted data (an event); requests go through ``qualifications.requirement``."""
    return Requirement(
        pb.qualification, COMPARATORS[pb.comparator], (*pb.scores, *pb.strings), pb.project_id
    )


def pay_terms_to_pb(terms: PayTerms) -> project_pb2.PayTerms:
    pb = project_pb2.PayTerms(version=terms.version)
    if terms.basis is Basis.PER_SUBMISSION:
        pb.per_submission.reward.CopyFrom(money_to_pb(terms.rate))
    else:
        pb.hourly.rate.CopyFrom(money_to_pb(terms.rate))
        pb.hourly.max_paid_seconds = terms.max_paid_seconds
    if terms.effective_at is not None:
        pb.effective_at.CopyFrom(timestamp(terms.effective_at))
    return pb


def pay_terms_from_pb(pb: project_pb2.PayTerms) -> PayTerms:
    """Trusted data (an event); requests are validated by the dispatcher's adapter."""
    effective_at = from_timestamp(pb.effective_at) if pb.HasField("effective_at") else None
    if pb.WhichOneof("basis") == "hourly":
        return PayTerms(
            basis=Basis.HOURLY,
            rate=money_from_pb(pb.hourly.rate),
            max_paid_seconds=pb.hourly.max_paid_seconds,
            version=pb.version,
            effective_at=effective_at,
        )
    return PayTerms(
        basis=Basis.PER_SUBMISSION,
        rate=money_from_pb(pb.per_submission.reward),
        version=pb.version,
        effective_at=effective_at,
    )


def answer_spec_to_pb(spec: AnswerSpec) -> project_pb2.AnswerSpec:
    return project_pb2.AnswerSpec(
        version=spec.version, fields=[_answer_field_to_pb(f) for f in spec.fields]
    )


def _answer_field_to_pb(f: AnswerField) -> project_pb2.AnswerField:
    pb = project_pb2.AnswerField(name=f.name, prompt=f.prompt, optional=f.optional)
    match f.kind:
        case Choice():
            pb.choice.labels.extend(f.kind.labels)
            pb.choice.multiple = f.kind.multiple
        case Scale():
            pb.number.CopyFrom(_scale_to_pb(f.kind))
        case Text():
            pb.text.min_length = f.kind.min_length
            pb.text.max_length = f.kind.max_length
        case Rubric():
            for c in f.kind.criteria:
                pb.rubric.criteria.add(
                    name=c.name, description=c.description, scale=_scale_to_pb(c.scale)
                )
    return pb


def _scale_to_pb(s: Scale) -> project_pb2.NumberField:
    return project_pb2.NumberField(min=s.min, max=s.max, step=s.step)


def answer_spec_from_pb(pb: project_pb2.AnswerSpec) -> AnswerSpec:
    """As sent: a request's spec goes through ``answers.check_spec`` (an unknown kind
    arrives as None, which it refuses)."""
    return AnswerSpec(version=pb.version, fields=tuple(_answer_field(f) for f in pb.fields))


def _answer_field(pb: project_pb2.AnswerField) -> AnswerField:
    kind: FieldKind | None = None
    match pb.WhichOneof("kind"):
        case "choice":
            kind = Choice(labels=tuple(pb.choice.labels), multiple=pb.choice.multiple)
        case "number":
            kind = _scale(pb.number)
        case "text":
            kind = Text(min_length=pb.text.min_length, max_length=pb.text.max_length)
        case "rubric":
            kind = Rubric(
                criteria=tuple(
                    Criterion(name=c.name, description=c.description, scale=_scale(c.scale))
                    for c in pb.rubric.criteria
                )
            )
    return AnswerField(name=pb.name, prompt=pb.prompt, optional=pb.optional, kind=kind)


def _scale(pb: project_pb2.NumberField) -> Scale:
    return Scale(min=pb.min, max=pb.max, step=pb.step)
