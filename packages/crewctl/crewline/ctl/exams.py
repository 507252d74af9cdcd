"""``crewctl exams`` and ``crewctl exam set|get|start|attempts``: the exams that grant
SCORE qualification types, on the quality service. Anyone reads exams; an operator, or
the client a qualification type names, sets one and reads the attempts at it (the
operator credential, the client's API key); a contractor takes one and reads their own
attempts (their token). Who is calling is told as for ``crewctl sanctions``
(``crewline.ctl.sanctions.reader``); ``exam start`` is a contractor's alone."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import click

from crewline.ctl.app import State, example, pass_state
from crewline.ctl.errors import CtlError, ExitCode, refusal
from crewline.ctl.output import note, print_record, print_rows
from crewline.ctl.pages import Paging, paging_options, print_more
from crewline.ctl.params import Duration
from crewline.ctl.records.exams import (
    AttemptPage,
    AttemptRecord,
    ExamPage,
    ExamRecord,
    attempt_page,
    attempt_record,
    exam_page,
    exam_record,
)
from crewline.ctl.sanctions import reader

_PROJECT = "6f1c2a4e-8b1d-4f7e-9a51-3d2b7c9e0f12"
_QUALIFICATION = "domain.dermatology"
_EXAM_COLUMNS = (
    *("qualification", "project_id", "question_count", "pass_mark"),
    *("retake_cooldown", "time_limit", "paid"),
)
_ATTEMPT_COLUMNS = (
    *("attempt_id", "qualification", "state", "answered", "score"),
    *("started_at", "ends_by", "retake_after"),
)
NOT_A_CONTRACTORS = (
    "a contractor cannot set exams: exam set takes the API key of the client the"
    " qualification type names, or the operator credential"
)
OWN_ATTEMPTS_ONLY = (
    "a contractor's token reads only its own exam attempts: leave out --contractor (a"
    " client's API key or the operator credential reads anyone's)"
)
NAME_THE_EXAM = (
    "a client or an operator reads the attempts at one exam: name its QUALIFICATION"
    " (a contractor's token reads its own attempts at any)"
)
_COOLDOWN = "EXAM_COOLDOWN"


def print_exams(page: ExamPage) -> None:
    print_rows("Exams", list(page["exams"]), _EXAM_COLUMNS)
    print_more(page)


def print_exam(exam: ExamRecord) -> None:
    print_record("Exam", exam)


def print_attempts(page: AttemptPage, mine: bool) -> None:
    columns: tuple[str, ...] = _ATTEMPT_COLUMNS
    if not mine:  # whose, after which
        columns = (columns[0], "contractor_id", *columns[1:])
    rows: list[dict[str, Any]] = [dict(a) for a in page["attempts"]]
    print_rows("Your exam attempts" if mine else "Exam attempts", rows, columns)
    print_more(page)


def print_attempt(attempt: AttemptRecord) -> None:
    shown: dict[str, object] = dict(attempt)
    shown["task_ids"] = ", ".join(attempt["task_ids"]) or None
    print_record("Exam attempt", shown)
    if attempt["state"] == "in_progress" and attempt["task_ids"]:
        print_rows(
            f"Questions, until {attempt['ends_by']}",
            [{"task_id": t} for t in attempt["task_ids"]],
            ("task_id",),
        )


@click.command("exams", epilog=example("crewctl exams", "crewctl --json exams --all"))
@paging_options(most=100, server_default=None)
@pass_state
def exams(state: State, paging: Paging) -> None:
    """Every exam, by the qualification it grants, without its questions (anyone)."""
    with reader(state) as caller:
        page = paging.read(
            lambda size, token: exam_page(caller.list_exams_page(page_size=size, page_token=token)),
            "exams",
        )
    state.emit(page, print_exams)


@click.group(
    "exam",
    epilog=example(
        f"crewctl exam set {_QUALIFICATION} --project {_PROJECT} --questions 10"
        " --pass-mark 80 --cooldown 7d",
        f"crewctl exam start {_QUALIFICATION}",
    ),
)
def exam() -> None:
    """Exams that grant SCORE qualification types: set one (the client the type names,
    or an operator), read one, take one (a contractor), read the attempts."""


@exam.command(
    "set",
    epilog=example(
        f"crewctl exam set {_QUALIFICATION} --project {_PROJECT} --questions 10"
        " --pass-mark 80 --cooldown 7d",
        f"crewctl exam set {_QUALIFICATION} --project {_PROJECT} --questions 5"
        " --pass-mark 60 --cooldown 0 --time-limit 2h --unpaid",
    ),
)
@click.argument("qualification")
@click.option(
    "--project",
    "project_id",
    required=True,
    help="The project whose gold tasks are the questions (and whose pay terms pay them).",
)
@click.option("--questions", type=int, required=True, help="Questions per attempt: 1-100.")
@click.option(
    "--pass-mark", type=int, required=True, help="The score (0-100) an attempt passes at."
)
@click.option(
    "--cooldown",
    type=Duration(),
    required=True,
    help="After an attempt ends, before the next may start: 0 to 365d (90m, 12h, 7d).",
)
@click.option(
    "--time-limit",
    type=Duration(),
    help="How long an attempt may take: 1m to 7d; default: the service's, 1d.",
)
@click.option("--unpaid", is_flag=True, help="Pay nothing for the questions' work.")
@pass_state
def set_(
    state: State,
    qualification: str,
    project_id: str,
    questions: int,
    pass_mark: int,
    cooldown: int,
    time_limit: int | None,
    unpaid: bool,
) -> None:
    """Attach (or replace) the exam that grants the SCORE qualification type
    QUALIFICATION: a client, for a type an operator defined for it (`qualification type
    define --client`), or an operator, for any. Passing grants the qualification with
    the score (0-100) as its value. Attempts in progress keep the exam they started
    under. Ranges and the project's gold are the quality service's to check."""
    from crewline.client import sync

    with reader(state) as caller:
        if isinstance(caller, sync.Contractor):
            raise CtlError(NOT_A_CONTRACTORS, exit_code=ExitCode.CREDENTIAL)
        done = caller.set_exam(
            qualification,
            project_id,
            questions,
            pass_mark,
            timedelta(seconds=cooldown),
            not unpaid,
            time_limit=None if time_limit is None else timedelta(seconds=time_limit),
        )
    state.emit(exam_record(done.raw), print_exam)


@exam.command("get", epilog=example(f"crewctl exam get {_QUALIFICATION}"))
@click.argument("qualification")
@pass_state
def get(state: State, qualification: str) -> None:
    """The exam that grants QUALIFICATION, without its questions (anyone)."""
    with reader(state) as caller:
        found = caller.exam(qualification)
    state.emit(exam_record(found.raw), print_exam)


@exam.command("start", epilog=example(f"crewctl exam start {_QUALIFICATION}"))
@click.argument("qualification")
@pass_state
def start(state: State, qualification: str) -> None:
    """Take the exam that grants QUALIFICATION (a contractor). Its questions are tasks
    reserved for you: claim and submit each as any task before the attempt ends; it is
    scored when every one is answered, or when it ends with the rest wrong. While an
    attempt is in progress this shows it again. A retake before the cooldown ends is
    refused, saying when it may start."""
    try:
        with state.contractor() as contractor:
            started = contractor.start_exam(qualification)
    except Exception as error:
        failure = refusal(error)
        if failure is not None and failure.reason == _COOLDOWN and failure.retake_after:
            note(f"You may take it again from {_second_after(failure.retake_after)}:"
                 f" crewctl exam start {qualification}")  # fmt: skip
        raise
    state.emit(attempt_record(started.raw), print_attempt)


def _second_after(at: datetime) -> str:
    """``at`` to the whole second, rounded up: a retake at the time shown is not too soon."""
    whole = at.replace(microsecond=0)
    return (whole if whole == at else whole + timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ")


@exam.command(
    "attempts",
    epilog=example(
        "crewctl exam attempts",
        f"crewctl exam attempts {_QUALIFICATION} --contractor dr-lee",
        f"crewctl --json exam attempts {_QUALIFICATION} --all",
    ),
)
@click.argument("qualification", required=False, default="")
@click.option("--contractor", "contractor_id", default="", help="Only this contractor's.")
@paging_options(most=100, server_default=None)
@pass_state
def attempts(state: State, qualification: str, contractor_id: str, paging: Paging) -> None:
    """Exam attempts, newest first: a contractor's own (QUALIFICATION: only those at
    that exam, on the page read); the client's or an operator's at the exam that grants
    QUALIFICATION (--contractor: one contractor's)."""
    from crewline.client import sync

    with reader(state) as caller:
        mine = isinstance(caller, sync.Contractor)
        if mine and contractor_id:
            raise CtlError(OWN_ATTEMPTS_ONLY, exit_code=ExitCode.USAGE)
        if not mine and not qualification:
            raise CtlError(NAME_THE_EXAM, exit_code=ExitCode.USAGE)

        def read(size: int, token: str) -> AttemptPage:
            if isinstance(caller, sync.Contractor):
                page = attempt_page(caller.my_exam_attempts_page(page_size=size, page_token=token))
                if qualification:
                    kept = [a for a in page["attempts"] if a["qualification"] == qualification]
                    page = {**page, "attempts": kept}
                return page
            found = caller.list_exam_attempts_page(
                qualification, contractor_id=contractor_id or None, page_size=size, page_token=token
            )
            return attempt_page(found)

        page = paging.read(read, "attempts")
    state.emit(page, lambda shown: print_attempts(shown, mine))
