"""The state every command shares: the global options, and how to reach the services.

Settings are resolved only when a command needs them, so ``--help`` and shell
completion never read files or fail on a missing credential.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import click

from crewline.ctl import audiences, config
from crewline.ctl.errors import (
    CALLER_HINT,
    CLIENT_KEY_HINT,
    CONTRACTOR_TOKEN_HINT,
    CtlError,
    ExitCode,
)
from crewline.ctl.errors import (
    CREDENTIAL_HINT as OPERATOR_HINT,
)
from crewline.ctl.output import print_json

if TYPE_CHECKING:
    from crewline.client import sync
    from crewline.client.config import Endpoints
    from crewline.client.streams import Reconnect
    from crewline.client.tls import ClientTls

T = TypeVar("T")
# ctx.meta key: which credential a refused call was made with, to say which to check.
CREDENTIAL_HINT = "crewctl.credential_hint"
# ctx.meta key: which credential the command calls with, and where it was found.
CREDENTIAL_USED = "crewctl.credential_used"

# Each builds an SDK client for the resolved endpoints and credential.
OperatorFactory = Callable[["Endpoints", "str | None"], "sync.Operator"]
ClientFactory = Callable[["Endpoints", str, "Reconnect | None"], "sync.Client"]
ContractorFactory = Callable[["Endpoints", str], "sync.Contractor"]


def _os_environ() -> Mapping[str, str]:
    return os.environ


# The SDK (and gRPC) is imported only in these, so --help and completion stay quick.
# crewctl resolves every setting itself: the SDK is given no environment to read.


def sdk_operator(endpoints: Endpoints, credential: str | None) -> sync.Operator:
    """The SDK's Operator; without a credential it calls without one (health)."""
    from crewline.client import sync

    return sync.Operator(
        credential=credential, endpoints=endpoints, env={}, credential_required=False
    )


def sdk_client(endpoints: Endpoints, credential: str, reconnect: Reconnect | None) -> sync.Client:
    """The SDK's Client, for a client's API key."""
    from crewline.client import sync

    return sync.Client(credential=credential, endpoints=endpoints, env={}, reconnect=reconnect)


def sdk_contractor(endpoints: Endpoints, credential: str) -> sync.Contractor:
    """The SDK's Contractor, for a contractor's token."""
    from crewline.client import sync

    return sync.Contractor(credential=credential, endpoints=endpoints, env={})


@dataclass(frozen=True)
class Wiring:
    """What crewctl takes from the outside world; tests pass their own."""

    env: Mapping[str, str] = field(default_factory=_os_environ)
    cwd: Path = field(default_factory=Path.cwd)
    home: Path = field(default_factory=Path.home)
    operator: OperatorFactory = sdk_operator
    client: ClientFactory = sdk_client
    contractor: ContractorFactory = sdk_contractor


@dataclass(frozen=True, kw_only=True)
class Options:
    """The global options, as given (``None``: not given)."""

    config: str | None = None
    dispatcher: str | None = None
    matcher: str | None = None
    ledger: str | None = None
    quality: str | None = None
    credential: str | None = None
    json: bool = False


@dataclass(frozen=True)
class State:
    options: Options
    wiring: Wiring

    def _config(self) -> config.ConfigFile:
        try:
            return config.load_config(self.options.config, self.wiring.env, self.wiring.home)
        except config.ConfigError as err:
            raise CtlError(str(err), exit_code=ExitCode.USAGE) from None

    def _endpoints(self, found: config.ConfigFile) -> Endpoints:
        from crewline.client.config import Endpoints

        flags = {s: getattr(self.options, s) for s in config.SERVICES}
        try:
            addresses = config.resolve_addresses(flags, self.wiring.env, found)
        except config.ConfigError as err:
            raise CtlError(str(err), exit_code=ExitCode.USAGE) from None
        return Endpoints(
            dispatcher=addresses.dispatcher,
            matcher=addresses.matcher,
            ledger=addresses.ledger,
            quality=addresses.quality,
            tls=self.client_tls(),
        )

    def client_tls(self) -> ClientTls | None:
        """TLS for every channel, from $CREWLINE_TLS_CA_FILE (and _CERT_FILE, _KEY_FILE for
        mutual TLS); None (plaintext) when unset. A bad setting is a usage error."""
        from crewline.client.tls import ClientTls, TlsConfigError  # imports gRPC: only when calling

        try:
            tls = ClientTls.from_env(self.wiring.env)
            if tls is not None:
                tls.credentials()  # reads the files now: one that cannot be read is named here
        except TlsConfigError as err:
            raise CtlError(str(err), exit_code=ExitCode.USAGE) from None
        return tls

    def credential(self, found: config.ConfigFile) -> str:
        """The operator credential, or a CtlError (exit code 3) saying where it looked, or
        that what was given is another audience's credential."""
        flag = self.options.credential
        if flag and (why := audiences.not_for_operator(flag, self.wiring.env)):
            raise CtlError(why, exit_code=ExitCode.CREDENTIAL, hint=OPERATOR_HINT)
        try:
            secret, source = config.find_credential(flag, self.wiring.env, found, self.wiring.cwd)
        except config.CredentialError as err:
            why = audiences.not_for_operator(None, self.wiring.env)
            message = f"{why}; {err}" if why else str(err)
            raise CtlError(message, exit_code=ExitCode.CREDENTIAL) from None
        _say_used(f"as the operator, with the credential from {source}")
        return secret

    def operator(self, *, credential_required: bool = True) -> sync.Operator:
        """The SDK's Operator for the resolved endpoints and operator credential.

        Without ``credential_required`` (health checks) a missing credential means
        calling without one.
        """
        found = self._config()
        endpoints = self._endpoints(found)
        try:
            credential: str | None = self.credential(found)
        except CtlError:
            if credential_required:
                raise
            credential = None
        return self.wiring.operator(endpoints, credential)

    def _caller(
        self,
        resolve: Callable[[str | None, Mapping[str, str]], str],
        hint: str,
        audience: str,
    ) -> tuple[Endpoints, str]:
        """Endpoints and the caller's own credential (a client's key, a contractor's token):
        another audience's, or only the operator credential, is refused plainly."""
        found = self._config()
        endpoints = self._endpoints(found)
        ctx = click.get_current_context(silent=True)
        if ctx is not None:
            ctx.meta[CREDENTIAL_HINT] = hint
        try:
            secret = resolve(self.options.credential, self.wiring.env)
        except config.CredentialError as err:
            try:
                self.credential(found)
            except CtlError:
                raise CtlError(str(err), exit_code=ExitCode.CREDENTIAL) from None
            message = f"{audiences.only_operator(audience)}; {err}"
            raise CtlError(message, exit_code=ExitCode.CREDENTIAL) from None
        source = "--credential" if self.options.credential else f"${config.CLIENT_CREDENTIAL_ENV}"
        if why := audiences.not_for_caller(audience, secret, source):
            raise CtlError(why, exit_code=ExitCode.CREDENTIAL, hint=hint)
        _say_used(f"with {audiences.own(audience)} from {source}")
        return endpoints, secret

    def client(self, *, reconnect: Reconnect | None = None) -> sync.Client:
        """The SDK's Client, with the client's API key (--credential, $CREWLINE_CREDENTIAL);
        ``reconnect``: how its streams reconnect (the SDK's default when None)."""
        endpoints, credential = self._caller(
            config.resolve_client_credential, CLIENT_KEY_HINT, audiences.CLIENT
        )
        return self.wiring.client(endpoints, credential, reconnect)

    def contractor(self) -> sync.Contractor:
        """The SDK's Contractor, with the contractor's token (--credential,
        $CREWLINE_CREDENTIAL)."""
        return self.wiring.contractor(
            *self._caller(
                config.resolve_contractor_credential, CONTRACTOR_TOKEN_HINT, audiences.CONTRACTOR
            )
        )

    def ledger(self, *, someone_else: bool = False) -> sync.Operator | sync.Contractor:
        """The ledger's reads as whoever the credential is: --credential, else
        $CREWLINE_CREDENTIAL (a client's API key or a contractor's token: the ledger tells
        them apart, the SDK's Contractor carries the call; the operator credential: the
        SDK's Operator), else the operator credential. ``someone_else`` (an account or
        contractor was named, which only an operator may read): the operator credential
        when one is found, even if $CREWLINE_CREDENTIAL is set too."""
        found = self._config()
        endpoints = self._endpoints(found)
        if someone_else and not self.options.credential:
            try:
                return self.wiring.operator(endpoints, self.credential(found))
            except CtlError:
                pass  # no operator credential: the caller's own, which the ledger judges
        try:
            own = config.resolve_contractor_credential(self.options.credential, self.wiring.env)
        except config.CredentialError:
            own = None
        if own and audiences.kind(own) != audiences.OPERATOR:
            ctx = click.get_current_context(silent=True)
            if ctx is not None:  # else the operator credential's hint, the default
                ctx.meta[CREDENTIAL_HINT] = CALLER_HINT
            source = "--credential" if self.options.credential else "$CREWLINE_CREDENTIAL"
            _say_used(f"with the credential from {source}")
            return self.wiring.contractor(endpoints, own)
        return self.wiring.operator(endpoints, self.credential(found))

    def scorer(self, *, contractor_named: bool) -> sync.Contractor | sync.Client | sync.Operator:
        """Scores as whoever the credential is: --credential, else $CREWLINE_CREDENTIAL, else
        the operator credential. A contractor's token reads its own scores, so names no
        contractor; a client's API key (its own projects') and the operator credential
        (all) read the contractor named. When one is named and $CREWLINE_CREDENTIAL holds
        a contractor's token, the operator credential, as for someone else's earnings."""
        own = (
            self.options.credential or self.wiring.env.get(config.CLIENT_CREDENTIAL_ENV, "")
        ).strip()
        who = audiences.kind(own) if own else None
        if not contractor_named:
            if who in (audiences.CLIENT, audiences.OPERATOR) or (not own and self._has_operator()):
                raise CtlError(audiences.NAME_THE_CONTRACTOR, exit_code=ExitCode.USAGE)
            return self.contractor()
        if who == audiences.CONTRACTOR and self.options.credential:
            raise CtlError(audiences.OWN_SCORES_ONLY, exit_code=ExitCode.CREDENTIAL)
        if own and who != audiences.CONTRACTOR and who != audiences.OPERATOR:
            return self.client()  # a client's key, or of no known form: the server judges
        try:
            return self.operator()
        except CtlError as err:
            mine = who == audiences.CONTRACTOR  # a contractor's token, and no operator credential
            why = audiences.OWN_SCORES_ONLY if mine else f"{audiences.NAMED_SCORES}; {err.message}"
            raise CtlError(why, exit_code=ExitCode.CREDENTIAL) from None

    def _has_operator(self) -> bool:
        try:
            config.find_credential(None, self.wiring.env, self._config(), self.wiring.cwd)
        except config.CredentialError:
            return False
        return True

    def emit(self, data: T, render: Callable[[T], None]) -> None:
        """``data`` as JSON with ``--json``, else through ``render``."""
        if self.options.json:
            print_json(data)
        else:
            render(data)


def _say_used(credential: str) -> None:
    """Remember which credential the command calls with, for the line of a refusal."""
    ctx = click.get_current_context(silent=True)
    if ctx is not None:
        ctx.meta[CREDENTIAL_USED] = credential


pass_state = click.make_pass_decorator(State)


def example(*lines: str) -> str:
    """An epilog showing example command lines, kept as written by Click's formatter."""
    return "\b\nExample:\n" + "\n".join(f"  {line}" for line in lines)
