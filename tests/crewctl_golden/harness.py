"""Runs one crewctl command line against the stand-in servers and records what a user and
the servers saw: exit code, stdout, stderr and the requests, normalised, as one golden.

crewctl is driven only from its outside: its Click app, the environment variables that
name the services and the credential, and the working directory it reads files from.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, cast

from click.testing import CliRunner, Result
from grpc_standin import Answer, Refusal, Script, StandIns

from crewline.ctl.main import cli

FILES = Path(__file__).parent / "files"
UPDATE_ENV = "CREWLINE_UPDATE_GOLDEN"
OPERATOR_CREDENTIAL = "crwo_golden-operator"
CREDENTIALS = {
    "operator": {"CREWLINE_OPERATOR_CREDENTIAL": OPERATOR_CREDENTIAL},
    "client": {"CREWLINE_CREDENTIAL": "crwk_golden-key_client-secret"},
    "contractor": {"CREWLINE_CREDENTIAL": "golden.contractor.token"},
    "none": {},
}
_REQUEST_ID = re.compile(r"crewctl-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@dataclass(frozen=True, kw_only=True)
class Case:
    """One command line, the caller it runs as, and what the servers answer."""

    name: str  # the golden file's stem
    command: str  # the leaf command, e.g. "task get"
    args: tuple[str, ...] = ()
    caller: str = "operator"  # a key of CREDENTIALS
    script: Script = field(default_factory=dict)
    fails: bool = False  # expected to exit non-zero
    options: tuple[str, ...] = ("--json",)  # crewctl's own, before the command

    @property
    def argv(self) -> list[str]:
        return [*self.options, *self.command.split(), *self.args]


def case(
    name: str,
    command: str,
    args: str = "",
    *,
    caller: str = "operator",
    fails: bool = False,
    options: Sequence[str] = ("--json",),
    script: Mapping[str, Answer | Sequence[Answer]] | None = None,
    **answers: Answer | Sequence[Answer],
) -> Case:
    """A Case; ``args`` is split as a shell would, ``answers`` are by method name (one
    answer, or a list of them given in turn)."""
    given = {**answers, **(script or {})}
    played: dict[str, list[Answer]] = {
        method: list(found) if isinstance(found, list | tuple) else [cast(Answer, found)]
        for method, found in given.items()
    }
    return Case(
        name=name,
        command=command,
        args=tuple(shlex.split(args)),
        caller=caller,
        script=played,
        fails=fails,
        options=tuple(options),
    )


def environment(servers: StandIns, caller: str) -> dict[str, str | None]:
    """crewctl's settings: the stand-ins' addresses and the caller's credential, and none
    of the settings of whoever runs the tests. HOME is the files folder, which holds no
    crewctl config file."""
    inherited = [name for name in os.environ if name.startswith(("CREWLINE_", "CREWCTL_"))]
    env: dict[str, str | None] = dict.fromkeys(inherited)
    for name in servers.servers:
        env[f"CREWLINE_{name.upper()}_GRPC_ADDR"] = servers.address(name)
    return {**env, "HOME": str(FILES), **CREDENTIALS[caller]}


def _normalised(text: str, servers: StandIns) -> str:
    for name in servers.servers:
        text = text.replace(servers.address(name), f"<{name}>")
    text = text.replace(str(FILES), "<files>")
    return _REQUEST_ID.sub("crewctl-<uuid4>", text)


def _mask_sorted(request: dict[str, Any]) -> dict[str, Any]:
    """The request with its field mask's paths sorted: their order means nothing."""
    mask = request.get("update_mask")
    if not isinstance(mask, str):
        return request
    return {**request, "update_mask": ",".join(sorted(mask.split(",")))}


def _stdout(text: str) -> dict[str, Any]:
    """One JSON document as such; otherwise each line, as JSON where it is JSON."""
    try:
        return {"stdout": json.loads(text)}
    except json.JSONDecodeError:
        pass
    lines: list[Any] = []
    for line in text.splitlines():
        try:
            lines.append(json.loads(line))
        except json.JSONDecodeError:
            lines.append(line)
    return {"stdout_lines": lines}


def run(found: Case, servers: StandIns) -> dict[str, Any]:
    """Run ``found`` in the files folder and return its golden record."""
    servers.play(found.script)
    with contextlib.chdir(FILES):  # files are named as a user in their folder would
        result = CliRunner().invoke(
            cli, found.argv, env=environment(servers, found.caller), prog_name="crewctl"
        )
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    received = sorted(servers.received, key=lambda r: r.server)  # calls to one server in order
    sent = [{**asdict(r), "request": _mask_sorted(r.request)} for r in received]
    requests = json.loads(_normalised(json.dumps(sent), servers))
    return {
        "argv": found.argv,
        "caller": found.caller,
        "exit_code": result.exit_code,
        **_stdout(_normalised(result.stdout, servers)),
        "stderr": _normalised(result.stderr, servers).splitlines(),
        "requests": requests,
    }


def updating() -> bool:
    return os.environ.get(UPDATE_ENV) == "1"


def golden_text(record: Mapping[str, Any]) -> str:
    return json.dumps(record, indent=2, ensure_ascii=False) + "\n"


def missing(what: str) -> Refusal:
    """NOT_FOUND, as the services answer an unknown id."""
    return Refusal("NOT_FOUND", f"{what} not found", "NOT_FOUND")


def invalid(field: str, message: str) -> Refusal:
    """INVALID_ARGUMENT naming the field, as the services answer bad input."""
    return Refusal("INVALID_ARGUMENT", message, "INVALID_ARGUMENT", {"field": field})


@dataclass
class Crewctl:
    """crewctl run in-process against the stand-ins, as ``caller``, for tests that check one
    behaviour rather than a whole golden: its result, and the requests the servers got."""

    servers: StandIns
    caller: str = "operator"
    env: dict[str, str | None] = field(default_factory=dict)
    cwd: Path = FILES

    def run(
        self, *argv: str, input: str | None = None, **answers: Answer | Sequence[Answer]
    ) -> Result:
        """Run ``argv`` with the servers answering ``answers`` (by method, as in ``case``)."""
        played = case("run", "run", script=answers).script
        self.servers.play(played)
        with contextlib.chdir(self.cwd):
            return CliRunner().invoke(
                cli,
                list(argv),
                env={**environment(self.servers, self.caller), **self.env},
                input=input,
                prog_name="crewctl",
            )

    def json(self, *argv: str, **answers: Answer | Sequence[Answer]) -> Any:
        """``--json argv``'s document; the command must succeed."""
        result = self.run("--json", *argv, **answers)
        assert result.exit_code == 0, (result.stdout, result.stderr)
        return json.loads(result.stdout)

    def requests(self, method: str | None = None) -> list[dict[str, Any]]:
        """The requests received (of ``method``, e.g. ``"CreateApiKey"``), in order."""
        return [
            r.request
            for r in self.servers.received
            if method is None or r.method.endswith(f"/{method}")
        ]

    def authorizations(self) -> list[str | None]:
        return [r.authorization for r in self.servers.received]
