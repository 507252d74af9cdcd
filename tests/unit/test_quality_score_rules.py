"""The quality service's pure rules: the smoothed acceptance rate over the last N
reviews, its rounding, who may read which scores, and its settings."""

from __future__ import annotations

from datetime import UTC, datetime
from fractions import Fraction

import pytest

from crewline.auth.principal import OPERATOR, Kind, Principal
from crewline.errors import InvalidArgument, NotFound
from crewline.paging import encode_token
from crewline.settings import SettingsError
from quality.domain.queries import After, contractor_scores, my_scores
from quality.domain.reviews import ReviewedBy, ReviewOutcome
from quality.domain.scores import Measure, Tally, acceptance_tally, percent, smoothed
from quality.settings import QualitySettings

ANN = Principal(Kind.CONTRACTOR, "ann")
ACME = Principal(Kind.CLIENT, "acme")


@pytest.mark.parametrize(
    ("accepted", "reviewed", "value"),
    [
        (0, 0, 50),  # the prior alone (never stored: no review, no score)
        (1, 1, 75),  # one acceptance is not 100
        (0, 1, 25),  # one rejection is not 0
        (1, 2, 50),  # round(100 * (0.5 + 1) / (1 + 2))
        (10, 10, 95),  # 100 * 10.5 / 11 = 95.45
        (0, 10, 5),  # 100 * 0.5 / 11 = 4.55
        (7, 10, 68),  # 100 * 7.5 / 11 = 68.18
        (0, 3, 13),  # 12.5 exactly: half up (round() would say 12)
        (1, 3, 38),  # 37.5 exactly: half up (round() would say 38 too)
        (2, 3, 63),  # 62.5 exactly
    ],
)
def test_the_acceptance_rate_is_smoothed_and_rounded_half_up(
    accepted: int, reviewed: int, value: int
) -> None:
    assert Tally(accepted=accepted, reviewed=reviewed, window=10).value == value


def test_smoothing_is_exact_toloka_with_k_one_half() -> None:
    assert smoothed(1, 2) == Fraction(1, 2)
    assert smoothed(3, 4) == Fraction(7, 10)
    assert smoothed(0, 0, k=Fraction(1)) == Fraction(1, 2)
    assert percent(Fraction(1, 200)) == 1  # 0.5 up
    assert percent(Fraction(1, 201)) == 0
    with pytest.raises(ValueError):
        smoothed(3, 2)


def test_only_the_last_n_reviews_count() -> None:
    # Newest first: the three newest were rejections, seven older acceptances.
    latest = [False] * 3 + [True] * 7
    assert acceptance_tally(latest, window=10) == Tally(accepted=7, reviewed=10, window=10)
    assert acceptance_tally(latest, window=3) == Tally(accepted=0, reviewed=3, window=3)
    assert acceptance_tally(latest, window=5) == Tally(accepted=2, reviewed=5, window=5)
    # Fewer reviews than the window: all of them.
    assert acceptance_tally([True, False], window=10) == Tally(accepted=1, reviewed=2, window=10)
    with pytest.raises(ValueError):
        acceptance_tally(latest, window=0)


def _outcome(**fields: object) -> ReviewOutcome:
    base: dict[str, object] = {
        "submission_id": "s1",
        "task_id": "t1",
        "contractor_id": "ann",
        "client_id": "acme",
        "project_id": "p1",
        "accepted": True,
        "reviewed_by": ReviewedBy.CLIENT,
        "reviewed_at": datetime(2026, 1, 1, tzinfo=UTC),
    }
    return ReviewOutcome(**{**base, **fields})  # type: ignore[arg-type]


def test_an_override_is_an_acceptance_of_its_own_kind() -> None:
    assert _outcome().kind == "accepted"
    assert _outcome(accepted=False).kind == "rejected"
    override = _outcome(reviewed_by=ReviewedBy.OVERRIDE)
    assert override.overrides and override.kind == "overridden"


@pytest.mark.parametrize("field", ["submission_id", "contractor_id", "client_id", "project_id"])
def test_an_event_with_a_bad_id_is_refused_naming_the_field(field: str) -> None:
    with pytest.raises(InvalidArgument) as empty:
        _outcome(**{field: ""})
    assert empty.value.field == field
    with pytest.raises(InvalidArgument) as bad:
        _outcome(**{field: "no spaces"})
    assert bad.value.field == field


def test_a_contractor_reads_their_own_scores_only() -> None:
    query = my_scores(ANN, project_id="p1", page_size=5)
    assert (query.contractor_id, query.client_id, query.project_id, query.limit) == (
        "ann",
        None,
        "p1",
        5,
    )
    with pytest.raises(NotFound):
        my_scores(ACME)
    assert contractor_scores(ANN, "ann").contractor_id == "ann"
    with pytest.raises(NotFound):
        contractor_scores(ANN, "bob")


def test_a_client_reads_scores_in_its_own_projects_an_operator_in_any() -> None:
    assert contractor_scores(ACME, "ann").client_id == "acme"
    assert contractor_scores(OPERATOR, "ann").client_id is None
    assert contractor_scores(ACME, "ann", project_id="p2").project_id == "p2"


@pytest.mark.parametrize(
    ("args", "field"),
    [
        ({"contractor_id": ""}, "contractor_id"),
        ({"contractor_id": "a b"}, "contractor_id"),
        ({"project_id": "p 1"}, "project_id"),
        ({"page_size": 501}, "page_size"),
        ({"page_size": -1}, "page_size"),
        ({"page_token": "not a token"}, "page_token"),
    ],
)
def test_every_bad_query_field_is_named(args: dict[str, object], field: str) -> None:
    fields: dict[str, object] = {"contractor_id": "ann", **args}
    contractor_id = str(fields.pop("contractor_id"))
    with pytest.raises(InvalidArgument) as err:
        contractor_scores(OPERATOR, contractor_id, **fields)  # type: ignore[arg-type]
    assert err.value.field == field


def test_a_page_token_round_trips_and_a_forged_one_is_refused() -> None:
    after = After(project_id="p1", measure=Measure.ACCEPTANCE_RATE)
    assert After.from_token(after.token()) == after
    query = contractor_scores(OPERATOR, "ann", page_token=after.token())
    assert query.after == after
    for forged in (encode_token("p1", "speed"), encode_token("p 1", "acceptance_rate")):
        with pytest.raises(InvalidArgument) as err:
            After.from_token(forged)
        assert err.value.field == "page_token"


def test_settings_the_window_and_its_bounds() -> None:
    assert QualitySettings.from_env({}).score_window == 10
    settings = QualitySettings.from_env({"CREWLINE_QUALITY_SCORE_WINDOW": "25"})
    assert settings.score_window == 25
    assert (settings.service.grpc_port, settings.service.metrics_port) == (50054, 9104)
    assert settings.service.postgres.database == "crewline_quality"
    for bad in ("0", "1001"):
        with pytest.raises(SettingsError, match="CREWLINE_QUALITY_SCORE_WINDOW"):
            QualitySettings.from_env({"CREWLINE_QUALITY_SCORE_WINDOW": bad})
