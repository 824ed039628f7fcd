"""Building the kustomize trees and reading the rendered objects (shared by tests/deploy)."""

from __future__ import annotations

import base64
import functools
import re
import shutil
import subprocess
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

Manifest = dict[str, Any]
Docs = tuple[Manifest, ...]

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
OVERLAYS = ("dev", "production")
SERVICE_LABEL = ("app.kubernetes.io/component", "grpc-service")
WORKLOAD_KINDS = {"Deployment", "StatefulSet", "Job"}
SERVER_CONTAINER = "server"
VARIABLE_REFERENCE = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)")


@functools.cache
def build(path: Path) -> Docs:
    """`kubectl kustomize path`, parsed; skips the test when kubectl is not installed."""
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl (with its built-in kustomize) is not installed")
    result = subprocess.run(
        [kubectl, "kustomize", str(path)], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, f"kubectl kustomize {path} failed:\n{result.stderr}"
    return tuple(doc for doc in yaml.safe_load_all(result.stdout) if doc)


def overlay(name: str) -> Docs:
    return build(K8S / "overlays" / name)


# Installed by CRDs although under k8s.io (the Gateway API is not built into Kubernetes).
CRD_GROUPS_UNDER_K8S_IO = {"gateway.networking.k8s.io"}


def is_custom_resource(doc: Manifest) -> bool:
    """Built-in API groups have no dot or end in .k8s.io; anything else comes from a CRD."""
    group = doc["apiVersion"].rpartition("/")[0]
    return group in CRD_GROUPS_UNDER_K8S_IO or ("." in group and not group.endswith(".k8s.io"))


def of_kind(docs: Docs, kind: str) -> list[Manifest]:
    return [doc for doc in docs if doc["kind"] == kind]


def named(docs: Docs, kind: str, name: str) -> Manifest:
    """The one object of `kind` called `name` (or generated from it: `name-<hash>`)."""
    matches = [doc for doc in of_kind(docs, kind) if doc["metadata"]["name"] == name]
    if not matches:
        generated = re.compile(rf"{re.escape(name)}-[a-z0-9]{{10}}")
        matches = [d for d in of_kind(docs, kind) if generated.fullmatch(d["metadata"]["name"])]
    assert len(matches) == 1, f"expected one {kind} {name}, found {len(matches)}"
    return matches[0]


def base_name(doc: Manifest) -> str:
    """An object's name without kustomize's content-hash suffix."""
    return re.sub(r"-[a-z0-9]{10}$", "", str(doc["metadata"]["name"]))


def services(docs: Docs) -> list[Manifest]:
    """The Stint service Deployments (built from the stint-service component)."""
    key, value = SERVICE_LABEL
    found = [d for d in of_kind(docs, "Deployment") if d["metadata"]["labels"].get(key) == value]
    assert found, "no Stint service Deployment in the build"
    return found


def service_names(docs: Docs) -> list[str]:
    return sorted(d["metadata"]["name"] for d in services(docs))


def pod_spec(workload: Manifest) -> dict[str, Any]:
    spec: dict[str, Any] = workload["spec"]["template"]["spec"]
    return spec


def containers(workload: Manifest) -> list[dict[str, Any]]:
    spec = pod_spec(workload)
    return [*spec.get("initContainers", []), *spec["containers"]]


def server(deployment: Manifest) -> dict[str, Any]:
    """A service's gRPC server container."""
    (found,) = [c for c in pod_spec(deployment)["containers"] if c["name"] == SERVER_CONTAINER]
    return dict(found)


def selects(selector: Mapping[str, str] | None, labels: Mapping[str, str]) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in (selector or {}).items())


def pod_labels(workload: Manifest) -> dict[str, str]:
    labels: dict[str, str] = workload["spec"]["template"]["metadata"]["labels"]
    return labels


def config_of(docs: Docs, deployment: Manifest) -> dict[str, str]:
    """The ConfigMap a service takes its environment from."""
    (source,) = server(deployment)["envFrom"]
    data: dict[str, str] = named(docs, "ConfigMap", source["configMapRef"]["name"])["data"]
    return data


def secret_value(docs: Docs, name: str, key: str) -> str | None:
    """A rendered (generated) Secret's value, or None when the operator provides the Secret."""
    for doc in of_kind(docs, "Secret"):
        if doc["metadata"]["name"] == name:
            data = doc.get("data", {})
            return base64.b64decode(data[key]).decode() if key in data else None
    return None


def env_entries(deployment: Manifest) -> dict[str, dict[str, Any]]:
    return {e["name"]: e for e in server(deployment)["env"]}


def undefined_references(entries: Iterable[Mapping[str, Any]], defined: Iterable[str]) -> list[str]:
    """$(VAR) references to variables not defined before them (Kubernetes leaves those as
    literal text): `defined` holds the envFrom names, which come first."""
    known = set(defined)
    missing = []
    for entry in entries:
        for reference in VARIABLE_REFERENCE.findall(str(entry.get("value", ""))):
            if reference not in known:
                missing.append(f"{entry['name']} -> $({reference})")
        known.add(entry["name"])
    return missing


def rendered_env(docs: Docs, deployment: Manifest) -> dict[str, str]:
    """The server container's environment as the kubelet would build it: envFrom, then env
    (which wins), $(VAR) expanded. A required key of a Secret the operator provides gets a
    stand-in value; an optional one is left unset."""
    env = dict(config_of(docs, deployment))
    for entry in server(deployment)["env"]:
        if "value" in entry:
            value = VARIABLE_REFERENCE.sub(
                lambda m: env.get(m.group(1), m.group(0)), entry["value"]
            )
        elif "secretKeyRef" in entry["valueFrom"]:
            ref = entry["valueFrom"]["secretKeyRef"]
            found = secret_value(docs, ref["name"], ref["key"])
            if found is None and ref.get("optional"):
                continue  # an optional key the Secret may not have: the variable is not set
            value = found if found is not None else f"from-secret-{ref['name']}-{ref['key']}"
        else:
            value = f"from-field-{entry['valueFrom']['fieldRef']['fieldPath']}"
        env[entry["name"]] = value
    return env


def volume_mount_of(container: Mapping[str, Any], path: str) -> dict[str, Any]:
    """The mount whose directory holds `path`."""
    matches = [m for m in container["volumeMounts"] if path.startswith(m["mountPath"] + "/")]
    assert len(matches) == 1, f"{path} is not in exactly one mounted volume"
    return dict(matches[0])


def hpa_of(docs: Docs, deployment: Manifest) -> Manifest:
    name = deployment["metadata"]["name"]
    target = {"apiVersion": "apps/v1", "kind": "Deployment", "name": name}
    (hpa,) = [
        h for h in of_kind(docs, "HorizontalPodAutoscaler") if h["spec"]["scaleTargetRef"] == target
    ]
    return hpa
