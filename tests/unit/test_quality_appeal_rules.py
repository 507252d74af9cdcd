"""Appeals' pure rules in the quality service: what FileAppeal and DecideAppeal check
before anything is read (each refusal naming its field), the appeal window and the
decision deadline, idempotency keys, decisions and their states, who may list which
appeals, page tokens, the protobuf mapping, and the two settings' bounds."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from crewline.auth.principal import OPERATOR, Kind, Principal
from crewline.errors import FailedPrecondition, InvalidArgument, NotFound
from crewline.settings import SettingsError
from crewline.v1 import quality_service_pb2 as api
from quality.adapters import appeals_pb
from quality.domain import appeals
from quality.domain.appeals import (
    ALREADY_DECIDED,
    WINDOW_CLOSED,
    Appeal,
    AppealState,
    Decider,
    Subject,
    SubjectKind,
    Target,
)
from quality.settings import QualitySettings

ANN = Principal(Kind.CONTRACTOR, "ann")
BOB = Principal(Kind.CONTRACTOR, "bob")
ACME = Principal(Kind.CLIENT, "acme")
T0 = datetime(2026, 3, 1, 9, tzinfo=UTC)
WEEK = 7 * 86_400
NINE_DAYS = 9 * 86_400
SANCTION = str(uuid.UUID(int=7))
TARGET = Target(project_id="p1", client_id="acme", since=T0)


def filed(
    *, key: str = "k1", submission: str | None = "s1", text: str = "I followed the guide"
) -> appeals.FileAppeal:
    return appeals.file_appeal(
        ANN,
        idempotency_key=key,
        sanction_id=None if submission else SANCTION,
        submission_id=submission,
        text=text,
    )


def pending(at: datetime = T0) -> Appeal:
    return filed().file(TARGET, now=at, window=WEEK, decision=NINE_DAYS)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"idempotency_key": ""}, "idempotency_key"),
        ({"idempotency_key": "a b"}, "idempotency_key"),
        ({"idempotency_key": "k" * 129}, "idempotency_key"),
        ({"sanction_id": None, "submission_id": None}, "subject"),
        ({"sanction_id": "not-a-uuid", "submission_id": None}, "sanction_id"),
        ({"submission_id": ""}, "submission_id"),
        ({"submission_id": "s/1"}, "submission_id"),
        ({"text": ""}, "text"),
        ({"text": "   \n"}, "text"),
        ({"text": "x" * 2001}, "text"),
        ({"text": "a\x00b"}, "text"),
    ],
)
def test_a_malformed_filing_is_refused_naming_its_field(kwargs: dict[str, str], field: str) -> None:
    request: dict[str, str | None] = {
        "idempotency_key": "k1",
        "sanction_id": None,
        "submission_id": "s1",
        "text": "I followed the guide",
    }
    request.update(kwargs)
    with pytest.raises(InvalidArgument) as err:
        appeals.file_appeal(ANN, **request)  # type: ignore[arg-type]
    assert err.value.field == field


def test_a_filing_takes_its_text_up_to_two_thousand_characters_and_names_its_subject() -> None:
    cmd = filed(text="x" * 2000)
    assert cmd.subject == Subject(SubjectKind.SUBMISSION, "s1")
    assert cmd.subject.field == "submission_id"
    sanction = filed(submission=None).subject
    assert (sanction.kind, sanction.id, sanction.field) == (
        SubjectKind.SANCTION,
        SANCTION,
        "sanction_id",
    )


def test_the_appeal_id_is_the_contractors_key_so_the_same_key_names_the_same_appeal() -> None:
    assert filed().appeal_id == filed(text="other").appeal_id
    assert filed().appeal_id != filed(key="k2").appeal_id
    other = appeals.file_appeal(
        BOB, idempotency_key="k1", sanction_id=None, submission_id="s1", text="x"
    )
    assert other.appeal_id != filed().appeal_id


def test_a_key_used_again_returns_its_appeal_only_for_the_same_subject_and_text() -> None:
    earlier = pending()
    assert filed().repeats(earlier) is earlier
    for different in (filed(text="something else"), filed(submission="s2")):
        with pytest.raises(InvalidArgument) as err:
            different.repeats(earlier)
        assert err.value.field == "idempotency_key"


def test_an_appeal_may_be_filed_until_the_window_closes_and_is_decided_by_its_deadline() -> None:
    last = T0 + timedelta(seconds=WEEK)
    appeal = filed().file(TARGET, now=last, window=WEEK, decision=NINE_DAYS)
    assert appeal.state is AppealState.PENDING
    assert (appeal.filed_at, appeal.decide_by) == (last, last + timedelta(seconds=NINE_DAYS))
    assert (appeal.project_id, appeal.client_id, appeal.contractor_id) == ("p1", "acme", "ann")
    assert (appeal.decided_at, appeal.decided_by, appeal.accepted_submission_ids) == (
        None,
        None,
        (),
    )


def test_after_the_window_a_filing_is_refused_naming_when_it_closed() -> None:
    late = T0 + timedelta(seconds=WEEK, microseconds=1)
    with pytest.raises(FailedPrecondition) as err:
        filed().file(TARGET, now=late, window=WEEK, decision=NINE_DAYS)
    assert err.value.reason == WINDOW_CLOSED
    assert "2026-03-08T09:00:00Z" in err.value.message
    assert err.value.message.startswith("submission_id:")
    assert err.value.metadata["closed_at"] == "2026-03-08T09:00:00Z"


def test_an_appeal_is_decided_once_and_the_same_decision_again_changes_nothing() -> None:
    now = T0 + timedelta(days=1)
    upheld = pending().decide(
        uphold=True, by=Decider.CLIENT, note="fair", now=now, accepted_submission_ids=("s1",)
    )
    assert upheld is not None
    assert (upheld.state, upheld.decided_by, upheld.decided_at, upheld.decision_note) == (
        AppealState.UPHELD,
        Decider.CLIENT,
        now,
        "fair",
    )
    assert upheld.accepted_submission_ids == ("s1",)
    assert upheld.decide(uphold=True, by=Decider.OPERATOR, note="", now=now) is None
    with pytest.raises(FailedPrecondition) as err:
        upheld.decide(uphold=False, by=Decider.CLIENT, note="", now=now)
    assert err.value.reason == ALREADY_DECIDED

    denied = pending().decide(
        uphold=False, by=Decider.OPERATOR, note="", now=now, accepted_submission_ids=("s1",)
    )
    assert denied is not None
    assert (denied.state, denied.accepted_submission_ids) == (AppealState.DENIED, ())
    assert denied.decide(uphold=False, by=Decider.CLIENT, note="x", now=now) is None
    with pytest.raises(FailedPrecondition):
        denied.decide(uphold=True, by=Decider.DEADLINE, note="", now=now)


def test_clients_and_operators_decide_contractors_cannot_and_a_note_is_bounded() -> None:
    some = str(uuid.uuid4())
    cmd = appeals.decide_appeal(ACME, appeal_id=some, uphold=True, note="")
    assert (cmd.client_id, cmd.by) == ("acme", Decider.CLIENT)
    cmd = appeals.decide_appeal(OPERATOR, appeal_id=some, uphold=False, note="n" * 2000)
    assert (cmd.client_id, cmd.by, cmd.uphold) == (None, Decider.OPERATOR, False)
    with pytest.raises(NotFound):
        appeals.decide_appeal(ANN, appeal_id=some, uphold=True, note="")
    for appeal_id, note, field in (("x", "", "appeal_id"), (some, "n" * 2001, "note")):
        with pytest.raises(InvalidArgument) as err:
            appeals.decide_appeal(ACME, appeal_id=appeal_id, uphold=True, note=note)
        assert err.value.field == field


def test_who_lists_which_appeals() -> None:
    mine = appeals.my_appeals(ANN)
    assert (mine.contractor_id, mine.limit, mine.queue) == ("ann", 20, False)
    with pytest.raises(NotFound):
        appeals.my_appeals(ACME)
    queue = appeals.appeals(ACME, project_id="p1", state=AppealState.PENDING, page_size=100)
    assert (queue.client_id, queue.project_id, queue.state, queue.limit, queue.queue) == (
        "acme",
        "p1",
        AppealState.PENDING,
        100,
        True,
    )
    anyone = appeals.appeals(OPERATOR)
    assert (anyone.client_id, anyone.project_id) == (None, None)
    with pytest.raises(InvalidArgument) as err:
        appeals.appeals(ACME)
    assert err.value.field == "project_id"
    with pytest.raises(NotFound):
        appeals.appeals(ANN, project_id="p1")
    with pytest.raises(InvalidArgument) as err:
        appeals.my_appeals(ANN, page_size=101)
    assert err.value.field == "page_size"


def test_a_page_token_holds_the_queue_rank_and_seq_and_a_foreign_one_is_refused() -> None:
    appeal = Appeal(**{**pending().__dict__, "seq": 41})
    token = appeals.page_token(appeal)
    assert appeals.my_appeals(ANN, page_token=token).after == (0, 41)
    assert appeals.page_token(None) == ""
    for bad in ("nope", appeals.page_token(appeal)[:-2], "Mnw0MQ=="):  # "2|41"
        with pytest.raises(InvalidArgument) as err:
            appeals.my_appeals(ANN, page_token=bad)
        assert err.value.field == "page_token"


def test_an_appeal_maps_to_protobuf_with_its_subject_and_decision() -> None:
    appeal = pending()
    pb = appeals_pb.appeal_to_pb(appeal)
    assert (pb.WhichOneof("subject"), pb.submission_id, pb.state) == (
        "submission_id",
        "s1",
        api.APPEAL_STATE_PENDING,
    )
    assert not pb.HasField("decided_at") and pb.decided_by == api.APPEAL_DECIDER_UNSPECIFIED
    upheld = appeal.decide(
        uphold=True, by=Decider.DEADLINE, note="", now=T0, accepted_submission_ids=("s1",)
    )
    assert upheld is not None
    pb = appeals_pb.appeal_changed(upheld).appeal
    assert (pb.state, pb.decided_by, list(pb.accepted_submission_ids)) == (
        api.APPEAL_STATE_UPHELD,
        api.APPEAL_DECIDER_DEADLINE,
        ["s1"],
    )
    request = api.FileAppealRequest(idempotency_key="k", sanction_id=SANCTION, text="t")
    assert appeals_pb.file_appeal(request, ANN).subject.kind is SubjectKind.SANCTION
    assert appeals_pb.state_filter(api.APPEAL_STATE_UNSPECIFIED) is None
    assert appeals_pb.state_filter(api.APPEAL_STATE_DENIED) is AppealState.DENIED
    with pytest.raises(InvalidArgument) as err:
        appeals_pb.state_filter(9)
    assert err.value.field == "state"


def test_the_appeal_settings_default_to_seven_and_nine_days_and_take_one_second() -> None:
    settings = QualitySettings.from_env({})
    assert (settings.appeal_window_seconds, settings.appeal_decision_seconds) == (604800, 777600)
    short = QualitySettings.from_env(
        {
            "CREWLINE_QUALITY_APPEAL_WINDOW_SECONDS": "1",
            "CREWLINE_QUALITY_APPEAL_DECISION_SECONDS": "1",
        }
    )
    assert (short.appeal_window_seconds, short.appeal_decision_seconds) == (1, 1)
    for name in (
        "CREWLINE_QUALITY_APPEAL_WINDOW_SECONDS",
        "CREWLINE_QUALITY_APPEAL_DECISION_SECONDS",
    ):
        for bad in ("0", "-5", str(366 * 86_400), "soon"):
            with pytest.raises(SettingsError, match=name):
                QualitySettings.from_env({name: bad})
