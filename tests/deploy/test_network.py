"""Network policy: the namespace denies everything by default; specific policies then allow each
service in from gateways, the other services and Prometheus, and out only to Kafka, MongoDB,
the collector, DNS and (per service) its SMTP relay, provider or webhook endpoints."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest
from stint_runtime.settings import load_settings

from tests.deploy.manifests import (
    OVERLAYS,
    WORKLOAD_KINDS,
    Docs,
    Manifest,
    config_of,
    named,
    of_kind,
    overlay,
    pod_labels,
    pod_spec,
    rendered_env,
    selects,
    services,
)

DNS = {("UDP", 53), ("TCP", 53)}
PRIVATE_RANGES = {"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16"}
# Egress beyond the cluster, by policy: the only rules that may name addresses outside it.
OUTSIDE = {
    # The provider's API (placeholder range until the operator sets Stripe's or a proxy's).
    "payouts": [({"198.51.100.0/24"}, {443})],
    # The SMTP relay (placeholder address), and webhooks: any public address, HTTPS only.
    "notifications": [({"192.0.2.25/32"}, {587, 465}), ({"0.0.0.0/0"}, {443})],
    # The Topic and User Operators talk to the Kubernetes API server.
    "kafka-entity-operator-api": [({"0.0.0.0/0"}, {443, 6443})],
}


def policies_for(docs: Docs, labels: dict[str, str]) -> list[Manifest]:
    """The policies whose pod selector picks pods with these labels (default deny included)."""
    found = []
    for policy in of_kind(docs, "NetworkPolicy"):
        selector = policy["spec"]["podSelector"].get("matchLabels", {})
        if not selector or selects(selector, labels):
            found.append(policy)
    return found


def ports(rule: dict[str, Any]) -> set[tuple[str, int | str]]:
    return {(p.get("protocol", "TCP"), p["port"]) for p in rule.get("ports", [])}


def peers(rule: dict[str, Any], direction: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = rule.get(direction, [])
    return found


def cidrs(rule: dict[str, Any]) -> set[str]:
    return {peer["ipBlock"]["cidr"] for peer in peers(rule, "to") if "ipBlock" in peer}


@pytest.mark.parametrize("name", OVERLAYS)
def test_the_namespace_denies_all_traffic_by_default(name: str) -> None:
    docs = overlay(name)
    default = named(docs, "NetworkPolicy", "default-deny")
    assert default["spec"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    others = [p for p in of_kind(docs, "NetworkPolicy") if p is not default]
    assert all(p["spec"]["podSelector"].get("matchLabels") for p in others), "a second catch-all"


@pytest.mark.parametrize("name", OVERLAYS)
def test_every_pod_has_an_allow_policy_and_every_egress_rule_names_its_peers(name: str) -> None:
    docs = overlay(name)
    for workload in (d for d in docs if d["kind"] in WORKLOAD_KINDS):
        allows = [p for p in policies_for(docs, pod_labels(workload)) if p["spec"]["podSelector"]]
        assert allows, f"{workload['kind']}/{workload['metadata']['name']} has no allow policy"
    outside: dict[str, list[tuple[set[str], set[int | str]]]] = {}
    for policy in of_kind(docs, "NetworkPolicy"):
        for rule in policy["spec"].get("egress", []):
            assert peers(rule, "to"), f"{policy['metadata']['name']}: egress to any address"
            blocks = cidrs(rule)
            if blocks:
                outside.setdefault(policy["metadata"]["name"], []).append(
                    (blocks, {port for _, port in ports(rule)})
                )
                if (
                    "0.0.0.0/0" in blocks
                    and policy["metadata"]["name"] != "kafka-entity-operator-api"
                ):
                    (peer,) = peers(rule, "to")
                    assert set(peer["ipBlock"]["except"]) >= PRIVATE_RANGES, policy
    assert outside == OUTSIDE


@pytest.mark.parametrize("name", OVERLAYS)
def test_services_reach_only_kafka_mongodb_the_collector_and_dns(name: str) -> None:
    docs = overlay(name)
    kafka_pods = {"strimzi.io/cluster": "stint", "strimzi.io/broker-role": "true"}
    mongodb = named(docs, "StatefulSet", "mongodb")
    collector = named(docs, "Deployment", "otel-collector")
    for deployment in services(docs):
        service = deployment["metadata"]["name"]
        config = config_of(docs, deployment)
        (policy,) = [
            p
            for p in policies_for(docs, pod_labels(deployment))
            if p["metadata"]["name"] != "default-deny"
        ]
        spec = policy["spec"]
        assert spec["policyTypes"] == ["Ingress", "Egress"]
        in_cluster = {}
        for rule in spec["egress"]:
            if cidrs(rule):
                continue
            (peer,) = peers(rule, "to")
            key = "dns" if "namespaceSelector" in peer else "pods"
            in_cluster[(key, tuple(sorted(peer["podSelector"]["matchLabels"].items())))] = ports(
                rule
            )
        kafka_port = int(config["STINT_KAFKA_BOOTSTRAP_SERVERS"].rpartition(":")[2])
        (mongo_port,) = {
            p["containerPort"] for c in pod_spec(mongodb)["containers"] for p in c["ports"]
        }
        otel_port = urlsplit(config["STINT_OTEL_ENDPOINT"]).port
        expected = {
            ("pods", tuple(sorted(kafka_pods.items()))): {("TCP", kafka_port)},
            ("pods", tuple(sorted(mongodb["spec"]["selector"]["matchLabels"].items()))): {
                ("TCP", mongo_port)
            },
            ("pods", tuple(sorted(collector["spec"]["selector"]["matchLabels"].items()))): {
                ("TCP", otel_port)
            },
            ("dns", (("k8s-app", "kube-dns"),)): DNS,
        }
        assert in_cluster == expected, service


@pytest.mark.parametrize("name", OVERLAYS)
def test_services_admit_gateways_services_and_prometheus_on_their_own_ports(name: str) -> None:
    docs = overlay(name)
    for deployment in services(docs):
        (policy,) = [
            p
            for p in policies_for(docs, pod_labels(deployment))
            if p["metadata"]["name"] != "default-deny"
        ]
        grpc, metrics = policy["spec"]["ingress"]
        assert ports(grpc) == {("TCP", "grpc")}
        sources = [peer["podSelector"]["matchLabels"] for peer in peers(grpc, "from")]
        assert {"app.kubernetes.io/part-of": "stint-gateway"} in sources
        assert pod_labels(deployment) | sources[-1] == pod_labels(deployment)
        assert ports(metrics) == {("TCP", "metrics")}
        (prometheus,) = peers(metrics, "from")
        assert set(prometheus) == {"namespaceSelector"}
    gateway = named(docs, "Gateway", "stint")
    gateway_pods = gateway["spec"]["infrastructure"]["labels"]
    assert gateway_pods == {"app.kubernetes.io/part-of": "stint-gateway"}
    (allow,) = [p for p in policies_for(docs, gateway_pods) if p["spec"]["podSelector"]]
    listener_ports = {listener["port"] for listener in gateway["spec"]["listeners"]}
    assert listener_ports <= {port for _, port in ports(allow["spec"]["ingress"][0])}


@pytest.mark.parametrize("name", OVERLAYS)
def test_notifications_sends_mail_on_a_port_its_policy_allows(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    docs = overlay(name)
    deployment = named(docs, "Deployment", "notifications")
    with monkeypatch.context() as patched:
        for key, value in rendered_env(docs, deployment).items():
            patched.setenv(key, value)
        settings = load_settings("notifications")
    ((relay, allowed), _webhooks) = OUTSIDE["notifications"]
    assert settings.smtp_port in allowed
    (policy,) = [
        p
        for p in policies_for(docs, pod_labels(deployment))
        if p["metadata"]["name"] != "default-deny"
    ]
    assert any(cidrs(rule) == relay for rule in policy["spec"]["egress"])
