"""Suggestions for a refused name: the closest names the caller may list."""

from __future__ import annotations

import difflib
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from crewline.client.errors import CrewlineError
    from crewline.ctl.app import State

# How the services refuse an unknown qualification type (reason UNKNOWN_QUALIFICATION).
_UNKNOWN_QUALIFICATION = re.compile(r"names no qualification type: '([^']+)'")


def closest_qualifications(failure: CrewlineError, state: State) -> str | None:
    """For an unknown qualification type refused to an operator, a hint naming the
    closest types (``difflib``), read with the operator credential; None when the refusal
    is another, or the types cannot be read."""
    from crewline.client.errors import CrewlineError
    from crewline.ctl.errors import CtlError

    if failure.reason != "UNKNOWN_QUALIFICATION":
        return None
    asked = _UNKNOWN_QUALIFICATION.search(failure.message or "")
    if asked is None:
        return None
    try:
        with state.operator() as operator:
            names = [t.name for t in operator.qualification_types()]
    except (CrewlineError, CtlError):
        return None
    close = difflib.get_close_matches(asked.group(1), names, n=3)
    listed = "`crewctl qualification type list` lists them all"
    if not close:
        return f"no qualification type has a name like it; {listed}"
    return f"did you mean {' or '.join(close)}? {listed}"
