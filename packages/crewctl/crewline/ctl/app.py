"""The state every command shares: the global options, and how to reach the services.

Settings are resolved only when a command needs them, so ``--help`` and shell
completion never read files or fail on a missing credential.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import click

from crewline.ctl import config
from crewline.ctl.api import Admin, AdminFactory
from crewline.ctl.claim_api import Claims, ClaimsFactory
from crewline.ctl.errors import (
    CALLER_HINT,
    CLIENT_KEY_HINT,
    CONTRACTOR_TOKEN_HINT,
    CtlError,
    ExitCode,
)
from crewline.ctl.ledger_api import Ledger, LedgerFactory
from crewline.ctl.output import print_json
from crewline.ctl.project_api import Projects, ProjectsFactory
from crewline.ctl.submission_api import Submissions, SubmissionsFactory
from crewline.ctl.task_api import Tasks, TasksFactory

if TYPE_CHECKING:
    from crewline.client.tls import ClientTls

T = TypeVar("T")
# ctx.meta key: which credential a refused call was made with, to say which to check.
CREDENTIAL_HINT = "crewctl.credential_hint"


def _os_environ() -> Mapping[str, str]:
    return os.environ


def grpc_admin(addresses: config.Addresses, credential: str | None) -> Admin:
    """The real Admin. gRPC is imported only here, so --help and completion stay quick."""
    from crewline.ctl.rpc import GrpcAdmin

    return GrpcAdmin(addresses, credential)


def grpc_projects(addresses: config.Addresses, credential: str) -> Projects:
    """The real Projects, for a client's API key; gRPC imported only here."""
    from crewline.ctl.project_rpc import GrpcProjects

    return GrpcProjects(addresses, credential)


def grpc_tasks(addresses: config.Addresses, credential: str) -> Tasks:
    """The real Tasks, for a client's API key; gRPC imported only here."""
    from crewline.ctl.task_rpc import GrpcTasks

    return GrpcTasks.connect(addresses, credential)


def grpc_claims(addresses: config.Addresses, credential: str) -> Claims:
    """The real Claims, for a contractor's token; gRPC imported only here."""
    from crewline.ctl.claim_rpc import GrpcClaims

    return GrpcClaims.connect(addresses, credential)


def grpc_submissions(addresses: config.Addresses, credential: str) -> Submissions:
    """The real Submissions, for a client's API key; gRPC imported only here."""
    from crewline.ctl.submission_rpc import GrpcSubmissions

    return GrpcSubmissions.connect(addresses, credential)


def grpc_ledger(addresses: config.Addresses, credential: str) -> Ledger:
    """The real Ledger, for any caller's credential; gRPC imported only here."""
    from crewline.ctl.ledger_rpc import GrpcLedger

    return GrpcLedger.connect(addresses, credential)


@dataclass(frozen=True)
class Wiring:
    """What crewctl takes from the outside world; tests pass their own."""

    env: Mapping[str, str] = field(default_factory=_os_environ)
    cwd: Path = field(default_factory=Path.cwd)
    home: Path = field(default_factory=Path.home)
    connect: AdminFactory = grpc_admin
    connect_projects: ProjectsFactory = grpc_projects
    connect_tasks: TasksFactory = grpc_tasks
    connect_claims: ClaimsFactory = grpc_claims
    connect_submissions: SubmissionsFactory = grpc_submissions
    connect_ledger: LedgerFactory = grpc_ledger
    # How `crewctl watch` waits before reconnecting, and the jitter of that wait (0-1).
    sleep: Callable[[float], None] = time.sleep
    jitter: Callable[[], float] = random.random


@dataclass(frozen=True, kw_only=True)
class Options:
    """The global options, as given (``None``: not given)."""

    config: str | None = None
    dispatcher: str | None = None
    matcher: str | None = None
    ledger: str | None = None
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

    def _addresses(self, found: config.ConfigFile) -> config.Addresses:
        flags = {
            "dispatcher": self.options.dispatcher,
            "matcher": self.options.matcher,
            "ledger": self.options.ledger,
        }
        try:
            addresses = config.resolve_addresses(flags, self.wiring.env, found)
        except config.ConfigError as err:
            raise CtlError(str(err), exit_code=ExitCode.USAGE) from None
        return replace(addresses, tls=self.client_tls())

    def client_tls(self) -> ClientTls | None:
        """TLS for every channel, from $CREWLINE_TLS_CA_FILE (and _CERT_FILE, _KEY_FILE for
        mutual TLS); None (plaintext) when unset. A bad setting is a usage error."""
        from crewline.client.tls import ClientTls, TlsConfigError  # imports gRPC: only when calling

        try:
            return ClientTls.from_env(self.wiring.env)
        except TlsConfigError as err:
            raise CtlError(str(err), exit_code=ExitCode.USAGE) from None

    def operator_target(self, service: str) -> tuple[str, str]:
        """``service``'s resolved address and the operator credential (for OpsService)."""
        found = self._config()
        try:
            flag = getattr(self.options, service)
            address = config.resolve_address(service, flag, self.wiring.env, found)
        except config.ConfigError as err:
            raise CtlError(str(err), exit_code=ExitCode.USAGE) from None
        return address, self.credential(found)

    def with_json(self, as_json: bool) -> State:
        """This state with a command's own --json (the same as crewctl's) applied."""
        return replace(self, options=replace(self.options, json=True)) if as_json else self

    def credential(self, found: config.ConfigFile) -> str:
        """The operator credential, or a CtlError (exit code 3) saying where it looked."""
        try:
            return config.resolve_credential(
                self.options.credential, self.wiring.env, found, self.wiring.cwd
            )
        except config.CredentialError as err:
            raise CtlError(str(err), exit_code=ExitCode.CREDENTIAL) from None

    def admin(self, *, credential_required: bool = True) -> Admin:
        """An Admin for the resolved addresses and operator credential.

        Without ``credential_required`` (health checks) a missing credential means
        calling without one.
        """
        found = self._config()
        addresses = self._addresses(found)
        try:
            credential: str | None = self.credential(found)
        except CtlError:
            if credential_required:
                raise
            credential = None
        return self.wiring.connect(addresses, credential)

    def _caller(
        self, resolve: Callable[[str | None, Mapping[str, str]], str], hint: str
    ) -> tuple[config.Addresses, str]:
        """Addresses and the caller's own credential (a client's key, a contractor's token)."""
        addresses = self._addresses(self._config())
        ctx = click.get_current_context(silent=True)
        if ctx is not None:
            ctx.meta[CREDENTIAL_HINT] = hint
        try:
            return addresses, resolve(self.options.credential, self.wiring.env)
        except config.CredentialError as err:
            raise CtlError(str(err), exit_code=ExitCode.CREDENTIAL) from None

    def projects(self) -> Projects:
        """A client's calls, with the client's API key (--credential, $CREWLINE_CREDENTIAL)."""
        return self.wiring.connect_projects(
            *self._caller(config.resolve_client_credential, CLIENT_KEY_HINT)
        )

    def tasks(self) -> Tasks:
        """A client's task calls and Watch, with the client's API key."""
        return self.wiring.connect_tasks(
            *self._caller(config.resolve_client_credential, CLIENT_KEY_HINT)
        )

    def claims(self) -> Claims:
        """A contractor's claim calls, with the contractor's token (--credential,
        $CREWLINE_CREDENTIAL)."""
        return self.wiring.connect_claims(
            *self._caller(config.resolve_contractor_credential, CONTRACTOR_TOKEN_HINT)
        )

    def submissions(self) -> Submissions:
        """A client's review calls, with the client's API key."""
        return self.wiring.connect_submissions(
            *self._caller(config.resolve_client_credential, CLIENT_KEY_HINT)
        )

    def ledger(self, *, operator: bool = False) -> Ledger:
        """The ledger's calls. As an operator (``operator``): the operator credential.
        Otherwise as whoever the credential is: --credential, else $CREWLINE_CREDENTIAL (a
        client's API key or a contractor's token), else the operator credential."""
        found = self._config()
        addresses = self._addresses(found)
        ctx = click.get_current_context(silent=True)
        own = None
        if not operator:
            try:
                own = config.resolve_contractor_credential(self.options.credential, self.wiring.env)
            except config.CredentialError:
                own = None
        if ctx is not None and own:  # else the operator credential's hint, the default
            ctx.meta[CREDENTIAL_HINT] = CALLER_HINT
        return self.wiring.connect_ledger(addresses, own or self.credential(found))

    def emit(self, data: T, render: Callable[[T], None]) -> None:
        """``data`` as JSON with ``--json``, else through ``render``."""
        if self.options.json:
            print_json(data)
        else:
            render(data)


pass_state = click.make_pass_decorator(State)


def example(*lines: str) -> str:
    """An epilog showing example command lines, kept as written by Click's formatter."""
    return "\b\nExample:\n" + "\n".join(f"  {line}" for line in lines)
