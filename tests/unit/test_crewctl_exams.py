"""crewctl's exams: what each command sends as each audience and reads back (durations
as crewctl takes them and as the wire carries them, an attempt's score unset until it
ends), a retake too soon saying when it may start, what is refused before any call, and
a qualification type defined for a client, against stand-in servers."""

from __future__ import annotations

from pathlib import Path

import pytest
from crewctl_golden.exam_cases import EXAM, FAILED, IN_PROGRESS, PASSED, RADIOLOGY
from crewctl_golden.harness import Crewctl
from grpc_standin import Echo, Refusal, StandIns

from crewline.ctl.errors import ExitCode

SET = ("exam", "set", "domain.dermatology", "--project", "p-1", "--questions", "10")


@pytest.fixture
def as_contractor(servers: StandIns, tmp_path: Path) -> Crewctl:
    return Crewctl(servers, caller="contractor", cwd=tmp_path)


def stored(request: dict[str, object]) -> dict[str, object]:
    return {"exam": {**request["exam"], "client_id": "acme-labs"}}  # type: ignore[dict-item]


def test_a_client_sets_an_exam_with_its_durations(as_client: Crewctl) -> None:
    got = as_client.json(
        *SET, "--pass-mark", "80", "--cooldown", "7d", "--time-limit", "90m",
        SetExam=Echo(stored),
    )  # fmt: skip
    assert as_client.requests("SetExam") == [
        {
            "exam": {
                "qualification": "domain.dermatology",
                "project_id": "p-1",
                "question_count": 10,
                "pass_mark": 80,
                "retake_cooldown": "604800s",
                "paid": True,
                "time_limit": "5400s",
            }
        }
    ]
    assert (got["retake_cooldown"], got["time_limit"], got["paid"]) == ("7d", "90m", True)
    assert got["client_id"] == "acme-labs"

    unpaid = as_client.json(
        *SET, "--pass-mark", "0", "--cooldown", "0", "--unpaid", SetExam=Echo(stored)
    )
    # no time limit: the service's own (1 day); a cooldown of 0 and a pass mark of 0 are
    # values, sent as they are
    [sent] = as_client.requests()
    assert sent["exam"]["retake_cooldown"] == "0s"
    assert "time_limit" not in sent["exam"] and "paid" not in sent["exam"]
    assert (unpaid["retake_cooldown"], unpaid["time_limit"], unpaid["paid"]) == ("0s", None, False)


def test_what_crewctl_cannot_send_sends_nothing(as_client: Crewctl) -> None:
    for flags in (
        ("--pass-mark", "80", "--cooldown", "a week"),
        ("--pass-mark", "80", "--cooldown", "7d", "--time-limit", "soon"),
        ("--pass-mark", "high", "--cooldown", "7d"),
        ("--cooldown", "7d"),  # no pass mark
    ):
        refused = as_client.run(*SET, *flags)
        assert refused.exit_code == ExitCode.USAGE, refused.stderr
        assert as_client.requests() == []


def test_the_quality_service_names_the_field_it_refuses(as_operator: Crewctl) -> None:
    refusal = Refusal(
        "INVALID_ARGUMENT",
        "exam.pass_mark: must be 0-100",
        "INVALID_FIELD",
        {"field": "exam.pass_mark"},
    )
    result = as_operator.run(*SET, "--pass-mark", "101", "--cooldown", "7d", SetExam=refusal)
    assert result.exit_code == ExitCode.REFUSED and "exam.pass_mark" in result.stderr
    assert as_operator.requests("SetExam")[0]["exam"]["pass_mark"] == 101
    assert as_operator.authorizations() == ["Bearer crwo_golden-operator"]


def test_a_contractor_cannot_set_an_exam_refused_before_any_call(as_contractor: Crewctl) -> None:
    refused = as_contractor.run(*SET, "--pass-mark", "80", "--cooldown", "7d")
    assert refused.exit_code == ExitCode.CREDENTIAL and "cannot set exams" in refused.stderr
    assert as_contractor.requests() == []


def test_anyone_reads_exams_and_an_exam(
    as_contractor: Crewctl, as_client: Crewctl, as_operator: Crewctl
) -> None:
    for caller in (as_contractor, as_client, as_operator):
        page = caller.json("exams", ListExams={"exams": [EXAM, RADIOLOGY]})
        assert [e["qualification"] for e in page["exams"]] == [
            "domain.dermatology",
            "domain.radiology",
        ]
        assert page["exams"][1]["time_limit"] is None
        found = caller.json("exam", "get", "domain.radiology", GetExam={"exam": RADIOLOGY})
        assert (found["retake_cooldown"], found["paid"]) == ("0s", False)
        assert caller.requests() == [{"qualification": "domain.radiology"}]
    gone = as_client.run("exam", "get", "x", GetExam=Refusal("NOT_FOUND", "no exam grants x"))
    assert gone.exit_code == ExitCode.NOT_FOUND


def test_a_contractor_starts_an_exam_and_sees_its_questions(as_contractor: Crewctl) -> None:
    started = as_contractor.json(
        "exam", "start", "domain.dermatology", StartExam={"attempt": IN_PROGRESS}
    )
    assert as_contractor.requests() == [{"qualification": "domain.dermatology"}]
    assert (started["state"], started["score"]) == ("in_progress", None)
    assert started["task_ids"] == IN_PROGRESS["task_ids"]
    shown = as_contractor.run(
        "exam", "start", "domain.dermatology", StartExam={"attempt": IN_PROGRESS}
    )
    assert shown.exit_code == 0, shown.stderr
    for task_id in IN_PROGRESS["task_ids"]:
        assert shown.stdout.count(task_id) == 2  # in the attempt, and as a question
    assert f"Questions, until {IN_PROGRESS['ends_by']}" in shown.stdout


def test_a_retake_too_soon_says_when_it_may_start(as_contractor: Crewctl) -> None:
    cooldown = Refusal(
        "FAILED_PRECONDITION",
        "qualification: retake after 2026-01-09T03:04:05Z",
        "EXAM_COOLDOWN",
        {"retake_after": "2026-01-09T03:04:05+00:00"},
    )
    result = as_contractor.run("exam", "start", "domain.dermatology", StartExam=cooldown)
    assert result.exit_code == ExitCode.REFUSED
    assert (
        "You may take it again from 2026-01-09T03:04:05Z: crewctl exam start domain.dermatology"
        in result.stderr
    )
    assert "retake cooldown" in result.stderr  # the reason's hint
    # A time between whole seconds shows the next one: a retake then is not too soon.
    precise = Refusal(
        "FAILED_PRECONDITION", "retake later", "EXAM_COOLDOWN",
        {"retake_after": "2026-01-09T03:04:05.250000Z"},
    )  # fmt: skip
    result = as_contractor.run("exam", "start", "domain.dermatology", StartExam=precise)
    assert "You may take it again from 2026-01-09T03:04:06Z" in result.stderr
    # Without the time in the refusal's metadata, crewctl invents none.
    bare = Refusal("FAILED_PRECONDITION", "retake later", "EXAM_COOLDOWN")
    result = as_contractor.run("exam", "start", "domain.dermatology", StartExam=bare)
    assert result.exit_code == ExitCode.REFUSED and "You may take it again" not in result.stderr


def test_only_a_contractor_starts_an_exam(as_client: Crewctl) -> None:
    refused = as_client.run("exam", "start", "domain.dermatology")
    assert refused.exit_code == ExitCode.CREDENTIAL and "exam start" in refused.stderr
    assert as_client.requests() == []


def test_a_contractors_attempts_are_their_own_at_any_exam_or_one(as_contractor: Crewctl) -> None:
    mine = {"attempts": [IN_PROGRESS, PASSED, FAILED]}
    page = as_contractor.json("exam", "attempts", ListMyExamAttempts=mine)
    assert [a["state"] for a in page["attempts"]] == ["in_progress", "passed", "failed"]
    assert [a["score"] for a in page["attempts"]] == [None, 100, 0]
    assert as_contractor.requests() == [{}]
    one = as_contractor.json("exam", "attempts", "domain.radiology", ListMyExamAttempts=mine)
    assert [a["attempt_id"] for a in one["attempts"]] == [FAILED["attempt_id"]]
    refused = as_contractor.run("exam", "attempts", "--contractor", "dr-kim")
    assert refused.exit_code == ExitCode.USAGE and "its own exam attempts" in refused.stderr
    assert as_contractor.requests() == []


def test_a_client_and_an_operator_read_the_attempts_at_one_exam(
    as_client: Crewctl, as_operator: Crewctl
) -> None:
    refused = as_client.run("exam", "attempts")
    assert refused.exit_code == ExitCode.USAGE and "QUALIFICATION" in refused.stderr
    page = as_client.json(
        "exam", "attempts", "domain.dermatology", "--contractor", "dr-lee",
        ListExamAttempts={"attempts": [PASSED]},
    )  # fmt: skip
    assert page["attempts"][0]["contractor_id"] == "dr-lee"
    assert as_client.requests() == [
        {"qualification": "domain.dermatology", "contractor_id": "dr-lee"}
    ]
    every = as_operator.json(
        "exam", "attempts", "domain.dermatology", "--all",
        ListExamAttempts=[{"attempts": [IN_PROGRESS], "next_page_token": "a2"},
                          {"attempts": [PASSED]}],
    )  # fmt: skip
    assert len(every["attempts"]) == 2 and every["next_page_token"] == ""
    assert as_operator.requests() == [
        {"qualification": "domain.dermatology"},
        {"qualification": "domain.dermatology", "page_token": "a2"},
    ]


def test_an_operator_defines_a_qualification_type_for_a_client(as_operator: Crewctl) -> None:
    defined = Echo(lambda request: {"qualification_type": request})
    got = as_operator.json(
        "qualification", "type", "define", "acme.triage", "--kind", "score",
        "--client", "acme-labs",
        DefineQualificationType=defined,
    )  # fmt: skip
    assert as_operator.requests() == [
        {"name": "acme.triage", "kind": "QUALIFICATION_KIND_SCORE", "client_id": "acme-labs"}
    ]
    assert got["client_id"] == "acme-labs"
    platform = as_operator.json(
        "qualification", "type", "define", "domain.x", "--kind", "score",
        DefineQualificationType=defined,
    )  # fmt: skip
    assert platform["client_id"] is None
    assert as_operator.requests() == [{"name": "domain.x", "kind": "QUALIFICATION_KIND_SCORE"}]
