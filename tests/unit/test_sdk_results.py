"""The SDK's results: messages read into typed fields, money, enums and times as people
read them, and every proto field either carried or deliberately left out."""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar

import pytest
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from crewline.client import build
from crewline.client import results as r
from crewline.client.results.enums import ENUMS, prefix
from crewline.v1 import claim_pb2, events_pb2, money_pb2, project_pb2
from crewline.v1 import client_admin_service_pb2 as client_admin
from crewline.v1 import ledger_service_pb2 as ledger_api
from crewline.v1 import quality_service_pb2 as quality_api
from crewline.v1 import task_service_pb2 as task_api
from crewline.v1 import work_service_pb2 as work_api

AT = datetime(2026, 3, 1, 14, 5, 9, tzinfo=UTC)
M = TypeVar("M", bound=Message)

# Each message a result reads: (message, result, {proto field: result field} where the
# names differ, {proto field: why it is left out}).
MAPPED: list[tuple[type[Message], type[Any], dict[str, str], dict[str, str]]] = [
    (task_api.Task, r.Task, {"payload_json": "payload", "payload_bytes": "payload"}, {}),
    (task_api.GetTaskResponse, r.TaskDetails, {}, {}),
    (project_pb2.Project, r.Project, {}, {}),
    (task_api.GetProjectResponse, r.ProjectDetails, {}, {}),
    (project_pb2.PayTerms, r.PayTerms, {"per_submission": "reward", "hourly": "rate"}, {}),
    (project_pb2.PerSubmissionPay, r.PayTerms, {}, {}),
    (project_pb2.HourlyPay, r.PayTerms, {}, {}),
    (project_pb2.Requirement, r.Requirement, {}, {}),
    (claim_pb2.WorkSegment, r.WorkSegment, {}, {}),
    (task_api.Submission, r.Submission, {}, {}),
    (task_api.Bonus, r.Bonus, {}, {}),
    (events_pb2.ReviewFlag, r.ReviewFlag, {}, {}),
    (task_api.GrantBonusResponse, r.BonusGrant, {}, {}),
    (work_api.Offer, r.Offer, {}, {}),
    (work_api.Claim, r.Claim, {"payload_json": "payload", "payload_bytes": "payload"}, {}),
    (ledger_api.GetBalanceResponse, r.Balance, {}, {}),
    (ledger_api.StatementEntry, r.StatementEntry, {}, {}),
    (ledger_api.ListStatementResponse, r.StatementPage, {}, {}),
    (ledger_api.VerifyBooksResponse, r.BooksCheck, {}, {}),
    (ledger_api.EarningsLine, r.EarningsLine, {}, {}),
    (ledger_api.GetEarningsResponse, r.Earnings, {}, {}),
    (ledger_api.Payout, r.Payout, {}, {}),
    (ledger_api.PayoutBatch, r.PayoutBatch, {"currency_code": "currency"}, {}),
    (ledger_api.PayoutPreview, r.PayoutPreview, {}, {}),
    (ledger_api.PreviewPayoutBatchResponse, r.PayoutBatchPreview, {}, {}),
    (client_admin.ListedBonus, r.ListedBonus, {}, {}),
    (project_pb2.AnswerSpec, r.AnswerSpec, {}, {}),
    (project_pb2.AnswerField, r.AnswerField, {}, {}),
    (project_pb2.ChoiceField, r.ChoiceField, {}, {}),
    (project_pb2.NumberField, r.NumberField, {}, {}),
    (project_pb2.TextField, r.TextField, {}, {}),
    (project_pb2.RubricField, r.RubricField, {}, {}),
    (project_pb2.RubricCriterion, r.RubricCriterion, {}, {}),
    (quality_api.Score, r.Score, {}, {}),
    (
        quality_api.GoldTask,
        r.GoldTask,
        {"payload_json": "payload", "payload_bytes": "payload"},
        {},
    ),
    (quality_api.GoldFieldRule, r.GoldFieldRule, {}, {}),
    (quality_api.QualityPolicy, r.QualityPolicy, {}, {}),
    (quality_api.QualityRule, r.QualityRule, {}, {}),
    (quality_api.Sanction, r.Sanction, {}, {}),
    (quality_api.Evidence, r.Evidence, {"gold": "item", "review": "item", "flag": "item"}, {}),
    (
        quality_api.GoldEvidence,
        r.GoldEvidence,
        {"payload_json": "payload", "payload_bytes": "payload"},
        {},
    ),
    (quality_api.ReviewEvidence, r.ReviewEvidence, {}, {}),
    (quality_api.FlagEvidence, r.FlagEvidence, {}, {}),
    (quality_api.Appeal, r.Appeal, {}, {}),
    (quality_api.Dispute, r.Dispute, {}, {}),
    (quality_api.Exam, r.Exam, {}, {}),
    (quality_api.ExamAttempt, r.ExamAttempt, {}, {}),
]
# Messages read through another's from_pb (their fields land in that result).
READ_INSIDE = {project_pb2.PerSubmissionPay, project_pb2.HourlyPay}
# Lists whose responses are a page of one kind of item and a token: ``Page`` carries them.
PAGES = [
    task_api.ListProjectsResponse,
    task_api.ListTasksResponse,
    task_api.ListSubmissionsResponse,
    work_api.ListOffersResponse,
    work_api.ListMyClaimsResponse,
    client_admin.ListBonusesResponse,
    quality_api.ListMyScoresResponse,
    quality_api.GetContractorScoresResponse,
    quality_api.ListGoldTasksResponse,
    quality_api.ListMySanctionsResponse,
    quality_api.ListSanctionsResponse,
    quality_api.ListMyAppealsResponse,
    quality_api.ListAppealsResponse,
    quality_api.ListMyDisputesResponse,
    quality_api.ListDisputesResponse,
    quality_api.ListExamsResponse,
    quality_api.ListMyExamAttemptsResponse,
    quality_api.ListExamAttemptsResponse,
]


def fill(message: M, choose: dict[str, str]) -> M:
    """Every field of ``message`` set to a value that is not its default, recursively;
    of each oneof, the field ``choose`` names (else its first)."""
    name = message.DESCRIPTOR.full_name
    if name == "crewline.v1.Money":
        message.ParseFromString(build.money(1250, "EUR").SerializeToString())
        return message
    if name == "google.protobuf.Timestamp":
        message.FromDatetime(AT)  # type: ignore[attr-defined]
        return message
    if name == "google.protobuf.Duration":  # whole seconds, as a rule's duration is
        message.FromSeconds(3_600)  # type: ignore[attr-defined]
        return message
    for field in message.DESCRIPTOR.fields:
        oneof = field.containing_oneof
        if oneof is not None and choose.get(oneof.name, oneof.fields[0].name) != field.name:
            continue
        if field.message_type is not None:
            for _ in range(2 if field.is_repeated else 1):
                target = getattr(message, field.name)
                fill(target.add() if field.is_repeated else target, {})
        elif field.is_repeated:
            getattr(message, field.name).extend([scalar(field), scalar(field)])
        else:
            setattr(message, field.name, scalar(field))
    return message


def scalar(field: Any) -> Any:
    if field.enum_type is not None:
        return field.enum_type.values[-1].number
    if field.type == FieldDescriptor.TYPE_STRING:
        return f"{field.name}-1"
    if field.type == FieldDescriptor.TYPE_BYTES:
        return field.name.encode()
    if field.type == FieldDescriptor.TYPE_BOOL:
        return True
    return 7


def variants(kind: type[Message]) -> Iterator[Message]:
    """Fully populated messages, one for each choice in each of the message's oneofs."""
    oneofs: list[Any] = list(kind.DESCRIPTOR.oneofs)
    for picks in itertools.product(*[[f.name for f in o.fields] for o in oneofs]):
        yield fill(kind(), {o.name: pick for o, pick in zip(oneofs, picks, strict=True)})


def result_fields(result: type[Any]) -> set[str]:
    return {f.name for f in dataclasses.fields(result)} - {"raw"}


def empty(value: object) -> bool:
    return value is None or value in ("", b"", 0, ())


@pytest.mark.parametrize(("kind", "result", "renamed", "omitted"), MAPPED)
def test_every_proto_field_is_carried_or_deliberately_left_out(
    kind: type[Message], result: type[Any], renamed: dict[str, str], omitted: dict[str, str]
) -> None:
    fields = result_fields(result)
    for field in kind.DESCRIPTOR.fields:
        if field.name not in omitted:
            assert renamed.get(field.name, field.name) in fields, (kind.__name__, field.name)


@pytest.mark.parametrize("result", sorted({m[1] for m in MAPPED}, key=str))
def test_every_result_field_comes_from_a_proto_field(result: type[Any]) -> None:
    sources = {
        renamed.get(f.name, f.name)
        for kind, of, renamed, _ in MAPPED
        if of is result
        for f in kind.DESCRIPTOR.fields
    }
    assert result_fields(result) <= sources


@pytest.mark.parametrize(
    ("kind", "result", "renamed", "omitted"), [m for m in MAPPED if m[0] not in READ_INSIDE]
)
def test_a_fully_populated_message_fills_every_field(
    kind: type[Message], result: type[Any], renamed: dict[str, str], omitted: dict[str, str]
) -> None:
    read = [(message, result.from_pb(message)) for message in variants(kind)]
    for name in result_fields(result):
        assert any(not empty(getattr(value, name)) for _, value in read), name
    for message, value in read:
        if "raw" in {f.name for f in dataclasses.fields(result)}:
            assert value.raw is message
        else:  # a value the caller also sends
            assert value.to_pb() == message
        for field in kind.DESCRIPTOR.fields:  # plain values arrive unchanged
            oneof = field.containing_oneof
            if oneof is not None and message.WhichOneof(oneof.name) != field.name:
                continue  # not the one chosen: a result may read it as None
            same = field.name in result_fields(result) and field.name not in omitted
            if same and field.message_type is None and field.enum_type is None:
                expected = getattr(message, field.name)
                got = getattr(value, field.name)
                assert got == (tuple(expected) if field.is_repeated else expected), field.name


@pytest.mark.parametrize("kind", PAGES)
def test_a_page_carries_everything_a_list_answers(kind: type[Message]) -> None:
    message = fill(kind(), {})
    page = r.Page.from_pb(message, lambda item: item)
    assert {f.name for f in kind.DESCRIPTOR.fields} == {_listed(kind.DESCRIPTOR), "next_page_token"}
    assert list(page.items) == list(getattr(message, _listed(kind.DESCRIPTOR)))
    assert page.next_page_token == "next_page_token-1"
    assert page.raw is message


def _listed(descriptor: Any) -> str:
    return str(next(f.name for f in descriptor.fields if f.is_repeated))


def test_every_enum_is_the_protos_values_by_name() -> None:
    for enum in ENUMS:
        descriptor = enum.descriptor()
        named = {v.name.removeprefix(prefix(descriptor)) for v in descriptor.values if v.number}
        assert {m.value for m in enum} == named, enum.__name__
        for member in enum:
            assert enum.from_pb(member.to_pb()) is member
    read = {e.descriptor().full_name for e in ENUMS}
    for kind, *_ in MAPPED:
        for field in kind.DESCRIPTOR.fields:
            assert field.enum_type is None or field.enum_type.full_name in read, field.name


def test_enums_are_names_and_unset_is_none() -> None:
    task = r.Task.from_pb(task_api.Task(status=task_api.TASK_STATUS_IN_PROGRESS))
    assert task.status is r.TaskStatus.IN_PROGRESS
    assert task.status == "IN_PROGRESS"
    assert str(task.status) == "IN_PROGRESS"
    assert r.Task.from_pb(task_api.Task()).status is None
    assert r.TaskStatus.from_pb(999) is None  # a value newer than this SDK
    assert r.Comparator.GREATER_OR_EQUAL.to_pb() == project_pb2.COMPARATOR_GREATER_OR_EQUAL


@pytest.mark.parametrize(
    ("minor", "currency", "text", "amount"),
    [
        (1250, "USD", "$12.50 USD", "12.50"),
        (-1250, "EUR", "-€12.50 EUR", "-12.50"),
        (7, "GBP", "£0.07 GBP", "0.07"),
        (1250, "JPY", "¥1250 JPY", "1250"),
        (12500, "KWD", "12.500 KWD", "12.500"),
        (500, "CHF", "5.00 CHF", "5.00"),
        (0, "USD", "$0.00 USD", "0.00"),
        (10**12, "USD", "$10000000000.00 USD", "10000000000.00"),
    ],
)
def test_money_reads_as_people_write_it(minor: int, currency: str, text: str, amount: str) -> None:
    money = r.Money.from_minor(minor, currency)
    assert str(money) == text
    assert money.amount == Decimal(amount)
    assert str(money.amount) == amount
    assert money.minor == minor
    assert r.Money.of(amount, currency) == money
    assert r.Money.from_pb(money.to_pb()) == money
    assert money.to_pb() == money_pb2.Money(currency_code=currency, amount_minor=minor)


def test_money_from_a_decimal_refuses_what_its_minor_unit_cannot_hold() -> None:
    assert r.Money.of("12.5", "usd") == r.Money.from_minor(1250, "USD")
    assert r.Money.of(Decimal("3"), "JPY").minor == 3
    with pytest.raises(ValueError, match="more than 2 decimals"):
        r.Money.of("12.505", "USD")
    with pytest.raises(ValueError, match="more than 0 decimals"):
        r.Money.of("1.5", "JPY")
    for bad in ("twelve", "NaN", "Infinity"):
        with pytest.raises(ValueError, match="is not an amount"):
            r.Money.of(bad, "USD")
    with pytest.raises(ValueError, match="is not 1250 minor units"):
        r.Money(amount=Decimal("1250"), minor=1250, currency="USD")
    with pytest.raises(TypeError):
        r.Money.from_minor(True, "USD")
    assert r.decimals("bhd") == 3 and r.minor_units("1.234", "BHD") == 1234


def test_unset_times_are_none_and_set_ones_aware_utc() -> None:
    message = task_api.Submission(submission_id="c1")
    message.submitted_at.FromDatetime(AT)
    submission = r.Submission.from_pb(message)
    assert submission.submitted_at == AT
    assert submission.submitted_at.tzinfo is not None
    assert submission.reviewed_at is None and submission.revert_until is None
    assert submission.earned is None


def test_the_message_stays_reachable_and_out_of_equality() -> None:
    message = fill(work_api.Claim(), {})
    claim = r.Claim.from_pb(message)
    assert claim.raw is message
    assert claim == r.Claim.from_pb(work_api.Claim.FromString(message.SerializeToString()))
    assert claim.submission_id == claim.claim_id
    assert dataclasses.replace(claim, feedback="x") != claim
    built = r.Offer(
        task_id="t", project_id="p", title="T", instructions="", pay_terms=None,
        free_slots=1, priority=0, published_at=None, expires_at=None,
    )  # fmt: skip
    assert built.raw == work_api.Offer()


def test_a_result_prints_a_short_line_not_its_payload() -> None:
    message = fill(task_api.Task(), {"payload": "payload_bytes"})
    message.payload_bytes = b"x" * 65536
    task = r.Task.from_pb(message)
    assert task.payload == b"x" * 65536
    assert len(repr(task)) < 200 and "\n" not in repr(task)
    assert str(task) == (
        "task task_id-1 in project_id-1: CANCELLED, 7 slots (7 claimed, 7 submitted,"
        " 7 accepted), reserved for reserved_for-1, expires 2026-03-01 14:05 UTC"
    )
    message.reserved_for = ""  # an ordinary task: reserved for nobody, and says nothing
    assert "reserved" not in str(r.Task.from_pb(message))
    earnings = r.Earnings.from_pb(fill(ledger_api.GetEarningsResponse(), {}))
    assert str(earnings).startswith("earnings of contractor_id-1: key-1: €12.50 EUR for 7")
    assert len(str(earnings).splitlines()) == 1


def test_pay_terms_read_as_one_basis_or_the_other() -> None:
    hourly = r.PayTerms.from_pb(build.hourly(build.usd(3000), max_paid_seconds=5400))
    assert (hourly.rate, hourly.reward) == (r.Money.of("30", "USD"), None)
    assert str(hourly) == "$30.00 USD an hour, at most 1.5 h per claim"
    each = r.PayTerms.from_pb(build.per_submission(build.money(250, "GBP")))
    assert (each.reward, each.rate, each.max_paid_seconds) == (r.Money.of("2.5", "GBP"), None, 0)
    assert str(each) == "£2.50 GBP per submission"


def test_rejected_work_does_not_print_what_it_would_have_earned() -> None:
    message = fill(task_api.Submission(), {})
    message.status = task_api.SUBMISSION_STATUS_REJECTED
    assert "€" not in str(r.Submission.from_pb(message))
    message.status = task_api.SUBMISSION_STATUS_ACCEPTED
    assert "earned €12.50 EUR" in str(r.Submission.from_pb(message))


def test_a_work_segment_goes_back_to_the_wire_as_it_came() -> None:
    message = fill(claim_pb2.WorkSegment(), {})
    segment = r.WorkSegment.from_pb(message)
    assert segment.started_at == AT and segment.to_pb() == message
