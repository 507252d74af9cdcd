"""Time flags on work as the dispatcher stores it (the rules: ``domain/time_flags.py``).

Assessed before the submission is written, in the same transaction, so that flagged
work is stored flagged and without an auto-accept time, and no clock is ever armed
for it: nothing can accept it but its client. Then SubmissionFlagged goes through the
outbox in that transaction.
"""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from crewline.pay_terms import Basis
from crewline.protobuf import from_timestamp
from crewline.v1 import events_pb2
from dispatcher.adapters import review_pb
from dispatcher.adapters import time_flags as repo
from dispatcher.deps import Deps
from dispatcher.domain.review import Submission
from dispatcher.domain.time_flags import Interval, TimeFlag, fast_flag, overlap_flag


def tracked(event: events_pb2.WorkSubmitted, sub: Submission) -> list[Interval]:
    """Hourly work's tracked segments (the matcher checked them: each within the claim's
    life, none overlapping another). Time tracked on other terms is paid by no clock
    and is not compared."""
    if sub.pay_terms is None or sub.pay_terms.basis is not Basis.HOURLY:
        return []
    return [(from_timestamp(s.started_at), from_timestamp(s.ended_at)) for s in event.segments]


async def assess(
    conn: asyncpg.Connection, sub: Submission, segments: Sequence[Interval]
) -> list[TimeFlag]:
    """The flags of work about to be stored: FAST against its project's recent timed
    submissions, IMPLAUSIBLE_TIME against the contractor's other tracked hourly claims."""
    flags: list[TimeFlag] = []
    if sub.worked_seconds > 0:
        samples = await repo.recent_times(conn, sub.project_id, besides=sub.submission_id)
        if (fast := fast_flag(sub.worked_seconds, samples)) is not None:
            flags.append(fast)
    if segments:
        others = await repo.others_tracked(
            conn, sub.contractor_id, segments, besides=sub.submission_id
        )
        if (twice := overlap_flag(sub.worked_seconds, segments, others)) is not None:
            flags.append(twice)
    return flags


async def record(
    conn: asyncpg.Connection, sub: Submission, segments: Sequence[Interval], deps: Deps
) -> None:
    """Once the submission is stored (new): its tracked segments kept for the claims
    that come after it, and its flags announced."""
    if segments:
        await repo.insert_tracked(conn, sub.submission_id, sub.contractor_id, segments)
    if sub.flags:
        event = review_pb.submission_flagged(sub, at=deps.clock.now())
        await deps.publisher.publish(conn, event)
