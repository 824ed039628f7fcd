"""The Kubernetes manifests: every overlay builds with kustomize, passes strict schema validation
and deploys each Stint service hardened, probed over gRPC, autoscaled and configured so that
its settings load."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import certifi
import kubernetes_validate
import pytest
import yaml
from pydantic_settings import BaseSettings
from stint_applications.config import ApplicationsSettings
from stint_listings.config import ListingsSettings
from stint_notifications.config import NotificationsSettings
from stint_payouts.config import DEV_PROVIDER_KEY, PayoutsSettings
from stint_runtime.messaging.kafka_config import kafka_client_options
from stint_runtime.settings import DEFAULT_GRPC_PORTS, DEV_JWT_SECRET, StintSettings, load_settings

from tests.deploy.manifests import (
    K8S,
    OVERLAYS,
    ROOT,
    WORKLOAD_KINDS,
    build,
    config_of,
    containers,
    env_entries,
    hpa_of,
    is_custom_resource,
    named,
    of_kind,
    overlay,
    pod_spec,
    rendered_env,
    secret_value,
    selects,
    server,
    services,
    undefined_references,
    volume_mount_of,
)

KUBERNETES_VERSION = "1.37.0"
SHUTDOWN_GRACE_KEY = "STINT_SHUTDOWN_GRACE_SECONDS"
CUSTOM_API_VERSIONS = {
    "kafka.strimzi.io/v1",
    "monitoring.coreos.com/v1",
    "gateway.networking.k8s.io/v1",
}
SERVICE_SETTINGS: dict[str, type[BaseSettings]] = {
    "listings": ListingsSettings,
    "applications": ApplicationsSettings,
    "payouts": PayoutsSettings,
    "notifications": NotificationsSettings,
}
OWN_SECRETS = {
    "payouts": {"STINT_PAYOUTS_PROVIDER_API_KEY"},
    "notifications": {"STINT_NOTIFICATIONS_SMTP_USERNAME", "STINT_NOTIFICATIONS_SMTP_PASSWORD"},
}
DIGEST = re.compile(r"^[a-z0-9.-]+\.[a-z]+(:\d+)?/[a-z0-9/._-]+@sha256:[0-9a-f]{64}$")


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
    assert all(d["metadata"].get("namespace") == "stint" for d in docs)


def test_strict_validation_rejects_an_unknown_field() -> None:
    """Guards the test above: strict mode must not accept a misspelt field."""
    deployment = copy.deepcopy(services(overlay("dev"))[0])
    pod_spec(deployment)["containers"][0]["readinessProbes"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)


def test_custom_resources_use_the_current_api_versions() -> None:
    """Strimzi 1.0 serves only kafka.strimzi.io/v1; monitoring and Gateway API are at v1."""
    for name in OVERLAYS:
        custom = {d["apiVersion"] for d in overlay(name) if is_custom_resource(d)}
        assert custom == CUSTOM_API_VERSIONS, name
    for path in K8S.rglob("*.yaml"):
        assert "v1beta2" not in path.read_text(), f"{path}: a removed API version"


def test_the_namespace_is_applied_on_its_own() -> None:
    """Deleting the application (kubectl delete -k overlays/...) must not delete the namespace
    and with it the data volumes."""
    for path in (K8S / "base", *(K8S / "overlays" / name for name in OVERLAYS)):
        assert not of_kind(build(path), "Namespace"), path
    (namespace,) = build(K8S / "namespace")
    assert namespace["kind"] == "Namespace"
    assert namespace["metadata"]["name"] == "stint"
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    kubernetes_validate.validate(namespace, KUBERNETES_VERSION, strict=True)


@pytest.mark.parametrize("name", OVERLAYS)
def test_services_run_their_module_with_grpc_probes_on_their_port(name: str) -> None:
    for deployment in services(overlay(name)):
        service = deployment["metadata"]["name"]
        container = server(deployment)
        port = DEFAULT_GRPC_PORTS[service]
        assert container["command"] == ["python", "-m", f"stint_{service}"]
        assert [p["name"] for p in container["ports"]] == ["grpc", "metrics"]
        assert container["ports"][0] == {"name": "grpc", "containerPort": port, "protocol": "TCP"}
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
        volumes = {v["name"]: v for v in spec["volumes"]}
        for container in containers(workload):
            context = container["securityContext"]
            assert context["runAsNonRoot"] is True, where
            assert context["readOnlyRootFilesystem"] is True, where
            assert context["allowPrivilegeEscalation"] is False, where
            assert context["capabilities"] == {"drop": ["ALL"]}, where
            for bound in ("requests", "limits"):
                assert set(container["resources"][bound]) == {"cpu", "memory"}, where
            tmp = [m for m in container["volumeMounts"] if m["mountPath"] == "/tmp"]
            assert tmp, f"{where}/{container['name']}: no writable /tmp"
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
def test_the_autoscaler_alone_owns_the_replica_count(name: str) -> None:
    """A `replicas` field would reset the HPA's count on every apply."""
    docs = overlay(name)
    hpas = of_kind(docs, "HorizontalPodAutoscaler")
    targets = {h["spec"]["scaleTargetRef"]["name"] for h in hpas}
    for deployment in of_kind(docs, "Deployment"):
        if deployment["metadata"]["name"] in targets:
            assert "replicas" not in deployment["spec"], deployment["metadata"]["name"]
    minimum = 2 if name == "production" else 1
    for deployment in services(docs):
        hpa = hpa_of(docs, deployment)
        assert hpa["spec"]["minReplicas"] >= minimum
        assert hpa["spec"]["maxReplicas"] >= hpa["spec"]["minReplicas"]


@pytest.mark.parametrize("name", OVERLAYS)
def test_each_service_has_its_service_account_pdb_hpa_and_service(name: str) -> None:
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

        hpa = hpa_of(docs, deployment)
        assert hpa["apiVersion"] == "autoscaling/v2"
        assert [m["resource"]["name"] for m in hpa["spec"]["metrics"]] == ["cpu"]

        svcs = [s for s in of_kind(docs, "Service") if selects(s["spec"].get("selector"), labels)]
        assert len(svcs) == 1, service
        assert svcs[0]["metadata"]["name"] == service
        assert svcs[0]["spec"]["type"] == "ClusterIP"
        assert svcs[0]["spec"]["ports"][0] == {
            "name": "grpc",
            "port": port,
            "targetPort": "grpc",
            "protocol": "TCP",
            "appProtocol": "grpc",
        }


@pytest.mark.parametrize("name", OVERLAYS)
def test_variables_are_defined_before_they_are_referenced(name: str) -> None:
    """$(POD_NAME) in OTEL_RESOURCE_ATTRIBUTES expands only if POD_NAME comes earlier."""
    docs = overlay(name)
    for workload in (d for d in docs if d["kind"] in WORKLOAD_KINDS):
        for container in containers(workload):
            defined = [
                key
                for source in container.get("envFrom", [])
                for key in named(docs, "ConfigMap", source["configMapRef"]["name"])["data"]
            ]
            assert not undefined_references(container.get("env", []), defined), workload
    for deployment in services(docs):
        order = list(env_entries(deployment))
        attributes = order.index("OTEL_RESOURCE_ATTRIBUTES")
        assert order.index("POD_NAME") < attributes
        assert order.index("POD_NAMESPACE") < attributes
        expanded = rendered_env(docs, deployment)["OTEL_RESOURCE_ATTRIBUTES"]
        assert "$(" not in expanded


def test_a_reference_before_its_definition_is_caught() -> None:
    """Guards the test above with the order this issue found in the manifests."""
    entries: list[dict[str, Any]] = [
        {"name": "OTEL_RESOURCE_ATTRIBUTES", "value": "k8s.pod.name=$(POD_NAME)"},
        {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
    ]
    assert undefined_references(entries, []) == ["OTEL_RESOURCE_ATTRIBUTES -> $(POD_NAME)"]
    assert undefined_references(entries[::-1], []) == []


def known_settings(service: str) -> set[str]:
    """Every environment variable the service reads: the runtime's and its own settings."""
    names = {f"STINT_{field.upper()}" for field in StintSettings.model_fields}
    own = SERVICE_SETTINGS[service]
    prefix = str(own.model_config.get("env_prefix", ""))
    names |= {f"{prefix}{field}".upper() for field in own.model_fields}
    return names


@pytest.mark.parametrize("name", OVERLAYS)
def test_every_service_accepts_its_rendered_settings(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pods would start: the environment built from the ConfigMap and the Secrets passes
    the settings checks, Kafka client options included, and names no setting that is not one."""
    docs = overlay(name)
    for deployment in services(docs):
        service = deployment["metadata"]["name"]
        env = rendered_env(docs, deployment)
        stint_vars = {key for key in env if key.startswith("STINT_")}
        assert stint_vars <= known_settings(service), stint_vars - known_settings(service)
        cafile = env["STINT_KAFKA_SSL_CAFILE"]
        volume_mount_of(server(deployment), cafile)
        with monkeypatch.context() as patched:
            for key, value in env.items():
                patched.setenv(key, value)
            # The CA is mounted from the cluster's Secret; here any valid bundle stands in.
            patched.setenv("STINT_KAFKA_SSL_CAFILE", certifi.where())
            settings = load_settings(service)
            options = kafka_client_options(settings)
            own = SERVICE_SETTINGS[service]()
        assert options["security_protocol"] == "SASL_SSL"
        assert options["sasl_plain_username"] == service
        assert not settings.kafka_create_topics, "the operator provisions topics"
        assert settings.consumer_group == service
        assert settings.grpc_reflection == (name == "dev")
        assert settings.metrics_host == "0.0.0.0"
        assert settings.grpc_max_connection_age_seconds > 0
        assert settings.environment == name
        if name == "production":
            assert settings.jwt_issuer
            assert settings.jwt_audience
            assert settings.jwt_secret.get_secret_value() != DEV_JWT_SECRET
        if isinstance(own, PayoutsSettings):
            assert own.provider_api_base == ("http://127.0.0.1:12111" if name == "dev" else "")


@pytest.mark.parametrize("name", OVERLAYS)
def test_credentials_come_from_secrets_and_required_ones_are_not_optional(name: str) -> None:
    docs = overlay(name)
    required = {"STINT_JWT_SECRET", "STINT_MONGODB_URI", "STINT_KAFKA_SASL_PASSWORD"}
    for deployment in services(docs):
        service = deployment["metadata"]["name"]
        config = config_of(docs, deployment)
        entries = env_entries(deployment)
        secret_backed = {
            key for key, entry in entries.items() if "secretKeyRef" in entry.get("valueFrom", {})
        }
        wanted = required | OWN_SECRETS.get(service, set())
        assert wanted <= secret_backed, service
        for key in wanted:
            assert key not in config, f"{key} must not be in a ConfigMap"
        for key in required | ({"STINT_PAYOUTS_PROVIDER_API_KEY"} & secret_backed):
            assert not entries[key]["valueFrom"]["secretKeyRef"].get("optional"), key


def test_dev_generates_only_development_secrets() -> None:
    docs = overlay("dev")
    for deployment in services(docs):
        env = env_entries(deployment)
        ref = env["STINT_JWT_SECRET"]["valueFrom"]["secretKeyRef"]
        assert secret_value(docs, ref["name"], ref["key"]) == DEV_JWT_SECRET, "`stint token`"
        if deployment["metadata"]["name"] == "payouts":
            ref = env["STINT_PAYOUTS_PROVIDER_API_KEY"]["valueFrom"]["secretKeyRef"]
            assert secret_value(docs, ref["name"], ref["key"]) == DEV_PROVIDER_KEY


def test_the_provider_simulator_runs_only_in_dev_next_to_payouts() -> None:
    simulator = "stint_runtime.stack.payment_provider"
    for name in OVERLAYS:
        docs = overlay(name)
        found = [
            (workload["metadata"]["name"], container)
            for workload in docs
            if workload["kind"] in WORKLOAD_KINDS
            for container in containers(workload)
            if simulator in container.get("command", [])
        ]
        if name == "production":
            assert not found
            continue
        ((owner, container),) = found
        assert owner == "payouts"
        port = container["command"][container["command"].index("--port") + 1]
        env = rendered_env(docs, named(docs, "Deployment", "payouts"))
        assert env["STINT_PAYOUTS_PROVIDER_API_BASE"] == f"http://127.0.0.1:{port}"
        assert hpa_of(docs, named(docs, "Deployment", "payouts"))["spec"]["maxReplicas"] == 1


def test_images_are_set_by_the_overlays_and_pinned_by_digest_in_production() -> None:
    placeholder = [c["image"] for d in services(build(K8S / "base")) for c in containers(d)]
    assert all(re.fullmatch(r"stint/[a-z]+", image) for image in placeholder), placeholder
    for name in OVERLAYS:
        docs = overlay(name)
        for deployment in services(docs):
            service = deployment["metadata"]["name"]
            for container in containers(deployment):
                image = container["image"]
                if name == "production":
                    assert DIGEST.match(image), image
                    assert image.startswith("registry.example.com/stint/")
                else:
                    assert image == f"stint/{service}:dev"
        for workload in (d for d in docs if d["kind"] in WORKLOAD_KINDS):
            for container in containers(workload):
                image = container["image"]
                tag = image.rpartition(":")[2] if "@" not in image else "digest"
                assert tag not in {"", "latest"}, f"{image} is not pinned"
                assert "/" not in tag, f"{image} has no tag"


def test_every_service_with_an_entry_point_is_deployed() -> None:
    """A service exists once services/<name>/stint_<name>/__main__.py does; it must ship too."""
    existing = {
        path.parent.parent.name for path in (ROOT / "services").glob("*/stint_*/__main__.py")
    }
    deployed = {d["metadata"]["name"] for d in services(build(K8S / "base"))}
    missing = existing - deployed
    assert not missing, f"not in deploy/k8s/base (see deploy/k8s/README.md): {sorted(missing)}"
    assert deployed <= set(DEFAULT_GRPC_PORTS)


def test_the_collector_is_where_the_services_send_telemetry() -> None:
    docs = overlay("dev")
    collector = named(docs, "Service", "otel-collector")
    for deployment in services(docs):
        endpoint = urlsplit(config_of(docs, deployment)["STINT_OTEL_ENDPOINT"])
        assert endpoint.hostname == collector["metadata"]["name"]
        assert endpoint.port in {p["port"] for p in collector["spec"]["ports"]}


def test_kustomizations_are_plain_yaml() -> None:
    """Every kustomization parses (a broken one in an unused directory would go unnoticed)."""
    for path in K8S.rglob("kustomization.yaml"):
        assert isinstance(yaml.safe_load(Path(path).read_text()), dict), path
