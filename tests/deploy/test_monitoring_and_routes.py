"""Prometheus Operator and Gateway API resources: a ServiceMonitor per service on the port its
settings serve /metrics on, the on-call alerts on metrics the services export, and a GRPCRoute
per service through a TLS listener of the Gateway."""

from __future__ import annotations

import re

import pytest
from opentelemetry.metrics import Counter, Instrument
from stint_payouts import metrics as payouts_metrics
from stint_runtime import metrics
from stint_runtime.settings import load_settings

from tests.deploy.manifests import (
    OVERLAYS,
    Docs,
    Manifest,
    named,
    of_kind,
    overlay,
    rendered_env,
    selects,
    server,
    service_names,
    services,
)
from tests.deploy.test_manifests import SERVICE_SETTINGS

MONITORING = "monitoring.coreos.com/v1"
GATEWAY_API = "gateway.networking.k8s.io/v1"
# What the on-call engineer must hear about (issue 12), by alert name.
REQUIRED_ALERTS = {
    "StintDeadLettersGrowing",
    "StintConsumerLagHigh",
    "StintOutboxParked",
    "StintOutboxOld",
    "StintPayoutsFailed",
    "StintReconciliationDrift",
    "StintNoServingPods",
}
METRIC = re.compile(r"\b(stint_[a-z_]+|kube_[a-z_]+)\b")


def exported_metrics() -> set[str]:
    """The Prometheus names of the runtime's and payouts' instruments (counters gain `_total`).
    The API exposes no public name on an instrument; the proxies keep it in `_name`."""
    names = set()
    for value in [*vars(metrics).values(), *vars(payouts_metrics).values()]:
        if isinstance(value, Instrument):
            name = str(getattr(value, "_name", ""))
            names.add(f"{name}_total" if isinstance(value, Counter) else name)
    return {name for name in names if name.startswith("stint_")}


def grpc_service_names() -> dict[str, str]:
    """Each service's gRPC service full name, from its declared policy module."""
    from stint_applications.entrypoints.policy import APPLICATIONS_SERVICE
    from stint_listings.entrypoints.policy import LISTINGS_SERVICE
    from stint_notifications.entrypoints.policy import NOTIFICATIONS_SERVICE
    from stint_payouts.entrypoints.policy import PAYOUTS_SERVICE

    descriptors = (LISTINGS_SERVICE, APPLICATIONS_SERVICE, PAYOUTS_SERVICE, NOTIFICATIONS_SERVICE)
    return {d.full_name.split(".")[1]: d.full_name for d in descriptors}


def check_service_monitor(monitor: Manifest) -> None:
    assert monitor["apiVersion"] == MONITORING
    spec = monitor["spec"]
    assert spec["selector"]["matchLabels"]
    assert spec["endpoints"]
    for endpoint in spec["endpoints"]:
        assert {"port", "path"} <= set(endpoint)


def check_rule(rule: Manifest) -> list[dict[str, object]]:
    assert rule["apiVersion"] == MONITORING
    alerts = []
    for group in rule["spec"]["groups"]:
        assert group["name"]
        for entry in group["rules"]:
            assert {"alert", "expr", "labels", "annotations"} <= set(entry), entry
            assert entry["labels"]["severity"] in {"warning", "critical"}
            assert entry["annotations"]["summary"]
            alerts.append(entry)
    return alerts


def check_gateway(gateway: Manifest) -> None:
    assert gateway["apiVersion"] == GATEWAY_API
    spec = gateway["spec"]
    assert spec["gatewayClassName"]
    for listener in spec["listeners"]:
        assert {"name", "port", "protocol"} <= set(listener)
        assert listener["protocol"] == "HTTPS", "TLS on the listener"
        tls = listener["tls"]
        assert tls["mode"] == "Terminate"
        assert tls["certificateRefs"]


def routes_of(docs: Docs, service: str) -> list[Manifest]:
    return [
        route
        for route in of_kind(docs, "GRPCRoute")
        if any(
            ref["name"] == service for rule in route["spec"]["rules"] for ref in rule["backendRefs"]
        )
    ]


@pytest.mark.parametrize("name", OVERLAYS)
def test_each_service_is_scraped_on_the_port_its_settings_serve_metrics_on(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    docs = overlay(name)
    monitors = of_kind(docs, "ServiceMonitor")
    for monitor in monitors:
        check_service_monitor(monitor)
    assert len(monitors) == len(services(docs))
    for deployment in services(docs):
        service = deployment["metadata"]["name"]
        svc = named(docs, "Service", service)
        (monitor,) = [
            m
            for m in monitors
            if selects(m["spec"]["selector"]["matchLabels"], svc["metadata"]["labels"])
        ]
        (endpoint,) = monitor["spec"]["endpoints"]
        assert endpoint["path"] == "/metrics"
        (port,) = [p for p in svc["spec"]["ports"] if p["name"] == endpoint["port"]]
        (container_port,) = [
            p for p in server(deployment)["ports"] if p["name"] == port["targetPort"]
        ]
        with monkeypatch.context() as patched:
            for key, value in rendered_env(docs, deployment).items():
                patched.setenv(key, value)
            settings = load_settings(service)
            SERVICE_SETTINGS[service]()
        assert settings.metrics_port_or_default == container_port["containerPort"]
        assert settings.metrics_host == "0.0.0.0"


@pytest.mark.parametrize("name", OVERLAYS)
def test_the_alerts_cover_the_on_call_cases_on_exported_metrics(name: str) -> None:
    docs = overlay(name)
    (rule,) = of_kind(docs, "PrometheusRule")
    alerts = {str(a["alert"]): str(a["expr"]) for a in check_rule(rule)}
    assert set(alerts) >= REQUIRED_ALERTS
    exported = exported_metrics()
    assert {"stint_dead_letters_total", "stint_consumer_lag", "stint_outbox_parked"} <= exported
    for alert, expr in alerts.items():
        for metric in METRIC.findall(expr):
            if metric.startswith("kube_"):
                continue  # kube-state-metrics
            assert metric in exported, f"{alert}: {metric} is not exported"
    deployments = re.search(r'deployment=~"([^"]+)"', alerts["StintNoServingPods"])
    assert deployments is not None
    assert sorted(deployments.group(1).split("|")) == service_names(docs)
    assert "stint_payouts_failed_total" in alerts["StintPayoutsFailed"]
    assert "stint_payouts_reconciliation_drifts" in alerts["StintReconciliationDrift"]


@pytest.mark.parametrize("name", OVERLAYS)
def test_each_service_has_a_grpc_route_through_the_tls_listener(name: str) -> None:
    docs = overlay(name)
    gateways = {g["metadata"]["name"]: g for g in of_kind(docs, "Gateway")}
    for gateway in gateways.values():
        check_gateway(gateway)
    wanted = grpc_service_names()
    for deployment in services(docs):
        service = deployment["metadata"]["name"]
        (route,) = routes_of(docs, service)
        assert route["apiVersion"] == GATEWAY_API
        for parent in route["spec"]["parentRefs"]:
            gateway = gateways[parent["name"]]
            listeners = {lst["name"]: lst for lst in gateway["spec"]["listeners"]}
            listener = listeners[parent["sectionName"]]
            kinds = [k["kind"] for k in listener["allowedRoutes"]["kinds"]]
            assert "GRPCRoute" in kinds
        (rule,) = route["spec"]["rules"]
        methods = [m["method"] for m in rule["matches"]]
        assert methods == [{"type": "Exact", "service": wanted[service]}]
        (backend,) = rule["backendRefs"]
        svc = named(docs, "Service", service)
        assert backend["port"] in {p["port"] for p in svc["spec"]["ports"] if p["name"] == "grpc"}


def test_the_structural_checks_catch_a_plain_listener_and_a_bare_monitor() -> None:
    """Guards the checks above: a listener without TLS or a monitor without endpoints fails."""
    docs = overlay("production")
    gateway = named(docs, "Gateway", "stint")
    plain = {
        **gateway,
        "spec": {**gateway["spec"], "listeners": [{"name": "h", "port": 80, "protocol": "HTTP"}]},
    }
    with pytest.raises(AssertionError):
        check_gateway(plain)
    monitor = of_kind(docs, "ServiceMonitor")[0]
    with pytest.raises(AssertionError):
        check_service_monitor({**monitor, "spec": {**monitor["spec"], "endpoints": []}})
