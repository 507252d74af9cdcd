"""The SDK for code without asyncio: the same ``Client``, ``Contractor`` and ``Operator``,
each call run on one background event loop thread shared by every object.

    from crewline.client.sync import Contractor

    with Contractor() as me:
        for offer in me.offers():
            claim = me.claim(offer.task_id)

Lists and streams are plain iterators; ``close()`` on one (or leaving a ``for`` loop
early and dropping it) ends its call.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from concurrent.futures import Future
from types import TracebackType
from typing import Any, Concatenate, Generic, ParamSpec, Self, TypeVar

from crewline.client import client as aio_client
from crewline.client import contractor as aio_contractor
from crewline.client import operator as aio_operator
from crewline.client.base import Base, LedgerReads

P = ParamSpec("P")
R = TypeVar("R")
T = TypeVar("T")
A = TypeVar("A", bound=Base)
A_co = TypeVar("A_co", bound=Base, covariant=True)


class _Loop:
    """One event loop on a daemon thread, started on first use."""

    _lock = threading.Lock()
    _loop: asyncio.AbstractEventLoop | None = None

    @classmethod
    def get(cls) -> asyncio.AbstractEventLoop:
        with cls._lock:
            if cls._loop is None:
                loop = asyncio.new_event_loop()
                threading.Thread(
                    target=loop.run_forever, name="crewline-sdk-loop", daemon=True
                ).start()
                cls._loop = loop
            return cls._loop


def run(coro: Coroutine[Any, Any, R]) -> R:
    """``coro``'s result, run on the SDK's loop thread (from any other thread)."""
    future: Future[R] = asyncio.run_coroutine_threadsafe(coro, _Loop.get())
    return future.result()


class SyncIterator(Generic[T]):
    """An async iterator driven from a plain thread, one item per round trip."""

    def __init__(self, source: AsyncIterator[T]) -> None:
        self._source = source
        self._done = False
        self._taking: asyncio.Task[T] | None = None  # the item being waited for

    @property
    def source(self) -> AsyncIterator[T]:
        """The async iterator underneath, e.g. a ``WatchStream`` for its ``cursor``."""
        return self._source

    def __iter__(self) -> Iterator[T]:
        return self

    def __next__(self) -> T:
        if self._done:
            raise StopIteration
        try:
            return run(self._take())
        except StopAsyncIteration:
            self._done = True
            raise StopIteration from None

    async def _take(self) -> T:
        self._taking = asyncio.current_task()
        return await anext(self._source)

    async def _end(self) -> None:
        # A wait cut short in the calling thread (Ctrl-C) goes on in the loop: it is
        # cancelled first, as an async iterator cannot be closed while it runs.
        if self._taking is not None and not self._taking.done():
            self._taking.cancel()
            await asyncio.wait([self._taking])
        closer = getattr(self._source, "aclose", None)
        if closer is not None:
            await closer()

    def close(self) -> None:
        """Ends the iteration and its call, also while an item is being waited for."""
        if not self._done:
            self._done = True
            run(self._end())

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        if not self._done and _Loop._loop is not None and _Loop._loop.is_running():
            asyncio.run_coroutine_threadsafe(self._end(), _Loop._loop)


def _call(
    method: Callable[Concatenate[A, P], Coroutine[Any, Any, R]],
) -> Callable[Concatenate[_Sync[A], P], R]:
    """A blocking method from an async one."""

    def blocking(self: _Sync[A], /, *args: P.args, **kwargs: P.kwargs) -> R:
        return run(method(self.aio, *args, **kwargs))

    blocking.__doc__ = method.__doc__
    blocking.__name__ = method.__name__
    return blocking


def _iterate(
    method: Callable[Concatenate[A, P], AsyncIterator[T]],
) -> Callable[Concatenate[_Sync[A], P], SyncIterator[T]]:
    """A method returning a plain iterator from one returning an async iterator."""

    def iterate(self: _Sync[A], /, *args: P.args, **kwargs: P.kwargs) -> SyncIterator[T]:
        async def make() -> AsyncIterator[T]:  # built on the loop: it may open a call
            return method(self.aio, *args, **kwargs)

        return SyncIterator(run(make()))

    iterate.__doc__ = method.__doc__
    iterate.__name__ = method.__name__
    return iterate


class _Sync(Generic[A_co]):
    """The blocking face of an async SDK object (``aio``), closed by ``close``/``with``."""

    def __init__(self, make: Callable[[], A_co]) -> None:
        async def build() -> A_co:  # its channels belong to the loop thread
            return make()

        self._aio = run(build())

    @property
    def aio(self) -> A_co:
        """The async object underneath (its calls must run on the SDK's loop)."""
        return self._aio

    def close(self) -> None:
        run(self.aio.close())

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class _LedgerReads(_Sync[A_co]):
    balance = _call(LedgerReads.balance)
    statement_page = _call(LedgerReads.statement_page)
    statement = _iterate(LedgerReads.statement)


class Client(_LedgerReads[aio_client.Client]):
    """``crewline.client.Client``, blocking; the same arguments."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(lambda: aio_client.Client(**kwargs))

    _A = aio_client.Client
    create_project = _call(_A.create_project)
    get_project = _call(_A.get_project)
    list_projects_page = _call(_A.list_projects_page)
    projects = _iterate(_A.projects)
    update_project = _call(_A.update_project)
    pause_project = _call(_A.pause_project)
    resume_project = _call(_A.resume_project)
    close_project = _call(_A.close_project)
    submit_tasks = _call(_A.submit_tasks)
    submit_task = _call(_A.submit_task)
    get_task = _call(_A.get_task)
    list_tasks_page = _call(_A.list_tasks_page)
    tasks = _iterate(_A.tasks)
    cancel_task = _call(_A.cancel_task)
    add_slots = _call(_A.add_slots)
    update_task_lifetime = _call(_A.update_task_lifetime)
    watch = _iterate(_A.watch)
    list_submissions_page = _call(_A.list_submissions_page)
    submissions = _iterate(_A.submissions)
    get_submission = _call(_A.get_submission)
    accept = _call(_A.accept)
    reject = _call(_A.reject)
    grant_bonus = _call(_A.grant_bonus)
    contractor_scores_page = _call(_A.contractor_scores_page)
    contractor_scores = _iterate(_A.contractor_scores)
    add_gold_tasks = _call(_A.add_gold_tasks)
    list_gold_tasks_page = _call(_A.list_gold_tasks_page)
    gold_tasks = _iterate(_A.gold_tasks)
    quality_policy = _call(_A.quality_policy)
    set_quality_policy = _call(_A.set_quality_policy)
    list_sanctions_page = _call(_A.list_sanctions_page)
    sanctions = _iterate(_A.sanctions)
    list_appeals_page = _call(_A.list_appeals_page)
    appeals = _iterate(_A.appeals)
    decide_appeal = _call(_A.decide_appeal)
    list_disputes_page = _call(_A.list_disputes_page)
    disputes = _iterate(_A.disputes)
    resolve_dispute = _call(_A.resolve_dispute)
    exam = _call(_A.exam)
    list_exams_page = _call(_A.list_exams_page)
    exams = _iterate(_A.exams)
    set_exam = _call(_A.set_exam)
    list_exam_attempts_page = _call(_A.list_exam_attempts_page)
    exam_attempts = _iterate(_A.exam_attempts)


class Contractor(_LedgerReads[aio_contractor.Contractor]):
    """``crewline.client.Contractor``, blocking; the same arguments."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(lambda: aio_contractor.Contractor(**kwargs))

    _A = aio_contractor.Contractor
    stream_offers = _iterate(_A.stream_offers)
    list_offers_page = _call(_A.list_offers_page)
    offers = _iterate(_A.offers)
    claim = _call(_A.claim)
    heartbeat = _call(_A.heartbeat)
    release = _call(_A.release)
    submit = _call(_A.submit)
    get_claim = _call(_A.get_claim)
    list_claims_page = _call(_A.list_claims_page)
    claims = _iterate(_A.claims)
    earnings = _call(_A.earnings)
    my_scores_page = _call(_A.my_scores_page)
    my_scores = _iterate(_A.my_scores)
    my_sanctions_page = _call(_A.my_sanctions_page)
    my_sanctions = _iterate(_A.my_sanctions)
    file_appeal = _call(_A.file_appeal)
    my_appeals_page = _call(_A.my_appeals_page)
    my_appeals = _iterate(_A.my_appeals)
    dispute_gold_key = _call(_A.dispute_gold_key)
    my_disputes_page = _call(_A.my_disputes_page)
    my_disputes = _iterate(_A.my_disputes)
    exam = _call(_A.exam)
    list_exams_page = _call(_A.list_exams_page)
    exams = _iterate(_A.exams)
    start_exam = _call(_A.start_exam)
    my_exam_attempts_page = _call(_A.my_exam_attempts_page)
    my_exam_attempts = _iterate(_A.my_exam_attempts)


class Operator(_LedgerReads[aio_operator.Operator]):
    """``crewline.client.Operator``, blocking; the same arguments."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(lambda: aio_operator.Operator(**kwargs))

    _A = aio_operator.Operator
    create_client = _call(_A.create_client)
    create_api_key = _call(_A.create_api_key)
    api_keys = _call(_A.api_keys)
    revoke_api_key = _call(_A.revoke_api_key)
    create_contractor = _call(_A.create_contractor)
    get_contractor = _call(_A.get_contractor)
    update_contractor = _call(_A.update_contractor)
    deactivate_contractor = _call(_A.deactivate_contractor)
    issue_token = _call(_A.issue_token)
    revoke_token = _call(_A.revoke_token)
    define_qualification_type = _call(_A.define_qualification_type)
    qualification_types = _call(_A.qualification_types)
    grant_qualification = _call(_A.grant_qualification)
    revoke_qualification = _call(_A.revoke_qualification)
    qualifications = _call(_A.qualifications)
    block = _call(_A.block)
    lift_block = _call(_A.lift_block)
    blocks = _call(_A.blocks)
    earnings = _call(_A.earnings)
    verify_books = _call(_A.verify_books)
    run_payout_batch = _call(_A.run_payout_batch)
    get_payout_batch = _call(_A.get_payout_batch)
    dead_letters_page = _call(_A.dead_letters_page)
    dead_letters = _iterate(_A.dead_letters)
    replay_dead_letter = _call(_A.replay_dead_letter)
    dead_lettered_deadlines_page = _call(_A.dead_lettered_deadlines_page)
    dead_lettered_deadlines = _iterate(_A.dead_lettered_deadlines)
    rearm_deadline = _call(_A.rearm_deadline)
    health = _call(_A.health)
    health_all = _call(_A.health_all)
    health_report = _call(_A.health_report)
    list_contractors_page = _call(_A.list_contractors_page)
    contractors = _iterate(_A.contractors)
    list_clients_page = _call(_A.list_clients_page)
    clients = _iterate(_A.clients)
    list_bonuses_page = _call(_A.list_bonuses_page)
    bonuses = _iterate(_A.bonuses)
    preview_payout_batch = _call(_A.preview_payout_batch)
    list_payout_batches_page = _call(_A.list_payout_batches_page)
    payout_batches = _iterate(_A.payout_batches)
    contractor_scores_page = _call(_A.contractor_scores_page)
    contractor_scores = _iterate(_A.contractor_scores)
    list_sanctions_page = _call(_A.list_sanctions_page)
    sanctions = _iterate(_A.sanctions)
    list_appeals_page = _call(_A.list_appeals_page)
    appeals = _iterate(_A.appeals)
    decide_appeal = _call(_A.decide_appeal)
    list_disputes_page = _call(_A.list_disputes_page)
    disputes = _iterate(_A.disputes)
    exam = _call(_A.exam)
    list_exams_page = _call(_A.list_exams_page)
    exams = _iterate(_A.exams)
    set_exam = _call(_A.set_exam)
    list_exam_attempts_page = _call(_A.list_exam_attempts_page)
    exam_attempts = _iterate(_A.exam_attempts)
