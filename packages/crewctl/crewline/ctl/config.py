"""Where crewctl finds its settings: pure functions of flags, an env mapping and files.

Precedence everywhere: flag > environment > config file > default. Nothing here
reads ``os.environ`` or the current directory; the caller passes them in, so every
rule is testable with a plain dict and temporary files.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # crewline.client.tls imports gRPC, which --help and completion never need
    from crewline.client.tls import ClientTls

SERVICES = ("dispatcher", "matcher", "ledger", "quality")
DEFAULT_ADDRESSES = {
    "dispatcher": "127.0.0.1:50051",
    "matcher": "127.0.0.1:50052",
    "ledger": "127.0.0.1:50053",
    "quality": "127.0.0.1:50054",
}
CONFIG_ENV = "CREWCTL_CONFIG"
DEFAULT_CONFIG = Path(".config") / "crewline" / "crewctl.toml"  # under the home directory
CREDENTIAL_ENV = "CREWLINE_OPERATOR_CREDENTIAL"
CREDENTIAL_FILE_ENV = "CREWLINE_OPERATOR_CREDENTIAL_FILE"
# The caller's own credential: a client's API key (``crewctl project|task|watch ...``)
# or a contractor's token (``crewctl claim ...``).
CLIENT_CREDENTIAL_ENV = "CREWLINE_CREDENTIAL"
# The form of the operator credential: found in $CREWLINE_CREDENTIAL, it is still the
# operator's, and operators' commands take it.
OPERATOR_PREFIX = "crwo_"
HOME_ENV = "CREWLINE_HOME"
CONFIG_KEYS = (*SERVICES, "operator_credential", "operator_credential_file")


class ConfigError(ValueError):
    """A setting is present but unusable (a usage problem: exit code 2)."""


class CredentialError(LookupError):
    """No usable operator credential (exit code 3)."""


def address_env(service: str) -> str:
    """The environment variable that holds a service's gRPC address."""
    return f"CREWLINE_{service.upper()}_GRPC_ADDR"


@dataclass(frozen=True)
class ConfigFile:
    """The config file's string values, and where it was (``None``: no file)."""

    path: Path | None = None
    values: Mapping[str, str] = field(default_factory=dict)

    def describe(self) -> str:
        return str(self.path) if self.path else "no config file"


@dataclass(frozen=True, kw_only=True)
class Addresses:
    """host:port of each service, and the TLS to reach them with (None: plaintext)."""

    dispatcher: str
    matcher: str
    ledger: str
    quality: str
    tls: ClientTls | None = None

    def of(self, service: str) -> str:
        """The address of ``service`` (one of ``SERVICES``)."""
        if service not in SERVICES:
            raise KeyError(service)
        address: str = getattr(self, service)
        return address


def config_path(flag: str | None, env: Mapping[str, str], home: Path) -> tuple[Path | None, bool]:
    """The config file to read and whether it must exist (named by the flag or env)."""
    named = flag or env.get(CONFIG_ENV, "").strip()
    if named:
        return Path(named).expanduser(), True
    default = home / DEFAULT_CONFIG
    return (default, False) if default.is_file() else (None, False)


def load_config(flag: str | None, env: Mapping[str, str], home: Path) -> ConfigFile:
    """Read the TOML config file, if any; only the keys crewctl knows, all strings."""
    path, required = config_path(flag, env, home)
    if path is None:
        return ConfigFile()
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        if required:
            raise ConfigError(f"config file {path} does not exist") from None
        return ConfigFile()
    except OSError as err:
        raise ConfigError(f"config file {path} cannot be read: {err.strerror}") from None
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"config file {path} is not valid TOML: {err}") from None
    values: dict[str, str] = {}
    for key in CONFIG_KEYS:
        value = data.get(key)
        if value is None:
            continue
        if not isinstance(value, str):
            raise ConfigError(f"config file {path}: `{key}` must be a string")
        values[key] = value
    return ConfigFile(path, values)


def resolve_address(
    service: str, flag: str | None, env: Mapping[str, str], config: ConfigFile
) -> str:
    """The service's host:port: flag, env, config file, then the default."""
    candidates = (
        (f"--{service}", flag or ""),
        (address_env(service), env.get(address_env(service), "")),
        (f"`{service}` in {config.describe()}", config.values.get(service, "")),
    )
    source, raw = next(((s, r) for s, r in candidates if r.strip()), ("default", ""))
    value = raw.strip() or DEFAULT_ADDRESSES[service]
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise ConfigError(f"{source}={value!r} is not host:port")
    return f"{host}:{int(port)}"


def resolve_addresses(
    flags: Mapping[str, str | None], env: Mapping[str, str], config: ConfigFile
) -> Addresses:
    """Every service's address; ``flags`` maps service names to flag values."""

    def one(service: str) -> str:
        return resolve_address(service, flags.get(service), env, config)

    return Addresses(
        dispatcher=one("dispatcher"),
        matcher=one("matcher"),
        ledger=one("ledger"),
        quality=one("quality"),
    )


def default_credential_file(env: Mapping[str, str], cwd: Path) -> Path:
    """``$CREWLINE_HOME/secrets/operator.credential``; CREWLINE_HOME defaults to ./.local."""
    home = Path(env.get(HOME_ENV, "").strip() or ".local").expanduser()
    return cwd / home / "secrets" / "operator.credential"


def _read_secret(path: Path, source: str) -> str:
    try:
        secret = path.read_text().strip()
    except OSError as err:
        raise CredentialError(
            f"{source} names {path}, which cannot be read: {err.strerror}"
        ) from None
    if not secret:
        raise CredentialError(f"{source} names {path}, which is empty")
    return secret


def resolve_credential(
    flag: str | None, env: Mapping[str, str], config: ConfigFile, cwd: Path
) -> str:
    """The operator credential, stripped (``find_credential`` without its source)."""
    return find_credential(flag, env, config, cwd)[0]


def find_credential(
    flag: str | None, env: Mapping[str, str], config: ConfigFile, cwd: Path
) -> tuple[str, str]:
    """The operator credential, stripped, and where it was found; the first source that
    has one wins.

    A source that names a file which is missing or empty is an error, not a fall-through,
    so a typo never silently picks up another credential.
    """
    if flag and flag.strip():
        return flag.strip(), "--credential"
    if env.get(CREDENTIAL_ENV, "").strip():
        return env[CREDENTIAL_ENV].strip(), f"${CREDENTIAL_ENV}"
    if env.get(CREDENTIAL_FILE_ENV, "").strip():
        path = cwd / Path(env[CREDENTIAL_FILE_ENV].strip()).expanduser()
        return _read_secret(path, f"${CREDENTIAL_FILE_ENV}"), str(path)
    if (caller := env.get(CLIENT_CREDENTIAL_ENV, "").strip()).startswith(OPERATOR_PREFIX):
        return caller, f"${CLIENT_CREDENTIAL_ENV}"
    if config.values.get("operator_credential", "").strip():
        return config.values["operator_credential"].strip(), f"{config.path}"
    named = config.values.get("operator_credential_file", "").strip()
    if named and config.path is not None:
        path = config.path.parent / Path(named).expanduser()  # relative to the config file
        return _read_secret(path, f"`operator_credential_file` in {config.path}"), str(path)
    default = default_credential_file(env, cwd)
    if default.is_file():
        return _read_secret(default, "the default credential file"), str(default)
    raise CredentialError(
        "no operator credential found; looked, in order, at: --credential,"
        f" ${CREDENTIAL_ENV}, ${CREDENTIAL_FILE_ENV}, ${CLIENT_CREDENTIAL_ENV} (when it"
        f" holds an operator credential, {OPERATOR_PREFIX}...), `operator_credential` and"
        f" `operator_credential_file` in the config file ({config.describe()}),"
        f" {default} ($CREWLINE_HOME/secrets/operator.credential; CREWLINE_HOME: ./.local)."
        " `make operator-credential` prints the local stack's credential"
    )


def _caller_credential(flag: str | None, env: Mapping[str, str], missing: str) -> str:
    if flag and flag.strip():
        return flag.strip()
    if env.get(CLIENT_CREDENTIAL_ENV, "").strip():
        return env[CLIENT_CREDENTIAL_ENV].strip()
    raise CredentialError(missing)


def resolve_client_credential(flag: str | None, env: Mapping[str, str]) -> str:
    """A client's API key: --credential, else $CREWLINE_CREDENTIAL.

    Never the operator credential: an operator may not call a client's RPCs.
    """
    return _caller_credential(
        flag,
        env,
        f"no client API key found; looked at --credential and ${CLIENT_CREDENTIAL_ENV}."
        " An operator makes one with `crewctl client key create CLIENT_ID`",
    )


def resolve_contractor_credential(flag: str | None, env: Mapping[str, str]) -> str:
    """A contractor's token: --credential, else $CREWLINE_CREDENTIAL (as for a client's key:
    the caller's own credential). Never the operator credential."""
    return _caller_credential(
        flag,
        env,
        f"no contractor token found; looked at --credential and ${CLIENT_CREDENTIAL_ENV}."
        " An operator issues one with `crewctl contractor token CONTRACTOR_ID`",
    )
