"""What the dispatcher does with the quality service's gold tasks: each is published as
a task of its project, the way a client's SubmitTasks publishes one, but reserved for
the one contractor it was issued to. The matcher offers it to them alone; it ends when
their claim on it ends (``Task.ended_with_claim_of``, in ``claims``). An exam's question
(``domain/exams``) lives until its attempt ends and is noted as the question it is, so
its work is accepted when handed in (``claims.on_work_submitted``). Gold whose key holds
text or rubric fields (``needs_review``), an exam's question too, is noted so that its
work waits for the client's review, whose verdict judges those fields."""

from __future__ import annotations

import asyncpg

from crewline.consumer import EventContext
from crewline.errors import FailedPrecondition, NotFound
from crewline.log import bind_contextvars, get_logger
from crewline.v1 import events_pb2
from dispatcher.adapters import exam_questions, review_holds
from dispatcher.adapters import protobuf as pb
from dispatcher.deps import Deps
from dispatcher.handlers import tasks

log = get_logger(__name__)


async def on_gold_issued(
    conn: asyncpg.Connection, event: events_pb2.GoldIssued, ctx: EventContext, *, deps: Deps
) -> None:
    """Publish the gold task with the id it was given, in its project, with the project's
    slots, priority and lifetime (an exam's question: until its attempt ends), reserved
    for its contractor: TaskPublished through the outbox, in the consumer's transaction.
    A redelivery finds the task and changes nothing. A project unknown, of another
    client, or closed takes no gold task: that is logged and skipped, not dead-lettered
    (a project closed while the event was on its way is a race, not a fault). A paused
    one takes it, as it takes any task; the matcher offers it once the project resumes.
    A malformed event is refused naming its field."""
    cmd, question = pb.gold_task_command(event)
    bind_contextvars(task_id=event.task_id, project_id=event.project_id)
    try:
        [task] = await tasks.publish_tasks(conn, cmd, deps)
    except (NotFound, FailedPrecondition) as refused:
        # Both are raised before anything is written: the transaction goes on, unharmed.
        log.warning("gold_task_skipped", reason=refused.reason, client_id=event.client_id)
        return
    if question is not None:
        await exam_questions.insert(conn, question)
    if event.needs_review:
        await review_holds.hold(conn, task.task_id)
    log.info(
        "gold_task_published",
        contractor_id=task.reserved_for,
        slots=task.slots,
        exam_attempt_id=question.attempt_id if question else None,
        needs_review=event.needs_review,
    )
