"""The Dockerfile, read (no container engine runs here to build it): what it copies exists
and is in the build context, generated code is made inside, and it runs as non-root."""

from __future__ import annotations

import fnmatch
import re
import shlex
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) for each line of the Dockerfile, continuations joined."""
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text())
    lines = [line.strip() for line in text.splitlines()]
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line else "")
        for line in lines
        if line and not line.startswith("#")
    ]


def in_context(path: str) -> bool:
    """Whether .dockerignore lets ``path`` into the build context (last match wins)."""
    included = True
    for rule in (ROOT / ".dockerignore").read_text().splitlines():
        rule = rule.strip()
        if not rule or rule.startswith("#"):
            continue
        negate, pattern = rule.startswith("!"), rule.lstrip("!").rstrip("/")
        if fnmatch.fnmatch(path, pattern) or path.startswith(pattern + "/"):
            included = negate
    return included


def final_stage() -> list[tuple[str, str]]:
    steps = instructions()
    last_from = max(i for i, (op, _) in enumerate(steps) if op == "FROM")
    return steps[last_from:]


def test_everything_copied_from_the_context_exists_and_is_not_ignored() -> None:
    copies = [shlex.split(args) for op, args in instructions() if op == "COPY"]
    sources = [s for args in copies if not args[0].startswith("--from") for s in args[:-1]]
    assert "protos/" in sources and "libs/" in sources and "uv.lock" in sources
    for source in sources:
        assert (ROOT / source).exists(), source
        assert in_context(source.rstrip("/")), source
    assert not in_context("packages/crewline-client/crewline/v1")  # generated in the image, never copied in
    assert not in_context(".venv") and not in_context(".local")


def test_generated_code_is_made_inside_the_image_from_the_locked_environment() -> None:
    runs = " ".join(args for op, args in instructions() if op == "RUN")
    assert "grpc_tools.protoc -Iprotos" in runs
    assert "uv sync" in runs
    envs = " ".join(args for op, args in instructions() if op == "ENV")
    assert "UV_FROZEN=1" in envs  # uv.lock or nothing


def test_the_image_runs_a_service_as_a_numeric_non_root_user() -> None:
    stage = final_stage()
    args = {op: a for op, a in stage}  # the last of each instruction in the final stage
    uid = re.search(r"ARG UID=(\d+)", " ".join(f"{op} {a}" for op, a in stage))
    assert uid and int(uid.group(1)) > 0
    assert args["USER"] in {"${UID}:${UID}", f"{uid.group(1)}:{uid.group(1)}"}
    assert args["CMD"] == '["python", "-m", "dispatcher"]'
    # Nothing but the built venv comes from other stages: no sources, no build tools.
    assert [a for op, a in stage if op == "COPY"] == ["--from=build /app/.venv /app/.venv"]
