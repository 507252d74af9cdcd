"""Listing a queue of things contractors file and clients or operators decide
(``crewctl appeals``, ``crewctl disputes``): who may ask for which page is the same for
both, so it is said once here; each command says only how its SDK reads a page."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from crewline.ctl.app import State
from crewline.ctl.errors import CtlError, ExitCode
from crewline.ctl.pages import Paging
from crewline.ctl.sanctions import NAME_THE_PROJECT, reader, refuse_for_contractor

if TYPE_CHECKING:
    from crewline.client import sync

P = TypeVar("P", bound=Mapping[str, Any])


def list_queue(
    state: State,
    paging: Paging,
    *,
    what: str,
    project_id: str,
    state_: str | None,
    own: Callable[[sync.Contractor, int, str], P],
    of_project: Callable[[sync.Client | sync.Operator, int, str], P],
    show: Callable[[P, bool], None],
) -> None:
    """Emit a page (or with --all every page) of ``what`` ("appeals", also the page's
    items key): a contractor's own through ``own(contractor, size, token)``, which takes
    no --project or --state; a client's (of the project it must name) or an operator's
    through ``of_project(caller, size, token)``. ``show(page, mine)`` prints it."""
    from crewline.client import sync

    with reader(state) as caller:
        mine = isinstance(caller, sync.Contractor)
        if mine:
            refuse_for_contractor(what, {"--project": project_id, "--state": state_})
        elif isinstance(caller, sync.Client) and not project_id:
            raise CtlError(NAME_THE_PROJECT.format(what=what), exit_code=ExitCode.USAGE)

        def read(size: int, token: str) -> P:
            if isinstance(caller, sync.Contractor):
                return own(caller, size, token)
            return of_project(caller, size, token)

        page = paging.read(read, what)
    state.emit(page, lambda shown: show(shown, mine))
