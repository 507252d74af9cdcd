"""The Dockerfile, read: what it copies exists and is in the build context, generated code
is made inside, the workspace's wheels are installed on the locked packages, and it runs as
non-root. tests/e2e/test_image.py builds and runs it (deploy/image/build.sh)."""

from __future__ import annotations

import fnmatch
import re
import shlex
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SDK = "packages/crewline-client"


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) for each line of the Dockerfile, continuations joined and
    runs of blanks made one."""
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text())
    lines = [" ".join(line.split()) for line in text.splitlines()]
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
    assert {"protos/", "libs/", "services/", "packages/", "uv.lock"} <= set(sources)
    for source in sources:
        assert (ROOT / source).exists(), source
        assert in_context(source.rstrip("/")), source
    assert not in_context(f"{SDK}/crewline/v1")  # generated in the image, never copied in
    assert not in_context(".venv") and not in_context(".local")


def test_generated_code_is_made_inside_the_image_from_the_locked_environment() -> None:
    runs = " ".join(args for op, args in instructions() if op == "RUN")
    assert f"grpc_tools.protoc -Iprotos --python_out={SDK} --grpc_python_out={SDK}" in runs
    assert "uv sync --only-group dev" in runs
    envs = " ".join(args for op, args in instructions() if op == "ENV")
    assert "UV_FROZEN=1" in envs  # uv.lock or nothing


def test_the_services_are_installed_from_the_workspace_wheels_on_the_locked_packages() -> None:
    runs = [args for op, args in instructions() if op == "RUN"]
    # The generated code goes into the SDK's package before its wheel is built.
    copies = [args for op, args in instructions() if op == "COPY"]
    assert f"--from=gen /app/{SDK}/crewline/v1/ {SDK}/crewline/v1/" in copies
    assert any("uv build --all-packages" in r for r in runs)
    # Third-party packages from the lock (hashes checked), crewctl's included; the
    # workspace's own three from their wheels, not from the sources.
    export = next(r for r in runs if "uv export" in r)
    assert "--no-dev --all-packages --no-emit-workspace" in export
    assert "--no-hashes" not in export
    assert any("uv pip install --no-deps /dist/*.whl" in r and "uv pip check" in r for r in runs)


def test_the_image_runs_a_service_as_a_numeric_non_root_user() -> None:
    stage = final_stage()
    args = {op: a for op, a in stage}  # the last of each instruction in the final stage
    uid = re.search(r"ARG UID=(\d+)", " ".join(f"{op} {a}" for op, a in stage))
    assert uid and int(uid.group(1)) > 0
    assert args["USER"] in {"${UID}:${UID}", f"{uid.group(1)}:{uid.group(1)}"}
    assert args["CMD"] == '["python", "-m", "dispatcher"]'
    # Nothing but the built venv comes from other stages: no sources, no build tools.
    assert [a for op, a in stage if op == "COPY"] == ["--from=build /app/.venv /app/.venv"]
