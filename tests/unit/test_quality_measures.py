"""Pure rules: quality measures as requirements (the kernel's ``qualifications``). A
measure is held per project; the newcomer rule lets the unmeasured into the project
that measures them, never into another one."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from crewline.errors import InvalidArgument
from crewline.protobuf import MEASURES, requirement_from_pb, requirement_to_pb
from crewline.qualifications import (
    ACCEPTANCE_RATE,
    GOLD_ACCURACY,
    Comparator,
    Kind,
    Requirement,
    grantable_name,
    measure_key,
    requirement,
    satisfied,
)
from crewline.v1 import quality_service_pb2

A = "0b0e7c0a-5d1c-4a43-9f57-3a9b8f1f0a01"  # the project measuring
B = "6f1e2b7d-8a34-4c0e-b1a5-2d3c4e5f6a7b"  # the project requiring
AT_LEAST_60 = Requirement(ACCEPTANCE_RATE, Comparator.GREATER_OR_EQUAL, (60,), A)


def invalid(call: Callable[[], object]) -> InvalidArgument:
    with pytest.raises(InvalidArgument) as caught:
        call()
    return caught.value


def test_a_measure_is_held_per_project() -> None:
    assert AT_LEAST_60.holds({measure_key(ACCEPTANCE_RATE, A): 75}, project_id=B)
    assert not AT_LEAST_60.holds({measure_key(ACCEPTANCE_RATE, A): 38}, project_id=B)
    # A score earned in another project, or a plain qualification of that name, is not it.
    assert not AT_LEAST_60.holds({measure_key(ACCEPTANCE_RATE, B): 90}, project_id=B)
    assert not AT_LEAST_60.holds({ACCEPTANCE_RATE: 90}, project_id=B)


def test_a_measure_in_another_project_must_be_held() -> None:
    assert not AT_LEAST_60.holds({}, project_id=B)
    assert not satisfied([AT_LEAST_60], {}, project_id=B)


@pytest.mark.parametrize("comparator", [Comparator.GREATER_OR_EQUAL, Comparator.LESS_THAN])
def test_a_newcomer_passes_a_measure_of_the_project_itself(comparator: Comparator) -> None:
    here = Requirement(ACCEPTANCE_RATE, comparator, (60,), A)
    assert here.holds({}, project_id=A)
    assert Requirement(ACCEPTANCE_RATE, comparator, (60,)).holds({}, project_id=A)  # "" is here
    # Once measured, the score decides.
    assert here.holds({measure_key(ACCEPTANCE_RATE, A): 75}, project_id=A) is (
        comparator is Comparator.GREATER_OR_EQUAL
    )
    # The rule is the measure's: a missing plain qualification still fails.
    assert not Requirement("derm", comparator, (60,)).holds({}, project_id=A)


def test_every_requirement_holds_in_the_project_evaluated() -> None:
    reqs = [
        Requirement(ACCEPTANCE_RATE, Comparator.GREATER_OR_EQUAL, (60,), B),
        AT_LEAST_60,
        Requirement("derm", Comparator.GREATER_OR_EQUAL, (70,)),
    ]
    held = {measure_key(ACCEPTANCE_RATE, A): 60, "derm": 70}
    assert satisfied(reqs, held, project_id=B)  # unmeasured in B, 60 in A
    assert not satisfied(reqs, {**held, measure_key(ACCEPTANCE_RATE, B): 59}, project_id=B)
    assert not satisfied(reqs, held, project_id=A)  # evaluated for A, B's measure is foreign


def test_json_keeps_the_project_only_when_set() -> None:
    stored = {"q": ACCEPTANCE_RATE, "c": "greater_or_equal", "v": [60], "p": A}
    assert AT_LEAST_60.to_json() == stored
    assert Requirement.from_json(AT_LEAST_60.to_json()) == AT_LEAST_60
    plain = Requirement("locale", Comparator.IN, ("US",))
    assert "p" not in plain.to_json()
    # What was stored before projects could be named reads back as it was.
    old = {"q": "derm", "c": "greater_or_equal", "v": [70]}
    assert Requirement.from_json(old) == Requirement("derm", Comparator.GREATER_OR_EQUAL, (70,))


def test_protobuf_carries_the_project() -> None:
    pb = requirement_to_pb(AT_LEAST_60)
    assert pb.project_id == A
    assert requirement_from_pb(pb) == AT_LEAST_60
    assert MEASURES[quality_service_pb2.SCORE_MEASURE_ACCEPTANCE_RATE] == ACCEPTANCE_RATE
    assert MEASURES[quality_service_pb2.SCORE_MEASURE_GOLD_ACCURACY] == GOLD_ACCURACY


@pytest.mark.parametrize("measure", [ACCEPTANCE_RATE, GOLD_ACCURACY])
def test_a_measure_validates_as_a_score_without_a_type(measure: str) -> None:
    req = requirement(
        qualification=measure,
        comparator=Comparator.GREATER_OR_EQUAL,
        scores=[70],
        strings=[],
        types={},
        field="requirements[0]",
        project_id=A,
    )
    assert req == Requirement(measure, Comparator.GREATER_OR_EQUAL, (70,), A)
    err = invalid(
        lambda: requirement(
            qualification=measure,
            comparator=Comparator.EQUAL,
            scores=[],
            strings=["US"],
            types={},
            field="requirements[0]",
        )
    )
    assert err.field == "requirements[0].strings"


def test_only_a_measure_names_a_project() -> None:
    err = invalid(
        lambda: requirement(
            qualification="derm",
            comparator=Comparator.EXISTS,
            scores=[],
            strings=[],
            types={"derm": Kind.SCORE},
            field="requirements[2]",
            project_id=A,
        )
    )
    assert err.field == "requirements[2].project_id"


def test_an_unknown_name_under_the_prefix_is_an_unknown_qualification() -> None:
    err = invalid(
        lambda: requirement(
            qualification="quality.speed",
            comparator=Comparator.EXISTS,
            scores=[],
            strings=[],
            types={},
            field="requirements[0]",
        )
    )
    assert (err.field, err.reason) == ("requirements[0].qualification", "UNKNOWN_QUALIFICATION")


@pytest.mark.parametrize("name", [ACCEPTANCE_RATE, GOLD_ACCURACY, "quality.anything"])
def test_measure_names_cannot_be_defined_or_granted(name: str) -> None:
    assert invalid(lambda: grantable_name(name, field="name")).field == "name"
    assert grantable_name("qualityx.derm", field="name") == "qualityx.derm"
