"""Pure rules: the kernel's requirements and pay terms, and the matcher's contractors,
qualifications and blocks. Every refusal names its field."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

import pytest

from crewline.errors import AlreadyExists, DomainError, FailedPrecondition, InvalidArgument
from crewline.money import Money
from crewline.pay_terms import Basis, PayTerms, pay_terms
from crewline.qualifications import (
    MAX_REQUIREMENTS,
    MAX_VALUES,
    Comparator,
    Kind,
    Requirement,
    check_count,
    requirement,
    satisfied,
    type_name,
    value_for,
)
from matcher.domain import blocks, contractors, qualifications
from matcher.domain.qualifications import Change

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
TYPES = {"derm": Kind.SCORE, "locale": Kind.STRING, "bar": Kind.PRESENCE}


def invalid(call: Callable[[], object]) -> InvalidArgument:
    with pytest.raises(InvalidArgument) as caught:
        call()
    return caught.value


# --- requirements: every comparator ----------------------------------------------------


@pytest.mark.parametrize(
    ("comparator", "values", "held", "holds"),
    [
        (Comparator.LESS_THAN, (50,), 49, True),
        (Comparator.LESS_THAN, (50,), 50, False),
        (Comparator.LESS_OR_EQUAL, (50,), 50, True),
        (Comparator.LESS_OR_EQUAL, (50,), 51, False),
        (Comparator.GREATER_THAN, (50,), 51, True),
        (Comparator.GREATER_THAN, (50,), 50, False),
        (Comparator.GREATER_OR_EQUAL, (50,), 50, True),
        (Comparator.GREATER_OR_EQUAL, (50,), 49, False),
        (Comparator.EQUAL, (50,), 50, True),
        (Comparator.EQUAL, (50,), 51, False),
        (Comparator.EQUAL, ("US",), "US", True),
        (Comparator.EQUAL, ("US",), "us", False),
        (Comparator.NOT_EQUAL, (50,), 51, True),
        (Comparator.NOT_EQUAL, ("US",), "US", False),
        (Comparator.EXISTS, (), None, True),
        (Comparator.EXISTS, (), 0, True),
        (Comparator.NOT_EXISTS, (), None, False),
        (Comparator.IN, ("US", "CA"), "CA", True),
        (Comparator.IN, ("US", "CA"), "MX", False),
        (Comparator.IN, (10, 20), 20, True),
        (Comparator.NOT_IN, ("US", "CA"), "MX", True),
        (Comparator.NOT_IN, ("US", "CA"), "US", False),
        (Comparator.GREATER_THAN, (50,), "US", False),  # ordering a text value: never holds
    ],
)
def test_each_comparator_on_a_held_qualification(
    comparator: Comparator, values: tuple[int | str, ...], held: int | str | None, holds: bool
) -> None:
    assert Requirement("q", comparator, values).holds({"q": held}) is holds


@pytest.mark.parametrize("comparator", list(Comparator))
def test_a_missing_qualification_meets_only_not_exists(comparator: Comparator) -> None:
    values = {Comparator.IN: (1,), Comparator.NOT_IN: (1,)}.get(comparator, (1,))
    expected = comparator is Comparator.NOT_EXISTS
    assert Requirement("q", comparator, values).holds({"other": 1}) is expected


def test_every_requirement_must_hold_and_none_means_everyone() -> None:
    reqs = [
        Requirement("derm", Comparator.GREATER_OR_EQUAL, (70,)),
        Requirement("bar", Comparator.NOT_EXISTS),
    ]
    assert satisfied([], {})
    assert satisfied(reqs, {"derm": 70})
    assert not satisfied(reqs, {"derm": 70, "bar": None})
    assert not satisfied(reqs, {"derm": 69})


def test_a_requirement_round_trips_through_json() -> None:
    req = Requirement("locale", Comparator.IN, ("US", "CA"))
    assert Requirement.from_json(req.to_json()) == req
    assert req.to_json() == {"q": "locale", "c": "in", "v": ["US", "CA"]}


# --- requirements: validation ----------------------------------------------------------


def build(
    qualification: str = "derm",
    comparator: Comparator | None = Comparator.GREATER_THAN,
    scores: Sequence[int] = (50,),
    strings: Sequence[str] = (),
) -> Requirement:
    return requirement(
        qualification=qualification,
        comparator=comparator,
        scores=scores,
        strings=strings,
        types=TYPES,
        field="requirements[2]",
    )


def test_a_valid_requirement_keeps_its_values() -> None:
    assert build() == Requirement("derm", Comparator.GREATER_THAN, (50,))
    assert build("locale", Comparator.IN, (), ("US", "CA")).values == ("US", "CA")
    assert build("bar", Comparator.EXISTS, ()) == Requirement("bar", Comparator.EXISTS)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"qualification": ""}, "requirements[2].qualification"),
        ({"qualification": "Derm"}, "requirements[2].qualification"),
        ({"comparator": None}, "requirements[2].comparator"),
        ({"qualification": "bar", "comparator": Comparator.EQUAL}, "requirements[2].comparator"),
        (
            {"qualification": "locale", "comparator": Comparator.LESS_THAN, "scores": ()},
            "requirements[2].comparator",
        ),
        ({"strings": ("x",)}, "requirements[2].strings"),
        (
            {"qualification": "locale", "comparator": Comparator.EQUAL, "strings": ("US",)},
            "requirements[2].scores",
        ),
        ({"comparator": Comparator.EXISTS}, "requirements[2].scores"),
        (
            {"qualification": "bar", "comparator": Comparator.NOT_EXISTS, "scores": (1,)},
            "requirements[2].scores",
        ),
        ({"comparator": Comparator.EQUAL, "scores": (1, 2)}, "requirements[2].scores"),
        ({"comparator": Comparator.GREATER_THAN, "scores": ()}, "requirements[2].scores"),
        (
            {"qualification": "locale", "comparator": Comparator.IN, "scores": ()},
            "requirements[2].strings",
        ),
        ({"comparator": Comparator.NOT_IN, "scores": ()}, "requirements[2].scores"),
        (
            {"comparator": Comparator.IN, "scores": tuple(range(MAX_VALUES + 1))},
            "requirements[2].scores",
        ),
        ({"comparator": Comparator.IN, "scores": (5, 101)}, "requirements[2].scores[1]"),
        ({"comparator": Comparator.LESS_THAN, "scores": (-1,)}, "requirements[2].scores[0]"),
        (
            {
                "qualification": "locale",
                "comparator": Comparator.IN,
                "scores": (),
                "strings": ("US", "x" * 65),
            },
            "requirements[2].strings[1]",
        ),
        (
            {
                "qualification": "locale",
                "comparator": Comparator.EQUAL,
                "scores": (),
                "strings": ("",),
            },
            "requirements[2].strings[0]",
        ),
    ],
)
def test_a_malformed_requirement_names_its_field(kwargs: dict[str, object], field: str) -> None:
    assert invalid(lambda: build(**kwargs)).field == field  # type: ignore[arg-type]


def test_an_unknown_qualification_says_so_in_its_reason() -> None:
    err = invalid(lambda: build("domain.law"))
    assert (err.field, err.reason) == ("requirements[2].qualification", "UNKNOWN_QUALIFICATION")


def test_too_many_requirements_are_refused() -> None:
    reqs = [Requirement("bar", Comparator.EXISTS)] * MAX_REQUIREMENTS
    check_count(reqs, field="requirements")
    err = invalid(lambda: check_count([*reqs, reqs[0]], field="requirements"))
    assert err.field == "requirements"


@pytest.mark.parametrize(
    ("name", "ok"),
    [
        ("domain.dermatology", True),
        ("a", True),
        ("0-x_y.z", True),
        ("a" * 64, True),
        ("a" * 65, False),
        ("", False),
        ("Domain", False),
        (".lead", False),
        ("with space", False),
    ],
)
def test_type_names_are_short_lower_case_words(name: str, ok: bool) -> None:
    if ok:
        assert type_name(name, field="name") == name
    else:
        assert invalid(lambda: type_name(name, field="name")).field == "name"


# --- a grant's value, by kind ----------------------------------------------------------


def test_a_value_matches_its_kind() -> None:
    assert value_for(Kind.SCORE, score=0, text=None) == 0
    assert value_for(Kind.SCORE, score=100, text=None) == 100
    assert value_for(Kind.STRING, score=None, text="pt-BR") == "pt-BR"
    assert value_for(Kind.PRESENCE, score=None, text=None) is None


@pytest.mark.parametrize(
    ("kind", "score", "text", "field"),
    [
        (Kind.SCORE, None, None, "score"),
        (Kind.SCORE, 101, None, "score"),
        (Kind.SCORE, -1, None, "score"),
        (Kind.SCORE, 5, "x", "text"),
        (Kind.STRING, None, None, "text"),
        (Kind.STRING, None, "", "text"),
        (Kind.STRING, None, "x" * 65, "text"),
        (Kind.STRING, None, "a\x00b", "text"),
        (Kind.STRING, 5, "x", "score"),
        (Kind.PRESENCE, 0, None, "score"),
        (Kind.PRESENCE, None, "x", "text"),
    ],
)
def test_a_wrong_value_names_score_or_text(
    kind: Kind, score: int | None, text: str | None, field: str
) -> None:
    assert invalid(lambda: value_for(kind, score=score, text=text)).field == field
    nested = invalid(lambda: value_for(kind, score=score, text=text, field="grant"))
    assert nested.field == f"grant.{field}"


# --- pay terms -------------------------------------------------------------------------

USD = Money("USD", 3600)  # 1 minor unit per second when hourly


def hourly(rate: int, cap: int = 8 * 3600) -> PayTerms:
    return PayTerms(basis=Basis.HOURLY, rate=Money("USD", rate), max_paid_seconds=cap)


def test_per_submission_pay_is_the_reward_however_long_it_took() -> None:
    terms = PayTerms(basis=Basis.PER_SUBMISSION, rate=Money("USD", 2500))
    assert terms.earned(0) == terms.earned(99_999) == Money("USD", 2500)


@pytest.mark.parametrize(
    ("rate", "cap", "worked", "minor"),
    [
        (3600, 3600, 90.0, 90),  # exact
        (1000, 3600, 90.0, 25),  # 90 * 1000 / 3600 = 25
        (1001, 3600, 100.0, 28),  # 27.8 rounds up
        (1000, 3600, 1.0, 1),  # 0.28 rounds up to one minor unit
        (3600, 3600, 0.0, 1),  # at least one second is paid
        (3600, 3600, 0.4, 1),
        (3600, 3600, 1.9, 1),  # whole seconds only
        (3600, 600, 10_000.0, 600),  # capped
        (7200, 600, 600.0, 1200),  # exactly at the cap
    ],
)
def test_hourly_pay_is_rounded_up_capped_and_never_nothing(
    rate: int, cap: int, worked: float, minor: int
) -> None:
    assert hourly(rate, cap).earned(worked) == Money("USD", minor)


def test_pay_terms_are_validated_with_field_names() -> None:
    assert (
        invalid(
            lambda: pay_terms(basis=None, rate=USD, max_paid_seconds=0, field="pay_terms")
        ).field
        == "pay_terms"
    )
    err = invalid(
        lambda: pay_terms(basis=Basis.HOURLY, rate=USD, max_paid_seconds=59, field="pay_terms")
    )
    assert err.field == "pay_terms.hourly.max_paid_seconds"
    made = pay_terms(basis=Basis.PER_SUBMISSION, rate=USD, max_paid_seconds=7, field="p")
    assert made.max_paid_seconds == 0
    assert made.same_terms(PayTerms(basis=Basis.PER_SUBMISSION, rate=USD, version=4))


def create(**changes: object) -> contractors.CreateContractor:
    fields: dict[str, object] = {"contractor_id": "ann", "display_name": "Ann", **changes}
    return contractors.create_contractor(**fields)  # type: ignore[arg-type]


def test_create_fills_in_the_name_and_the_claim_limit() -> None:
    cmd = create(display_name="  ", max_concurrent_claims=0)
    assert (cmd.display_name, cmd.max_concurrent_claims, cmd.referred_by) == ("ann", 3, None)
    made = create(domains=["medicine", "law"], languages=["en"], locale="US", referred_by="bob")
    assert made.new(now=T0).domains == ("medicine", "law")
    assert made.referred_by == "bob"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"contractor_id": ""}, "contractor_id"),
        ({"display_name": "x" * 201}, "display_name"),
        ({"domains": [f"d{i}" for i in range(33)]}, "domains"),
        ({"domains": ["medicine", ""]}, "domains[1]"),
        ({"domains": ["x" * 65]}, "domains[0]"),
        ({"languages": ["en", "en"]}, "languages[1]"),
        ({"languages": ["e\x00n"]}, "languages[0]"),
        ({"locale": "x" * 17}, "locale"),
        ({"max_concurrent_claims": 101}, "max_concurrent_claims"),
        ({"max_concurrent_claims": -1}, "max_concurrent_claims"),
        ({"referred_by": "ann"}, "referred_by"),
        ({"referred_by": "not an id"}, "referred_by"),
    ],
)
def test_a_malformed_profile_names_its_field(changes: dict[str, object], field: str) -> None:
    assert invalid(lambda: create(**changes)).field == field


def test_a_repeated_create_answers_only_when_every_field_matches() -> None:
    cmd = create(domains=["medicine"])
    ann = cmd.new(now=T0)
    assert ann.answers(cmd) is ann
    with pytest.raises(AlreadyExists) as caught:
        ann.answers(create(domains=["law"]))
    assert caught.value.reason == "CONTRACTOR_EXISTS"


def update(paths: list[str], **fields: object) -> contractors.UpdateContractor:
    given: dict[str, object] = {
        "contractor_id": "ann",
        "display_name": "",
        "domains": [],
        "languages": [],
        "locale": "",
        "max_concurrent_claims": 0,
        **fields,
    }
    return contractors.update_contractor(paths=paths, **given)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("paths", "fields", "field"),
    [
        ([], {}, "update_mask"),
        (["referred_by"], {}, "update_mask"),
        (["active"], {}, "update_mask"),
        (["display_name"], {}, "contractor.display_name"),
        (["max_concurrent_claims"], {}, "contractor.max_concurrent_claims"),
        (["domains"], {"domains": ["a", "a"]}, "contractor.domains[1]"),
        (["locale"], {"locale": "x" * 17}, "contractor.locale"),
        (["locale"], {"contractor_id": ""}, "contractor.contractor_id"),
    ],
)
def test_a_malformed_update_names_its_field(
    paths: list[str], fields: dict[str, object], field: str
) -> None:
    assert invalid(lambda: update(paths, **fields)).field == field


def test_an_update_changes_only_masked_fields_and_bumps_the_revision_once() -> None:
    ann = create(locale="US").new(now=T0)
    # Unmasked fields are neither checked nor applied (max_concurrent_claims=0 is not in the mask).
    cmd = update(["languages"], languages=["en"], display_name="x" * 999)
    later = T0 + timedelta(hours=1)
    changed = ann.updated(cmd, now=later)
    assert (changed.languages, changed.locale, changed.display_name) == (("en",), "US", "Ann")
    assert (changed.revision, changed.updated_at, changed.created_at) == (2, later, T0)
    assert changed.updated(cmd, now=later + timedelta(hours=1)) is changed


def test_deactivation_happens_once_and_bars_new_tokens() -> None:
    ann = create().new(now=T0)
    ann.check_active()
    later = T0 + timedelta(days=1)
    gone = ann.deactivated(now=later)
    assert (gone.active, gone.revision, gone.updated_at) == (False, 2, later)
    assert gone.deactivated(now=later + timedelta(days=1)) is gone
    with pytest.raises(FailedPrecondition) as caught:
        gone.check_active()
    assert caught.value.reason == "CONTRACTOR_INACTIVE"


@pytest.mark.parametrize(("reason", "field"), [("", "reason"), ("x" * 501, "reason")])
def test_a_deactivation_needs_a_reason(reason: str, field: str) -> None:
    call = lambda: contractors.deactivate_contractor(contractor_id="ann", reason=reason)  # noqa: E731
    assert invalid(call).field == field


# --- the matcher's qualifications ------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "kind", "description", "field"),
    [
        ("Derm", Kind.SCORE, "", "name"),
        ("derm", None, "", "kind"),
        ("derm", Kind.SCORE, "x" * 501, "description"),
    ],
)
def test_a_malformed_type_names_its_field(
    name: str, kind: Kind | None, description: str, field: str
) -> None:
    call = lambda: qualifications.define_qualification_type(  # noqa: E731
        name=name, kind=kind, description=description
    )
    assert invalid(call).field == field


def test_a_type_defined_again_must_keep_its_kind() -> None:
    cmd = qualifications.define_qualification_type(name="derm", kind=Kind.SCORE, description="")
    qtype = qualifications.QualificationType(
        name="derm", kind=Kind.SCORE, description="first", created_at=T0
    )
    assert qtype.answers(cmd) is qtype
    other = qualifications.define_qualification_type(name="derm", kind=Kind.STRING, description="")
    with pytest.raises(AlreadyExists):
        qtype.answers(other)


def grant_cmd(score: int | None) -> qualifications.GrantQualification:
    return qualifications.grant_qualification(
        contractor_id="ann", qualification="derm", score=score, text=None
    )


DERM = qualifications.QualificationType(name="derm", kind=Kind.SCORE, description="", created_at=T0)


def test_a_grant_records_granted_then_updated_and_nothing_for_the_same_value() -> None:
    held, entry = qualifications.granted(None, grant_cmd(80), qtype=DERM, now=T0)
    assert entry is not None and (entry.change, entry.value, entry.changed_at) == (
        Change.GRANTED,
        80,
        T0,
    )
    later = T0 + timedelta(hours=1)
    same, none = qualifications.granted(held, grant_cmd(80), qtype=DERM, now=later)
    assert (same, none) == (held, None)
    changed, entry = qualifications.granted(held, grant_cmd(90), qtype=DERM, now=later)
    assert entry is not None and entry.change is Change.UPDATED
    assert (changed.value, changed.granted_at, changed.updated_at) == (90, T0, later)


def test_a_grant_checks_its_value_against_the_type() -> None:
    err = invalid(lambda: qualifications.granted(None, grant_cmd(None), qtype=DERM, now=T0))
    assert err.field == "score"
    err = invalid(lambda: qualifications.granted(None, grant_cmd(101), qtype=DERM, now=T0))
    assert err.field == "score"


def test_a_revocation_records_nothing_when_nothing_is_held() -> None:
    cmd = qualifications.revoke_qualification(contractor_id="ann", qualification="derm", reason="")
    assert qualifications.revoked(None, cmd, now=T0) is None
    held, _ = qualifications.granted(None, grant_cmd(80), qtype=DERM, now=T0)
    entry = qualifications.revoked(held, cmd, now=T0 + timedelta(hours=1))
    assert entry is not None
    assert (entry.change, entry.value, entry.changed_at) == (
        Change.REVOKED,
        None,
        T0 + timedelta(hours=1),
    )


# --- blocks ----------------------------------------------------------------------------


def block_cmd(**changes: str) -> blocks.BlockContractor:
    fields = {"block_id": "b-1", "contractor_id": "ann", "project_id": "", "reason": "fraud"}
    return blocks.block_contractor(**{**fields, **changes})


def test_a_block_is_global_or_names_a_project_by_its_canonical_id() -> None:
    assert block_cmd().project_id is None
    project = uuid.uuid4()
    assert block_cmd(project_id=str(project).upper()).project_id == str(project)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"block_id": ""}, "block_id"),
        ({"block_id": "has space"}, "block_id"),
        ({"contractor_id": ""}, "contractor_id"),
        ({"project_id": "derm-ratings"}, "project_id"),
        ({"reason": ""}, "reason"),
        ({"reason": "x" * 501}, "reason"),
    ],
)
def test_a_malformed_block_names_its_field(changes: dict[str, str], field: str) -> None:
    assert invalid(lambda: block_cmd(**changes)).field == field


def test_a_block_answers_its_own_repeat_and_is_lifted_once() -> None:
    placed = blocks.Block.placed(block_cmd(), now=T0)
    assert placed.answers(block_cmd()) is placed
    with pytest.raises(DomainError) as caught:
        placed.answers(block_cmd(reason="other"))
    assert caught.value.reason == "BLOCK_EXISTS"
    lifted = placed.lifted(now=T0 + timedelta(hours=1))
    assert not lifted.in_force
    assert lifted.lifted(now=T0 + timedelta(hours=2)) is lifted
