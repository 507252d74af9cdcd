"""The three distributions, built and installed as their users install them.

Each wheel is built by uv from the workspace and installed into a venv of its own, with
the locked versions of its dependencies only (``uv export`` of that package), so what a
user of the SDK gets is what is checked: nothing of the server rides along.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from stack import ROOT

UV = ROOT / ".local" / "uv" / "bin" / "uv"
# What the server needs and a lab's program must not load by importing the SDK.
SERVER_ONLY = ("asyncpg", "aiokafka", "structlog", "prometheus_client", "click", "cryptography")


def uv(*args: str | Path, cwd: Path = ROOT) -> str:
    done = subprocess.run(
        [UV, *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, f"uv {' '.join(map(str, args))}:\n{done.stdout}{done.stderr}"
    return done.stdout


def install(tmp: Path, *packages: str, lowest: bool = False) -> Path:
    """A fresh venv holding ``packages`` (workspace members) from their wheels, and their
    locked dependencies (with ``lowest``: the lowest versions their ranges admit, to show
    the ranges' lower bounds hold); its python."""
    wheels = tmp / "wheels"
    for package in packages:
        uv("build", "--package", package, "--wheel", "--out-dir", wheels)
    requirements = tmp / "requirements.txt"
    uv(
        *("export", "--frozen", "--no-dev", "--no-emit-workspace", "--no-hashes"),
        *(arg for p in packages for arg in ("--package", p)),
        *("--output-file", requirements),
    )
    venv = tmp / "venv"
    uv("venv", "--python", sys.executable, venv)
    python = venv / "bin" / "python"
    built = sorted(wheels.glob("*.whl"))
    if lowest:
        uv("pip", "install", "--python", python, "--resolution", "lowest", *built)
    else:
        uv("pip", "install", "--python", python, "-r", requirements, *built)
    return python


@pytest.fixture(scope="module")
def sdk_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return install(tmp_path_factory.mktemp("sdk"), "crewline-client")


def run(python: Path, code: str) -> str:
    done = subprocess.run(
        [python, "-c", code], capture_output=True, text=True, timeout=120, cwd="/"
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_sdk_wheel_installs_alone_and_imports_nothing_of_the_server(
    sdk_python: Path,
) -> None:
    listed = run(
        sdk_python,
        "import importlib.metadata as m, json;"
        " print(json.dumps(sorted(d.metadata['Name'].lower() for d in m.distributions())))",
    )
    installed = set(json.loads(listed))
    assert "crewline-client" in installed
    assert not {"crewline-server", "crewctl", "asyncpg", "aiokafka", "click"} & installed

    probe = (
        "import sys, json\n"
        "import crewline.client, crewline.client.sync\n"
        "from crewline.v1 import task_service_pb2, work_service_pb2_grpc\n"
        "print(json.dumps({'file': crewline.client.__file__, 'modules': sorted(sys.modules)}))\n"
    )
    seen = json.loads(run(sdk_python, probe))
    assert seen["file"].startswith(str(sdk_python.parents[1]))  # the wheel, not the checkout
    loaded = {name.split(".")[0] for name in seen["modules"]}
    assert not set(SERVER_ONLY) & loaded
    assert not {"dispatcher", "matcher", "ledger"} & loaded
    assert "crewline.edge" not in seen["modules"]


def test_the_sdk_wheel_carries_its_generated_code_and_types(sdk_python: Path) -> None:
    found = run(
        sdk_python,
        "import importlib.resources as r;"
        " v1 = r.files('crewline.v1'); c = r.files('crewline.client');"
        " print(v1.joinpath('task_service_pb2.pyi').is_file(), c.joinpath('py.typed').is_file(),"
        " v1.joinpath('py.typed').is_file())",
    )
    assert found.split() == ["True", "True", "True"]


@pytest.mark.parametrize("lowest", [False, True], ids=["locked", "lowest"])
def test_crewctl_installs_on_the_sdk_alone_and_needs_nothing_of_the_server(
    tmp_path_factory: pytest.TempPathFactory, lowest: bool
) -> None:
    python = install(
        tmp_path_factory.mktemp("crewctl"), "crewline-client", "crewctl", lowest=lowest
    )
    crewctl = python.parent / "crewctl"
    shown = subprocess.run([crewctl, "--help"], capture_output=True, text=True, timeout=60, cwd="/")
    assert shown.returncode == 0, shown.stderr
    assert "Usage: crewctl" in shown.stdout
    # A table drawn by rich, and the versions crewctl says it runs with.
    for argv, expected in ((["help", "exit-codes"], "meaning"), (["--version"], "crewctl 0.1.0")):
        done = subprocess.run([crewctl, *argv], capture_output=True, text=True, timeout=60, cwd="/")
        assert done.returncode == 0, done.stderr
        assert expected in done.stdout

    probe = (
        "import importlib, json, pkgutil, sys\n"
        "import crewline.ctl\n"
        "names = [m.name for m in pkgutil.walk_packages(crewline.ctl.__path__, 'crewline.ctl.')]\n"
        "for name in names: importlib.import_module(name)\n"
        "print(json.dumps({'imported': names, 'modules': sorted(sys.modules)}))\n"
    )
    seen = json.loads(run(python, probe))
    assert "crewline.ctl.main" in seen["imported"]
    loaded = {name.split(".")[0] for name in seen["modules"]}
    assert not {"asyncpg", "aiokafka", "structlog", "prometheus_client"} & loaded
    assert not {"dispatcher", "matcher", "ledger"} & loaded
    kernel = {m for m in seen["modules"] if m.startswith("crewline.")}
    assert all(m.startswith(("crewline.ctl", "crewline.client", "crewline.v1")) for m in kernel)
