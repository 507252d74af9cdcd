"""Which audience a credential belongs to, told by its form, so that a command given
another audience's credential is refused plainly before any call (exit code 3)."""

from __future__ import annotations

from collections.abc import Mapping

from crewline.ctl.config import CLIENT_CREDENTIAL_ENV, OPERATOR_PREFIX

OPERATOR = "the operator credential"
CLIENT = "a client's API key"
CONTRACTOR = "a contractor's token"
# What each audience's commands take, and the commands.
_TAKES = {
    CLIENT: (
        "a client's command (project, task, watch, submission, gold, quality, dispute"
        " resolve): it takes a client's API key"
    ),
    CONTRACTOR: (
        "a contractor's command (offers, claim, appeal file, dispute file, exam start): it"
        " takes a contractor's token"
    ),
}

# What ``crewctl scores`` says when the credential and --contractor do not go together.
NAME_THE_CONTRACTOR = (
    "a client or an operator reads one contractor's scores: name them with --contractor"
    " (a contractor's own scores take their token)"
)
OWN_SCORES_ONLY = (
    "a contractor's token reads only its own scores: leave out --contractor (a client's"
    " API key or the operator credential reads another contractor's)"
)
NAMED_SCORES = (
    "scores --contractor takes a client's API key (--credential, $CREWLINE_CREDENTIAL) or"
    " the operator credential"
)


def kind(secret: str) -> str | None:
    """The kind of ``secret`` by its form (``crwo_...``, ``crwk_..._...``, a JWT), if known."""
    if secret.startswith(OPERATOR_PREFIX):
        return OPERATOR
    if secret.startswith("crwk_"):
        return CLIENT
    if secret.count(".") == 2:
        return CONTRACTOR
    return None


def not_for_operator(flag: str | None, env: Mapping[str, str]) -> str | None:
    """Why an operator's command cannot use ``--credential`` (another audience's), or, when
    no operator credential was found, what was found instead; None when neither applies."""
    if flag and flag.strip():
        given = kind(flag.strip())
        if given in (CLIENT, CONTRACTOR):
            return f"this is an operator's command, and --credential holds {given}"
        return None
    own = env.get(CLIENT_CREDENTIAL_ENV, "").strip()
    if not own or kind(own) == OPERATOR:  # the operator's, which operators' commands take
        return None
    found = kind(own) or "a client's API key or a contractor's token"
    return (
        "this is an operator's command: it takes the operator credential, and only"
        f" {found} was found (in ${CLIENT_CREDENTIAL_ENV})"
    )


def not_for_caller(audience: str, secret: str, source: str) -> str | None:
    """Why ``secret`` (from ``source``) cannot make a call of ``audience`` (CLIENT or
    CONTRACTOR), when it plainly is another audience's; else None."""
    given = kind(secret)
    if given is None or given == audience:
        return None
    return f"this is {_TAKES[audience]}, and {source} holds {given}"


def only_operator(audience: str) -> str:
    """The caller's credential is missing, and the operator credential was found."""
    return f"this is {_TAKES[audience]}, and only the operator credential was found"


def own(audience: str) -> str:
    """How a refusal's line names the caller's credential: ``the client key``."""
    return "the client key" if audience == CLIENT else "the contractor token"
