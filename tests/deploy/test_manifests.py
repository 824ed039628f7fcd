"""The Kubernetes manifests: every overlay builds with kustomize, passes strict schema validation
and deploys each Stint service hardened, probed over gRPC and covered by its companions."""

from __future__ import annotations

import base64
import copy
import functools
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import kubernetes_validate
import pytest
import yaml
from stint import topics
from stint_runtime.messaging.topics import dead_letter_topic
from stint_runtime.settings import DEFAULT_GRPC_PORTS, DEV_JWT_SECRET, load_settings

Manifest = dict[str, Any]

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
OVERLAYS = ("dev", "production")
KUBERNETES_VERSION = "1.37.0"
SERVICE_LABEL = ("app.kubernetes.io/component", "grpc-service")
WORKLOAD_KINDS = {"Deployment", "StatefulSet", "Job"}
SHUTDOWN_GRACE_KEY = "STINT_SHUTDOWN_GRACE_SECONDS"
# Which service's consumer group reads which topic (DESIGN.md section 1).
CONSUMES = {
    "listings": (topics.APPLICATIONS,),
    "applications": (topics.LISTINGS, topics.PAYOUTS),
    "payouts": (topics.APPLICATIONS,),
    "notifications": (topics.LISTINGS, topics.APPLICATIONS, topics.PAYOUTS),
}


@functools.cache
def build(path: Path) -> tuple[Manifest, ...]:
    """`kubectl kustomize path`, parsed; skips the test when kubectl is not installed."""
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl (with its built-in kustomize) is not installed")
    result = subprocess.run(
        [kubectl, "kustomize", str(path)], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, f"kubectl kustomize {path} failed:\n{result.stderr}"
    return tuple(doc for doc in yaml.safe_load_all(result.stdout) if doc)


def overlay(name: str) -> tuple[Manifest, ...]:
    return build(K8S / "overlays" / name)


def is_custom_resource(doc: Manifest) -> bool:
    """Built-in API groups have no dot or end in .k8s.io; anything else comes from a CRD."""
    group = doc["apiVersion"].rpartition("/")[0]
    return "." in group and not group.endswith(".k8s.io")


def of_kind(docs: tuple[Manifest, ...], kind: str) -> list[Manifest]:
    return [doc for doc in docs if doc["kind"] == kind]


def named(docs: tuple[Manifest, ...], kind: str, name: str) -> Manifest:
    matches = [doc for doc in of_kind(docs, kind) if doc["metadata"]["name"] == name]
    assert len(matches) == 1, f"expected one {kind} {name}, found {len(matches)}"
    return matches[0]


def services(docs: tuple[Manifest, ...]) -> list[Manifest]:
    """The Stint service Deployments (built from the stint-service component)."""
    key, value = SERVICE_LABEL
    found = [d for d in of_kind(docs, "Deployment") if d["metadata"]["labels"].get(key) == value]
    assert found, "no Stint service Deployment in the build"
    return found


def pod_spec(workload: Manifest) -> dict[str, Any]:
    spec: dict[str, Any] = workload["spec"]["template"]["spec"]
    return spec


def server(deployment: Manifest) -> dict[str, Any]:
    (container,) = pod_spec(deployment)["containers"]
    return dict(container)


def selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def config_of(docs: tuple[Manifest, ...], deployment: Manifest) -> dict[str, str]:
    """The ConfigMap a service takes its environment from."""
    (source,) = server(deployment)["envFrom"]
    data: dict[str, str] = named(docs, "ConfigMap", source["configMapRef"]["name"])["data"]
    return data


def image_tag(image: str) -> str:
    name = image.split("@")[0]
    return name.rpartition(":")[2] if ":" in name.rpartition("/")[2] else ""


@pytest.mark.parametrize("name", OVERLAYS)
def test_overlay_passes_strict_schema_validation(name: str) -> None:
    docs = overlay(name)
    errors = []
    for doc in docs:
        if is_custom_resource(doc):
            continue
        try:
            kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as error:
            errors.append(f"{doc['kind']}/{doc['metadata']['name']}: {error.message}")
    assert not errors, "\n".join(errors)
    assert all(d["metadata"].get("namespace") == "stint" for d in docs if d["kind"] != "Namespace")


def test_strict_validation_rejects_an_unknown_field() -> None:
    """Guards the test above: strict mode must not accept a misspelt field."""
    deployment = copy.deepcopy(services(overlay("dev"))[0])
    pod_spec(deployment)["containers"][0]["readinessProbes"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)


def test_only_strimzi_resources_are_custom() -> None:
    custom = {d["apiVersion"] for name in OVERLAYS for d in overlay(name) if is_custom_resource(d)}
    assert custom == {"kafka.strimzi.io/v1beta2"}
    assert not [d for d in overlay("production") if is_custom_resource(d)]


@pytest.mark.parametrize("name", OVERLAYS)
def test_services_run_their_module_with_grpc_probes_on_their_port(name: str) -> None:
    for deployment in services(overlay(name)):
        service = deployment["metadata"]["name"]
        container = server(deployment)
        port = DEFAULT_GRPC_PORTS[service]
        assert container["command"] == ["python", "-m", f"stint_{service}"]
        assert container["image"].split(":")[0] == f"stint/{service}"
        assert container["ports"] == [{"name": "grpc", "containerPort": port, "protocol": "TCP"}]
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            assert container[probe]["grpc"] == {"port": port}, f"{service} {probe}"


@pytest.mark.parametrize("name", OVERLAYS)
def test_every_workload_is_non_root_read_only_and_bounded(name: str) -> None:
    workloads = [d for d in overlay(name) if d["kind"] in WORKLOAD_KINDS]
    assert len(workloads) >= 2
    for workload in workloads:
        spec = pod_spec(workload)
        where = f"{workload['kind']}/{workload['metadata']['name']}"
        assert spec["automountServiceAccountToken"] is False, where
        assert spec["securityContext"]["runAsNonRoot"] is True, where
        assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, where
        for container in spec["containers"]:
            context = container["securityContext"]
            assert context["runAsNonRoot"] is True, where
            assert context["readOnlyRootFilesystem"] is True, where
            assert context["allowPrivilegeEscalation"] is False, where
            assert context["capabilities"] == {"drop": ["ALL"]}, where
            for bound in ("requests", "limits"):
                assert set(container["resources"][bound]) == {"cpu", "memory"}, where
            tmp = [m for m in container["volumeMounts"] if m["mountPath"] == "/tmp"]
            assert tmp, f"{where}: no writable /tmp"
        volumes = {v["name"]: v for v in spec["volumes"]}
        assert "emptyDir" in volumes[tmp[0]["name"]], where


@pytest.mark.parametrize("name", OVERLAYS)
def test_services_run_as_the_image_user_and_outlast_their_drain(name: str) -> None:
    docs = overlay(name)
    for deployment in services(docs):
        spec = pod_spec(deployment)
        assert spec["securityContext"]["runAsUser"] == 10001
        assert server(deployment)["securityContext"]["runAsUser"] == 10001
        drain = float(config_of(docs, deployment)[SHUTDOWN_GRACE_KEY])
        pre_stop = server(deployment)["lifecycle"]["preStop"]["sleep"]["seconds"]
        assert spec["terminationGracePeriodSeconds"] > pre_stop + drain


@pytest.mark.parametrize("name", OVERLAYS)
def test_each_service_has_its_service_account_pdb_hpa_service_and_network_policy(
    name: str,
) -> None:
    docs = overlay(name)
    for deployment in services(docs):
        service = deployment["metadata"]["name"]
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert selects(deployment["spec"]["selector"]["matchLabels"], labels)
        port = DEFAULT_GRPC_PORTS[service]

        account = named(docs, "ServiceAccount", pod_spec(deployment)["serviceAccountName"])
        assert account["automountServiceAccountToken"] is False

        pdbs = [
            p
            for p in of_kind(docs, "PodDisruptionBudget")
            if selects(p["spec"]["selector"]["matchLabels"], labels)
        ]
        assert [p["spec"]["minAvailable"] for p in pdbs] == [1], service

        hpas = [
            h
            for h in of_kind(docs, "HorizontalPodAutoscaler")
            if h["spec"]["scaleTargetRef"]["name"] == service
        ]
        assert len(hpas) == 1, service
        assert hpas[0]["apiVersion"] == "autoscaling/v2"
        assert hpas[0]["spec"]["scaleTargetRef"]["kind"] == "Deployment"
        assert [m["resource"]["name"] for m in hpas[0]["spec"]["metrics"]] == ["cpu"]

        svcs = [s for s in of_kind(docs, "Service") if selects(s["spec"].get("selector"), labels)]
        assert len(svcs) == 1, service
        assert svcs[0]["metadata"]["name"] == service
        assert svcs[0]["spec"]["type"] == "ClusterIP"
        assert svcs[0]["spec"]["ports"] == [
            {
                "name": "grpc",
                "port": port,
                "targetPort": "grpc",
                "protocol": "TCP",
                "appProtocol": "grpc",
            }
        ]

        policies = [
            p
            for p in of_kind(docs, "NetworkPolicy")
            if selects(p["spec"]["podSelector"]["matchLabels"], labels)
        ]
        assert len(policies) == 1, service
        check_network_policy(policies[0]["spec"], name, service)


# Services that talk to the outside world, and the ports they may reach there.
OUTSIDE_EGRESS = {"notifications": {25, 465, 587, 80, 443}}  # SMTP relays, webhook endpoints


def check_network_policy(spec: dict[str, Any], overlay_name: str, service: str = "") -> None:
    assert spec["policyTypes"] == ["Ingress", "Egress"]
    (ingress,) = spec["ingress"]
    assert ingress["ports"] == [{"port": "grpc", "protocol": "TCP"}]
    peers = [peer["podSelector"]["matchLabels"] for peer in ingress["from"]]
    assert {"app.kubernetes.io/part-of": "stint-gateway"} in peers
    egress_ports = {port["port"] for rule in spec["egress"] for port in rule["ports"]}
    allowed = {9092, 27017, 4317, 53} | ({9093} if overlay_name == "production" else set())
    assert egress_ports == allowed | OUTSIDE_EGRESS.get(service, set())
    assert all(rule["ports"] for rule in spec["egress"]), "an egress rule without ports"


@pytest.mark.parametrize("name", OVERLAYS)
def test_every_service_accepts_its_rendered_settings(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pods would start: the config map (plus the JWT Secret) passes the settings checks."""
    docs = overlay(name)
    for deployment in services(docs):
        with monkeypatch.context() as env:
            for key, value in config_of(docs, deployment).items():
                env.setenv(key, value)
            env.setenv("STINT_JWT_SECRET", "a-secret-from-the-operator")
            settings = load_settings(deployment["metadata"]["name"])
        assert not settings.kafka_create_topics, "the operator provisions topics"
        assert settings.grpc_reflection == (name == "dev")
        assert settings.metrics_host == "0.0.0.0"
        if name == "production":
            assert settings.jwt_issuer
            assert settings.jwt_audience


@pytest.mark.parametrize("name", OVERLAYS)
def test_services_are_configured_for_the_cluster(name: str) -> None:
    docs = overlay(name)
    collector = named(docs, "Service", "otel-collector")
    for deployment in services(docs):
        config = config_of(docs, deployment)
        assert config["STINT_GRPC_HOST"] == "0.0.0.0"
        assert config["STINT_ENVIRONMENT"] == name
        assert config["STINT_OTEL_EXPORTER"] == "otlp"
        endpoint = urlsplit(config["STINT_OTEL_ENDPOINT"])
        assert endpoint.hostname == collector["metadata"]["name"]
        assert endpoint.port in {p["port"] for p in collector["spec"]["ports"]}
        assert config["STINT_KAFKA_BOOTSTRAP_SERVERS"]
        assert config["STINT_MONGODB_URI"].startswith("mongodb")
        env = {e["name"]: e for e in server(deployment)["env"]}
        jwt = env["STINT_JWT_SECRET"]["valueFrom"]["secretKeyRef"]
        assert not jwt.get("optional"), "a missing JWT secret must stop the pod starting"
        assert "STINT_JWT_SECRET" not in config


def test_dev_points_services_at_the_in_cluster_kafka_and_mongodb() -> None:
    docs = overlay("dev")
    mongodb = named(docs, "StatefulSet", "mongodb")
    bootstrap = f"{named(docs, 'Kafka', 'stint')['metadata']['name']}-kafka-bootstrap:9092"
    for deployment in services(docs):
        config = config_of(docs, deployment)
        assert config["STINT_KAFKA_BOOTSTRAP_SERVERS"] == bootstrap
        uri = urlsplit(config["STINT_MONGODB_URI"])
        hosts = sorted(uri.netloc.split(","))
        members = range(mongodb["spec"]["replicas"])
        assert hosts == [f"mongodb-{i}.{mongodb['spec']['serviceName']}:27017" for i in members]
        replica_set = re.search(r"--replSet=(\w+)", " ".join(server(mongodb)["command"]))
        assert replica_set is not None
        assert f"replicaSet={replica_set.group(1)}" in uri.query
        env = {e["name"]: e for e in server(deployment)["env"]}
        secret_name = env["STINT_JWT_SECRET"]["valueFrom"]["secretKeyRef"]["name"]
        secret = named(docs, "Secret", secret_name)["data"]["jwt-secret"]
        assert base64.b64decode(secret).decode() == DEV_JWT_SECRET, "`stint token` must work"
        assert deployment["spec"]["replicas"] == 1
    assert mongodb["spec"]["replicas"] == 3
    headless = named(docs, "Service", mongodb["spec"]["serviceName"])
    assert headless["spec"]["clusterIP"] == "None"
    assert of_kind(docs, "Job"), "nothing initiates the MongoDB replica set"


def test_production_is_highly_available_external_and_pinned() -> None:
    docs = overlay("production")
    for deployment in services(docs):
        service = deployment["metadata"]["name"]
        assert deployment["spec"]["replicas"] >= 2, service
        hpa = named(docs, "HorizontalPodAutoscaler", service)
        assert hpa["spec"]["minReplicas"] >= 2, service
        config = config_of(docs, deployment)
        assert "stint-kafka-bootstrap" not in config["STINT_KAFKA_BOOTSTRAP_SERVERS"]
        assert "mongodb-0.mongodb" not in config["STINT_MONGODB_URI"]
    for workload in (d for d in docs if d["kind"] in WORKLOAD_KINDS):
        for container in pod_spec(workload)["containers"]:
            tag = image_tag(container["image"])
            assert tag not in {"", "latest"}, f"{container['image']} is not pinned"
    assert not of_kind(docs, "Secret"), "production secrets come from the operator"
    assert not of_kind(docs, "StatefulSet"), "production uses external MongoDB"


@pytest.mark.parametrize("path", ["infra/strimzi", "overlays/dev"])
def test_kafka_topics_are_every_contract_topic_and_each_consumers_dead_letter_topic(
    path: str,
) -> None:
    docs = build(K8S / path)
    kafka = named(docs, "Kafka", "stint")
    (pool,) = of_kind(docs, "KafkaNodePool")
    assert pool["metadata"]["labels"]["strimzi.io/cluster"] == kafka["metadata"]["name"]
    brokers = pool["spec"]["replicas"]
    dead_letters = {dead_letter_topic(g, t) for g, consumed in CONSUMES.items() for t in consumed}
    found = {}
    for topic in of_kind(docs, "KafkaTopic"):
        assert topic["metadata"]["labels"]["strimzi.io/cluster"] == kafka["metadata"]["name"]
        found[topic["spec"]["topicName"]] = topic["spec"]
    assert set(found) == set(topics.ALL) | dead_letters
    for name, spec in found.items():
        assert spec["replicas"] <= brokers, name
        assert spec["config"]["min.insync.replicas"] <= spec["replicas"], name
    config = kafka["spec"]["kafka"]["config"]
    assert config["offsets.topic.replication.factor"] <= brokers
    assert config["auto.create.topics.enable"] is False


def test_every_service_with_an_entry_point_is_deployed() -> None:
    """A service exists once services/<name>/stint_<name>/__main__.py does; it must ship too."""
    existing = {
        path.parent.parent.name for path in (ROOT / "services").glob("*/stint_*/__main__.py")
    }
    deployed = {d["metadata"]["name"] for d in services(build(K8S / "base"))}
    missing = existing - deployed
    assert not missing, f"not in deploy/k8s/base (see deploy/k8s/README.md): {sorted(missing)}"
    assert deployed <= set(DEFAULT_GRPC_PORTS)
