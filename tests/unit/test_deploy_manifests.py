"""The Kubernetes overlays (deploy/k8s), rendered by ``kubectl kustomize``: valid against
the Kubernetes schemas, hardened, Secrets only referenced, every setting one the services
read and accept, and the operator overlay's topics and databases the ones the code uses."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from crewline.events import ALL_TOPICS
from dispatcher.settings import DispatcherSettings
from ledger.settings import LedgerSettings
from matcher.settings import MatcherSettings
from quality.settings import QualitySettings

ROOT = Path(__file__).resolve().parents[2]
OVERLAYS = sorted(p.name for p in (ROOT / "deploy" / "k8s" / "overlays").iterdir())
K8S_VERSION = "1.32.0"  # the oldest Kubernetes the manifests are meant for
# Resources whose schema kubernetes-validate does not ship: the operators' own kinds.
OPERATOR_KINDS = {
    ("kafka.strimzi.io/v1beta2", "Kafka"),
    ("kafka.strimzi.io/v1beta2", "KafkaNodePool"),
    ("kafka.strimzi.io/v1beta2", "KafkaTopic"),
    ("postgresql.cnpg.io/v1", "Cluster"),
    ("postgresql.cnpg.io/v1", "Database"),
}
LOADERS: dict[str, Callable[[Any], Any]] = {
    "dispatcher": DispatcherSettings.from_env,
    "matcher": MatcherSettings.from_env,
    "ledger": LedgerSettings.from_env,
    "quality": QualitySettings.from_env,
}

Resource = dict[str, Any]


@cache
def rendered(overlay: str) -> tuple[Resource, ...]:
    kubectl = shutil.which("kubectl")
    assert kubectl, "kubectl (with its built-in kustomize) is needed to render deploy/k8s"
    out = subprocess.run(
        [kubectl, "kustomize", str(ROOT / "deploy" / "k8s" / "overlays" / overlay)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return tuple(r for r in yaml.safe_load_all(out) if r)


def of_kind(overlay: str, kind: str) -> Iterator[Resource]:
    return (r for r in rendered(overlay) if r["kind"] == kind)


def config(overlay: str) -> dict[str, str]:
    (cm,) = (
        r
        for r in of_kind(overlay, "ConfigMap")
        if r["metadata"]["name"].startswith("crewline-config")
    )
    return dict(cm["data"])


def container(deployment: Resource) -> Resource:
    (only,) = deployment["spec"]["template"]["spec"]["containers"]
    return dict(only)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_resource_validates_and_only_operator_kinds_lack_a_schema(overlay: str) -> None:
    unchecked = set()
    for resource in rendered(overlay):
        try:
            kubernetes_validate.validate(resource, K8S_VERSION, strict=True)
        except kubernetes_validate.SchemaNotFoundError:
            unchecked.add((resource["apiVersion"], resource["kind"]))
    assert unchecked <= OPERATOR_KINDS  # a misspelt apiVersion of a built-in kind fails here


def test_a_wrong_field_fails_validation() -> None:
    deployment = next(of_kind("production", "Deployment"))
    broken = {**deployment, "spec": {**deployment["spec"], "replica": 2}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, K8S_VERSION, strict=True)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_service_runs_hardened_with_grpc_probes_and_a_pause_before_sigterm(
    overlay: str,
) -> None:
    deployments = {d["metadata"]["name"]: d for d in of_kind(overlay, "Deployment")}
    assert set(deployments) == set(LOADERS)
    grace = float(config(overlay)["CREWLINE_SHUTDOWN_GRACE_SECONDS"])
    for name, deployment in deployments.items():
        pod = deployment["spec"]["template"]["spec"]
        c = container(deployment)
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        assert pod["automountServiceAccountToken"] is False
        sc = c["securityContext"]
        assert sc["readOnlyRootFilesystem"] is True and sc["allowPrivilegeEscalation"] is False
        assert sc["capabilities"] == {"drop": ["ALL"]}
        assert set(c["resources"]) == {"requests", "limits"}, name
        (grpc_port,) = [p["containerPort"] for p in c["ports"] if p["name"] == "grpc"]
        assert c["livenessProbe"]["grpc"] == {"port": grpc_port, "service": "liveness"}
        assert c["readinessProbe"]["grpc"] == {"port": grpc_port, "service": "readiness"}
        assert c["startupProbe"]["grpc"]["port"] == grpc_port
        pause = c["lifecycle"]["preStop"]["sleep"]["seconds"]
        # The pause, then the drain, and still time for consumers and the relay to finish.
        assert pod["terminationGracePeriodSeconds"] >= pause + grace + 10, name
        assert c["command"] == ["python", "-m", name]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_secrets_are_referenced_never_inlined(overlay: str) -> None:
    assert not list(of_kind(overlay, "Secret"))
    for deployment in of_kind(overlay, "Deployment"):
        for var in container(deployment).get("env", []):
            if any(w in var["name"] for w in ("PASSWORD", "CREDENTIAL", "SIGNING_KEY")):
                assert "valueFrom" in var or var["name"].endswith("_FILE"), var
    for key in config(overlay):
        assert not any(w in key for w in ("PASSWORD", "CREDENTIAL_SHA256")), key


class _Recording(dict[str, str]):
    """An environment that remembers which variables were asked for."""

    def __init__(self, values: dict[str, str]) -> None:
        super().__init__(values)
        self.read: set[str] = set()

    def get(self, key: str, default: Any = None) -> Any:
        self.read.add(key)
        return super().get(key, default)

    def __getitem__(self, key: str) -> str:
        self.read.add(key)
        return super().__getitem__(key)


def pod_environment(overlay: str, deployment: Resource, secrets_dir: Path) -> dict[str, str]:
    """The container's environment as the service would see it: the ConfigMap, the env
    entries, stand-ins for Secret values, and mounted files under ``secrets_dir``."""
    env = dict(config(overlay))
    for var in container(deployment).get("env", []):
        env[var["name"]] = var.get("value", "0" * 64)  # a Secret's value: a digest-shaped stand-in
    mount = "/var/lib/crewline/secrets/"
    for name, value in env.items():
        if value.startswith(mount):
            stand_in = secrets_dir / value.removeprefix(mount)
            stand_in.write_text("-----BEGIN PUBLIC KEY-----\n")
            env[name] = str(stand_in)
    return env


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_setting_given_is_one_the_service_reads_and_accepts(
    overlay: str, tmp_path: Path
) -> None:
    for deployment in of_kind(overlay, "Deployment"):
        name = deployment["metadata"]["name"]
        env = _Recording(pod_environment(overlay, deployment, tmp_path))
        settings = LOADERS[name](env)  # raises SettingsError on a malformed value
        given = {k for k in env if k.startswith("CREWLINE_")}
        # Each service reads its own variables; another service's (its database, say) are
        # shared ConfigMap entries that service reads.
        others = {f"CREWLINE_{o.upper()}_" for o in LOADERS if o != name}
        unread = {k for k in given - env.read if not k.startswith(tuple(others))}
        assert unread == set(), f"{name} ignores {sorted(unread)}"
        (grpc_port,) = [
            p["containerPort"] for p in container(deployment)["ports"] if p["name"] == "grpc"
        ]
        assert (settings.service.grpc_host, settings.service.grpc_port) == ("0.0.0.0", grpc_port)
        assert settings.service.postgres.database == f"crewline_{name}"


def test_the_operator_overlay_makes_the_topics_and_databases_the_services_use() -> None:
    cfg = config("operators")
    topics = {t["spec"]["topicName"]: t["spec"] for t in of_kind("operators", "KafkaTopic")}
    assert set(topics) == set(ALL_TOPICS)
    assert {t["partitions"] for t in topics.values()} == {int(cfg["CREWLINE_TOPIC_PARTITIONS"])}
    (kafka,) = of_kind("operators", "Kafka")
    assert cfg["CREWLINE_KAFKA_BOOTSTRAP"] == f"{kafka['metadata']['name']}-kafka-bootstrap:9092"
    (cluster,) = of_kind("operators", "Cluster")
    assert cfg["CREWLINE_PG_HOST"] == f"{cluster['metadata']['name']}-rw"
    databases = {cluster["spec"]["bootstrap"]["initdb"]["database"]}
    databases |= {d["spec"]["name"] for d in of_kind("operators", "Database")}
    assert databases == {v for k, v in cfg.items() if k.endswith("_PG_DB")}
    # The services log in with the Secret the cluster's owner is made from.
    assert cluster["spec"]["bootstrap"]["initdb"]["secret"]["name"] == "crewline-postgres"
    assert cluster["spec"]["bootstrap"]["initdb"]["owner"] == cfg["CREWLINE_PG_USER"]
