"""What a corrected gold key changes, judged: which answers it scores otherwise, and
whether a sanction still holds over its own evidence scored so. Pure: no I/O."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from quality.domain.gold_keys import Key, correct
from quality.domain.sanctions import Sanction
from quality.domain.scores import acceptance_tally


def rescored(key: Key, answers: Iterable[tuple[str, str | None, bool]]) -> dict[str, bool]:
    """The answers (claim id, the answer as sent, correct before) that ``key`` scores
    otherwise: claim id -> correct now. An answer not kept (None: scored before answers
    were kept) cannot be scored again and stays as it was."""
    return {
        claim: now
        for claim, answer, before in answers
        if answer is not None and (now := correct(key, answer.encode())) != before
    }


def overturned(sanction: Sanction, verdicts: Mapping[str, bool]) -> bool:
    """Whether a sanction no longer holds once its gold evidence is scored as
    ``verdicts`` has it (claim id -> correct; an item not in it keeps its own verdict):
    its rule's measure recounted over its own evidence, smoothed as the score is."""
    gold = [e for e in sanction.evidence if e.kind == "gold"]
    if not gold:
        return False
    latest = [verdicts.get(e.submission_id, bool(e.correct)) for e in gold]
    value = acceptance_tally(latest, window=len(latest)).value
    return not sanction.rule.holds(value)
