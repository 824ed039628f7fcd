"""The Envoy edge component (deploy/k8s/components/edge): it renders into each overlay, hardened
like every workload, and its envoy.yaml transcodes every Stint service from the descriptor set
it mounts, serves gRPC-Web with CORS and routes each service to its Kubernetes Service."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from google.api import annotations_pb2  # type: ignore[import-untyped]
from google.protobuf import descriptor_pb2, descriptor_pool
from stint_runtime.edge.descriptors import edge_descriptor_set
from stint_runtime.edge.routes import SERVICE_MODULES

from tests.deploy.manifests import OVERLAYS, Docs, Manifest, overlay, pod_spec
from tests.deploy.test_manifests import KUBERNETES_VERSION
from tools import protogen

ROOT = Path(__file__).resolve().parents[2]
COMPONENT = ROOT / "deploy" / "k8s" / "components" / "edge"
ENVOY = COMPONENT / "envoy.yaml"
DESCRIPTORS = COMPONENT / "stint.binpb"
TRANSCODER = "envoy.filters.http.grpc_json_transcoder"
FILTER_ORDER = [
    "envoy.filters.http.cors",
    "envoy.filters.http.grpc_web",
    TRANSCODER,
    "envoy.filters.http.router",
]
FORWARDED = ("authorization", "idempotency-key")


@pytest.fixture(scope="module", params=OVERLAYS)
def docs(request: pytest.FixtureRequest) -> Docs:
    """An overlay as applied: every overlay lists the edge component."""
    if not DESCRIPTORS.is_file():
        pytest.fail(f"{DESCRIPTORS.relative_to(ROOT)} is missing: run `make proto`")
    return overlay(request.param)


def one(docs: tuple[Manifest, ...], kind: str, prefix: str) -> Manifest:
    found = [d for d in docs if d["kind"] == kind and d["metadata"]["name"].startswith(prefix)]
    assert len(found) == 1, f"{kind} {prefix}*: {len(found)}"
    return found[0]


def envoy_config() -> dict[str, Any]:
    config: dict[str, Any] = yaml.safe_load(ENVOY.read_text())
    return config


def connection_manager(config: dict[str, Any]) -> dict[str, Any]:
    (listener,) = config["static_resources"]["listeners"]
    (chain,) = listener["filter_chains"]
    (hcm,) = chain["filters"]
    typed: dict[str, Any] = hcm["typed_config"]
    return typed


def http_filters(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["name"]: f["typed_config"] for f in connection_manager(config)["http_filters"]}


def walk(node: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield key, value
            yield from walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from walk(item)


def proto_services() -> set[str]:
    """The gRPC services of the contracts, from the image `make proto` builds."""
    image = protogen.load_image()
    return {
        f"{file.package}.{service.name}"
        for file in protogen.ours(image)
        for service in file.service
    }


def test_the_component_renders_hardened_and_valid_in_every_overlay(
    docs: tuple[Manifest, ...],
) -> None:
    edge = [
        d
        for d in docs
        if d["metadata"].get("labels", {}).get("app.kubernetes.io/name") == "stint-edge"
        or d["metadata"]["name"].startswith("stint-edge")
    ]
    kinds = sorted(d["kind"] for d in edge)
    assert kinds == sorted(
        [
            "ConfigMap",
            "ConfigMap",
            "Deployment",
            "NetworkPolicy",
            "PodDisruptionBudget",
            "Service",
            "ServiceAccount",
        ]
    )
    for doc in edge:
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
        assert doc["metadata"]["namespace"] == "stint"
    deployment = one(docs, "Deployment", "stint-edge")
    spec = pod_spec(deployment)
    (container,) = spec["containers"]
    assert spec["automountServiceAccountToken"] is False
    assert spec["securityContext"]["runAsNonRoot"] is True
    context = container["securityContext"]
    assert context["readOnlyRootFilesystem"] is True
    assert context["allowPrivilegeEscalation"] is False
    assert context["capabilities"] == {"drop": ["ALL"]}
    tag = container["image"].rpartition(":")[2]
    assert container["image"].startswith("envoyproxy/envoy:")
    assert tag not in {"", "latest"}
    assert (
        deployment["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/part-of"]
        == "stint-gateway"
    ), "the services' NetworkPolicy admits gateway pods only"


def test_the_pod_mounts_the_generated_config_and_descriptor_set(
    docs: tuple[Manifest, ...],
) -> None:
    deployment = one(docs, "Deployment", "stint-edge")
    spec = pod_spec(deployment)
    (container,) = spec["containers"]
    volumes = {v["name"]: v for v in spec["volumes"]}
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    envoy_map = one(docs, "ConfigMap", "stint-edge-envoy")
    descriptor_map = one(docs, "ConfigMap", "stint-edge-descriptors")
    assert volumes["config"]["configMap"]["name"] == envoy_map["metadata"]["name"]
    assert volumes["descriptors"]["configMap"]["name"] == descriptor_map["metadata"]["name"]
    args = container["args"]
    assert args[args.index("--config-path") + 1] == f"{mounts['config']}/envoy.yaml"
    assert yaml.safe_load(envoy_map["data"]["envoy.yaml"]) == envoy_config()
    transcoder = http_filters(envoy_config())[TRANSCODER]
    assert transcoder["proto_descriptor"] == f"{mounts['descriptors']}/stint.binpb"
    shipped = descriptor_map["binaryData"]["stint.binpb"]
    assert len(shipped) < 256 * 1024, "too large for kubectl apply's last-applied annotation"
    image = (ROOT / "gen" / "stint.binpb").read_bytes()
    assert base64.b64decode(shipped) == edge_descriptor_set(image), "stale: run `make proto`"


def test_the_descriptor_set_has_every_service_with_its_http_bindings() -> None:
    files = descriptor_pb2.FileDescriptorSet.FromString(DESCRIPTORS.read_bytes()).file
    names = {f.name for f in files}
    assert {"google/api/annotations.proto", "google/api/http.proto"} <= names
    services = {}
    for file in files:
        for service in file.service:
            services[f"{file.package}.{service.name}"] = service
    assert proto_services() <= set(services)
    for name in proto_services():
        for method in services[name].method:
            options = descriptor_pb2.MethodOptions.FromString(method.options.SerializeToString())
            assert options.HasExtension(annotations_pb2.http), f"{name}.{method.name}"


def test_the_descriptor_set_builds_in_order_with_the_error_detail_types() -> None:
    """Envoy adds the files to its pool one by one: each after what it imports. The details the
    services put in errors must be there for convert_grpc_status to render them."""
    files = descriptor_pb2.FileDescriptorSet.FromString(DESCRIPTORS.read_bytes()).file
    pool = descriptor_pool.DescriptorPool()
    for file in files:
        pool.Add(file)
    for name in ("google.rpc.Status", "google.rpc.BadRequest", "google.rpc.ErrorInfo"):
        assert pool.FindMessageTypeByName(name).full_name == name
    for name in proto_services():
        assert pool.FindServiceByName(name).methods


def test_envoy_transcodes_every_proto_service_then_grpc_web_and_cors() -> None:
    config = envoy_config()
    filters = http_filters(config)
    assert list(filters) == FILTER_ORDER
    transcoder = filters[TRANSCODER]
    assert set(transcoder["services"]) == proto_services()
    assert len(transcoder["services"]) == len(SERVICE_MODULES)  # the development edge's too
    assert transcoder["convert_grpc_status"] is True
    (host,) = connection_manager(config)["route_config"]["virtual_hosts"]
    cors = host["typed_per_filter_config"]["envoy.filters.http.cors"]
    assert cors["allow_origin_string_match"], "no allowed origin"
    allowed = [h.strip() for h in cors["allow_headers"].split(",")]
    for header in (*FORWARDED, "x-grpc-web", "content-type"):
        assert header in allowed
    assert "grpc-status" in cors["expose_headers"]


def test_authorization_and_idempotency_key_reach_the_services() -> None:
    """Envoy passes request headers on as gRPC metadata unless told otherwise: nothing here may
    remove or rewrite them."""
    for key, value in walk(envoy_config()):
        if key in {"request_headers_to_remove", "request_headers_to_add"}:
            assert not any(header in str(value).lower() for header in FORWARDED), value


def test_each_service_routes_to_its_kubernetes_service(docs: tuple[Manifest, ...]) -> None:
    config = envoy_config()
    (host,) = connection_manager(config)["route_config"]["virtual_hosts"]
    routes = {r["match"]["prefix"]: r["route"]["cluster"] for r in host["routes"] if "route" in r}
    assert set(routes) == {f"/{name}/" for name in proto_services()}
    clusters = {c["name"]: c for c in config["static_resources"]["clusters"]}
    grpc_services = {
        d["metadata"]["name"]: d
        for d in docs
        if d["kind"] == "Service"
        and d["metadata"]["labels"].get("app.kubernetes.io/component") == "grpc-service"
    }
    assert set(routes.values()) == set(grpc_services) == set(clusters)
    for prefix, cluster in routes.items():
        assert prefix.startswith(f"/stint.{cluster}.v1."), (prefix, cluster)
        (endpoints,) = clusters[cluster]["load_assignment"]["endpoints"]
        (endpoint,) = endpoints["lb_endpoints"]
        address = endpoint["endpoint"]["address"]["socket_address"]
        (port,) = [p for p in grpc_services[cluster]["spec"]["ports"] if p["name"] == "grpc"]
        assert (address["address"], address["port_value"]) == (cluster, port["port"])
        options = clusters[cluster]["typed_extension_protocol_options"]
        protocol = options["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"]
        assert "http2_protocol_options" in protocol["explicit_http_config"], "gRPC is HTTP/2"
    policy = one(docs, "NetworkPolicy", "stint-edge")
    allowed_ports = {p["port"] for rule in policy["spec"]["egress"] for p in rule["ports"]}
    grpc_ports = {
        p["port"] for s in grpc_services.values() for p in s["spec"]["ports"] if p["name"] == "grpc"
    }
    assert grpc_ports <= allowed_ports
