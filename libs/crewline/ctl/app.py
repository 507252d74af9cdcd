"""The state every command shares: the global options, and how to reach the services.

Settings are resolved only when a command needs them, so ``--help`` and shell
completion never read files or fail on a missing credential.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import click

from crewline.ctl import config
from crewline.ctl.api import Admin, AdminFactory
from crewline.ctl.errors import CtlError, ExitCode
from crewline.ctl.output import print_json
from crewline.ctl.project_api import Projects, ProjectsFactory

T = TypeVar("T")


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


@dataclass(frozen=True)
class Wiring:
    """What crewctl takes from the outside world; tests pass their own."""

    env: Mapping[str, str] = field(default_factory=_os_environ)
    cwd: Path = field(default_factory=Path.cwd)
    home: Path = field(default_factory=Path.home)
    connect: AdminFactory = grpc_admin
    connect_projects: ProjectsFactory = grpc_projects


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
            return config.resolve_addresses(flags, self.wiring.env, found)
        except config.ConfigError as err:
            raise CtlError(str(err), exit_code=ExitCode.USAGE) from None

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

    def projects(self) -> Projects:
        """A client's calls, with the client's API key (--credential, $CREWLINE_CREDENTIAL)."""
        addresses = self._addresses(self._config())
        try:
            credential = config.resolve_client_credential(self.options.credential, self.wiring.env)
        except config.CredentialError as err:
            raise CtlError(str(err), exit_code=ExitCode.CREDENTIAL) from None
        return self.wiring.connect_projects(addresses, credential)

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
