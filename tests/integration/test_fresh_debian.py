"""A fresh Debian: the Makefile's set-up (uv, then the locked venv) in a copy of the project
whose PATH holds only basic tools, with no python3.11-venv, and with no Python 3.11 at all.

What is real: uv's wheel comes from PyPI and is checked against the index's sha256, uv
makes the venv from the lock, and the venv imports the project. What is simulated: a
missing python3.11-venv (``venv`` and ``ensurepip`` shadowed on PYTHONPATH, so that what
the old ``python3.11 -m venv`` set-up needed fails), and Debian's package install (a
stand-in ``apt-get`` that records its arguments and puts this machine's own Python 3.11
on PATH): a test must not install system packages.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from stack import ROOT

UV_VERSION = "0.13.8"
TOOLS = (
    *("bash", "sh", "env", "curl", "grep", "sed", "head", "mktemp", "rm", "mkdir", "mv"),
    *("chmod", "sha256sum", "dirname", "uname", "id", "cat", "touch", "unzip", "ln"),
)
# The interpreter under this venv: a Python 3.11 that this machine certainly has.
BASE_PYTHON = Path(sys.executable).resolve()
SHADOWED = ("venv", "ensurepip")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """What the set-up reads, copied; .local and .venv start empty."""
    copy = tmp_path / "crewline"
    copy.mkdir()
    for name in ("Makefile", "pyproject.toml", "uv.lock", "README.md"):
        shutil.copy(ROOT / name, copy / name)
    (copy / "deploy" / "local").mkdir(parents=True)
    for script in ("uv.sh", "env.sh"):
        shutil.copy(ROOT / "deploy" / "local" / script, copy / "deploy" / "local" / script)
    for tree in ("libs", "services", "packages"):
        shutil.copytree(ROOT / tree, copy / tree, ignore=shutil.ignore_patterns("__pycache__"))
    return copy


@pytest.fixture
def bin_dir(tmp_path: Path) -> Path:
    """A PATH of basic tools only: no python of any version, no apt-get."""
    path = tmp_path / "bin"
    path.mkdir()
    for tool in TOOLS:
        found = shutil.which(tool)
        assert found, f"this test needs {tool}"
        (path / tool).symlink_to(found)
    return path


def set_up_env(bin_dir: Path, **extra: str) -> dict[str, str]:
    """This machine's environment (proxies, CA bundle) with PATH cut down and nothing of
    Python's, uv's or Crewline's; the uv wheel cached under the real checkout's .local."""
    skip = ("PYTHON", "VIRTUAL_ENV", "UV_", "CREWLINE_", "PYENV")
    env = {k: v for k, v in os.environ.items() if not k.startswith(skip) and k != "PATH"}
    return {
        **env,
        "PATH": str(bin_dir),
        "CREWLINE_DOWNLOADS": str(ROOT / ".local" / "downloads"),
        **extra,
    }


def make_venv(project: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    make = shutil.which("make")
    assert make
    return subprocess.run(
        [make, ".venv/.synced"], cwd=project, env=env, capture_output=True, text=True
    )


def assert_set_up(project: Path, result: subprocess.CompletedProcess[str]) -> None:
    log = result.stdout + result.stderr
    assert result.returncode == 0, log
    assert "sha256" in log and "checked" in log  # uv came from its wheel, verified
    uv = subprocess.run(
        [project / ".local/uv/bin/uv", "--version"], capture_output=True, text=True, check=True
    )
    assert uv.stdout.startswith(f"uv {UV_VERSION} ")
    # crewline is a namespace package: the server's kernel, the SDK's and crewctl's packages.
    probe = (
        "import sys, grpc, asyncpg, crewline.edge, crewline.client, crewline.ctl;"
        " print(sys.version_info[:2], crewline.edge.__file__, crewline.ctl.__file__)"
    )
    venv = subprocess.run(
        [project / ".venv/bin/python", "-c", probe],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin"},
        check=True,
    )
    assert venv.stdout.startswith("(3, 11) ")
    # the copy itself, editable: the server and the workspace's members
    assert all(path.startswith(str(project)) for path in venv.stdout.split()[-2:])


def test_set_up_needs_no_venv_module(project: Path, bin_dir: Path, tmp_path: Path) -> None:
    shadow = tmp_path / "no-python3.11-venv"
    for module in SHADOWED:
        (shadow / module).mkdir(parents=True)
        (shadow / module / "__init__.py").write_text(
            f"raise ImportError('{module} is not available (no python3.11-venv)')\n"
        )
    (bin_dir / "python3.11").symlink_to(BASE_PYTHON)
    env = set_up_env(bin_dir, PYTHONPATH=str(shadow))
    # The simulation holds: what the old set-up ran fails here, as on such a machine.
    old = subprocess.run(
        [bin_dir / "python3.11", "-m", "venv", tmp_path / "old-uv"], env=env, capture_output=True
    )
    assert old.returncode != 0

    assert_set_up(project, make_venv(project, env))


@pytest.mark.skipif(os.geteuid() != 0, reason="installing python3.11 with apt-get needs root")
def test_set_up_without_python_311_gets_one(project: Path, bin_dir: Path, tmp_path: Path) -> None:
    apt_log = tmp_path / "apt-get.log"
    fake_apt = bin_dir / "apt-get"
    fake_apt.write_text(
        "#!/bin/bash\n"
        f'echo "$*" >>{apt_log}\n'
        f'case " $* " in *" install "*" python3.11 "*) {shutil.which("ln")} -s {BASE_PYTHON} '
        f"{bin_dir}/python3.11 ;; esac\n"
    )
    fake_apt.chmod(0o755)
    result = make_venv(project, set_up_env(bin_dir))
    assert_set_up(project, result)

    # uv installs one where it can reach its download host; here (no GitHub) it cannot,
    # and apt-get is asked for Debian's python3.11 (and not for python3.11-venv).
    venv_python = (project / ".venv/bin/python").resolve()
    if venv_python.is_relative_to(project / ".local" / "python"):
        assert not apt_log.exists()
    else:
        assert "uv could not download one" in result.stderr
        assert apt_log.read_text().splitlines()[-1] == "install -y -qq python3.11"
