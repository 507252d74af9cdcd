"""The container image, built by deploy/image/build.sh (podman, on a Debian base made on
this machine) and run: as its non-root user, and as the four services on the host
network, where they join the test stack's PostgreSQL and Kafka and answer health.

The fixture builds what changed (the base once; then the image's layers, from the cache
when nothing changed), so the image tested is the tree's. Skipped only where it cannot be
built: rootful podman and debootstrap need root, and build.sh installs the tools only with
apt-get."""

from __future__ import annotations

import asyncio
import functools
import os
import shutil
import subprocess
import urllib.request
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from crewline.cli import wait_healthy

from harness import SERVICES, ServiceProcess, service_env
from stack import ROOT, RUN_ID, eventually, fresh_database, kafka_settings, run_secrets, start_infra

pytestmark = pytest.mark.timeout(900)  # a first build: debootstrap, then the image (~2 min here)

IMAGE = os.environ.get("CREWLINE_IMAGE", "localhost/crewline:local")
UID = 10001  # the Dockerfile's non-root user
SECRETS = "/var/lib/crewline/secrets"  # where the image expects mounted key material
PODMAN_ENV = {
    **os.environ,
    "CONTAINERS_CONF": os.environ.get(
        "CONTAINERS_CONF", str(ROOT / "deploy" / "image" / "containers.conf")
    ),
}


def podman(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["podman", *args], env=PODMAN_ENV, capture_output=True, text=True, timeout=timeout
    )


@pytest.fixture(scope="module")
def image() -> str:
    if os.geteuid() != 0:
        pytest.skip("the image is built with debootstrap and rootful podman: run as root")
    if not shutil.which("podman") and not shutil.which("apt-get"):
        pytest.skip("podman is not installed and apt-get cannot install it (podman, runc)")
    build = subprocess.run(
        ["bash", str(ROOT / "deploy" / "image" / "build.sh")],
        env={**PODMAN_ENV, "CREWLINE_IMAGE": IMAGE},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=840,
    )
    assert build.returncode == 0, build.stdout[-4000:]
    return IMAGE


def test_the_image_runs_as_its_non_root_user(image: str) -> None:
    ran = podman("run", "--rm", image, "id")
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.startswith(f"uid={UID}(crewline) gid={UID}(crewline)"), ran.stdout


@dataclass
class Container(ServiceProcess):
    """A service in a container on the host network, run in the foreground so that
    SIGTERM to podman reaches the service (podman proxies it) and a test process that
    dies takes it along."""

    image: str = IMAGE
    secrets: Path = Path(SECRETS)  # the host's folder mounted at SECRETS

    def start(self) -> None:
        options = [f"--name=crewline-{RUN_ID}-{self.name}", "--network=host"]
        options += [f"--volume={self.secrets}:{SECRETS}:ro"]
        options += [f"--env={k}={v}" for k, v in self.env.items()]
        command = [self.image, "python", "-m", self.name]
        self._log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            ["setpriv", "--pdeathsig", "TERM", "--", "podman", "run", "--rm", *options, *command],
            env=PODMAN_ENV,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def metrics(self) -> str:
        with urllib.request.urlopen(self.metrics_url, timeout=5) as reply:
            return str(reply.read().decode())


def container_secrets(directory: Path) -> Path:
    """The test run's key material, readable by the image's user only."""
    directory.mkdir(mode=0o700)
    source = run_secrets()
    for path in (source.operator_file, source.public_key_file, source.signing_key_file):
        shutil.copy(path, directory / path.name)
    for path in (directory, *directory.iterdir()):
        os.chown(path, UID, UID)
    return directory


@pytest.fixture
async def containers(image: str, tmp_path: Path) -> AsyncIterator[dict[str, Container]]:
    start_infra()
    kafka = kafka_settings("image", partitions=3)
    kafka_env = {
        "CREWLINE_KAFKA_BOOTSTRAP": kafka.bootstrap_servers,
        "CREWLINE_KAFKA_NAMESPACE": kafka.namespace,
        "CREWLINE_TOPIC_PARTITIONS": str(kafka.topic_partitions),
    }
    # The image's own `python -m crewline.cli topics`, as Compose and Kubernetes run it.
    topics = podman(
        "run", "--rm", "--network", "host", *[f"--env={k}={v}" for k, v in kafka_env.items()],
        image, "python", "-m", "crewline.cli", "topics",
    )  # fmt: skip
    assert topics.returncode == 0 and "created" in topics.stdout, topics.stdout + topics.stderr
    secrets = container_secrets(tmp_path / "secrets")
    running: dict[str, Container] = {}
    for name in SERVICES:
        db = await fresh_database(f"image_{name}")
        env, addr, metrics_url = service_env(name, kafka.namespace, db.database)
        env = {k: v for k, v in env.items() if k.startswith("CREWLINE_")} | kafka_env
        for var in [v for v in env if v.endswith("_FILE") or v.endswith("_FILES")]:
            env[var] = f"{SECRETS}/{Path(env[var]).name}"
        log = tmp_path / f"{name}.log"
        running[name] = Container(name, env, log, addr, metrics_url, image=image, secrets=secrets)
        running[name].start()
    try:
        yield running
    finally:
        for container in running.values():
            container.terminate(timeout=90)


async def test_services_from_the_image_join_the_stack_and_answer_health(
    containers: dict[str, Container],
) -> None:
    addrs = [c.grpc_addr for c in containers.values()]
    statuses = await wait_healthy(addrs, timeout=120)
    logs = {n: c.log_path.read_text(errors="replace")[-2000:] for n, c in containers.items()}
    assert set(statuses.values()) == {"SERVING"}, (statuses, logs)

    # Each one's consumer joined its group on the stack's Kafka and holds partitions, and
    # its probes see both dependencies.
    async def joined(container: Container) -> bool:
        metrics = await asyncio.to_thread(container.metrics)
        return (
            await container.holds_partitions()
            and 'dependency_up{dependency="kafka"} 1.0' in metrics
            and 'dependency_up{dependency="postgres"} 1.0' in metrics
        )

    for container in containers.values():
        await eventually(functools.partial(joined, container), timeout=90)

    # SIGTERM (the image's STOPSIGNAL) drains each service, which exits 0.
    assert {n: c.terminate() for n, c in containers.items()} == dict.fromkeys(containers, 0)
