"""MongoDB with authentication: the replica set's members share a key file, the root user comes
from a Secret, and an init Job creates one user per service with access to that service's own
database only; each service connects with its own connection Secret."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from stint_runtime.settings import load_settings

from tests.deploy.manifests import (
    K8S,
    OVERLAYS,
    config_of,
    containers,
    env_entries,
    named,
    of_kind,
    overlay,
    pod_spec,
    secret_value,
    services,
    volume_mount_of,
)

SCRIPT = K8S / "infra" / "mongodb" / "init-replica-set.js"


def option(args: list[str], name: str) -> str:
    """A mongod option's value, given as `--name=value` or `--name value`."""
    for index, arg in enumerate(args):
        if arg == name:
            return args[index + 1]
        if arg.startswith(f"{name}="):
            return arg.partition("=")[2]
    raise AssertionError(f"mongod has no {name}")


@pytest.mark.parametrize("name", OVERLAYS)
def test_members_authenticate_with_a_key_file_and_a_root_user_from_a_secret(name: str) -> None:
    docs = overlay(name)
    mongodb = named(docs, "StatefulSet", "mongodb")
    spec = pod_spec(mongodb)
    (mongod,) = spec["containers"]
    assert "command" not in mongod, "the image's entrypoint creates the root user"
    args = mongod["args"]
    assert option(args, "--replSet") == "rs0"
    key_file = option(args, "--keyFile")
    mount = volume_mount_of(mongod, key_file)
    volumes = {v["name"]: v for v in spec["volumes"]}
    assert "emptyDir" in volumes[mount["name"]]
    # The init container copies the key from its Secret with the mode mongod insists on.
    (copier,) = spec["initContainers"]
    assert mount["name"] in {m["name"] for m in copier["volumeMounts"]}
    assert "chmod 0400" in " ".join(copier["command"])
    sources = [volumes[m["name"]] for m in copier["volumeMounts"] if "secret" in volumes[m["name"]]]
    assert [s["secret"]["secretName"] for s in sources] == [
        named(docs, "Secret", "mongodb-keyfile")["metadata"]["name"]
        if name == "dev"
        else "mongodb-keyfile"
    ]
    env = {e["name"]: e for e in mongod["env"]}
    for variable, key in (
        ("MONGO_INITDB_ROOT_USERNAME", "username"),
        ("MONGO_INITDB_ROOT_PASSWORD", "password"),
    ):
        ref = env[variable]["valueFrom"]["secretKeyRef"]
        assert re.fullmatch(r"mongodb-admin(-[a-z0-9]{10})?", ref["name"])
        assert ref["key"] == key
        assert not ref.get("optional")


@pytest.mark.parametrize("name", OVERLAYS)
def test_the_init_job_creates_one_user_per_service_on_its_own_database(name: str) -> None:
    docs = overlay(name)
    (job,) = of_kind(docs, "Job")
    spec = pod_spec(job)
    volumes = {v["name"]: v for v in spec["volumes"]}
    (init,) = containers(job)
    mounts = {m["mountPath"]: volumes[m["name"]] for m in init["volumeMounts"]}
    script = SCRIPT.read_text()
    assert "/secrets/services" in script
    assert "/secrets/admin" in script
    assert re.fullmatch(
        r"mongodb-admin(-[a-z0-9]{10})?", mounts["/secrets/admin"]["secret"]["secretName"]
    )
    # Only readWrite, only on stint_<service>: the name each service's settings use.
    assert 'roles = [{ role: "readWrite", db: `stint_${service}` }]' in script
    assert script.count("role:") == 1
    sources = mounts["/secrets/services"]["projected"]["sources"]
    by_service = {}
    for source in sources:
        items = source["secret"]["items"]
        (service,) = {item["path"].split("/")[0] for item in items}
        by_service[service] = (source["secret"]["name"], {i["key"]: i["path"] for i in items})
    for deployment in services(docs):
        service = deployment["metadata"]["name"]
        assert load_settings(service).database_name == f"stint_{service}"
        secret, items = by_service.pop(service)
        assert items == {"username": f"{service}/username", "password": f"{service}/password"}
        ref = env_entries(deployment)["STINT_MONGODB_URI"]["valueFrom"]["secretKeyRef"]
        assert ref == {"name": secret, "key": "uri"}, "the user's own connection Secret"
        assert re.fullmatch(rf"{service}-mongodb(-[a-z0-9]{{10}})?", secret)
        assert "STINT_MONGODB_URI" not in config_of(docs, deployment)
    assert not by_service, f"users for no service: {sorted(by_service)}"


def test_dev_connection_secrets_match_the_users_and_the_replica_set() -> None:
    docs = overlay("dev")
    mongodb = named(docs, "StatefulSet", "mongodb")
    (job,) = of_kind(docs, "Job")
    (init,) = containers(job)
    volumes = {v["name"]: v for v in pod_spec(job)["volumes"]}
    mounts = {m["mountPath"]: volumes[m["name"]] for m in init["volumeMounts"]}
    users = {
        source["secret"]["items"][0]["path"].split("/")[0]: source["secret"]["name"]
        for source in mounts["/secrets/services"]["projected"]["sources"]
    }
    members = range(mongodb["spec"]["replicas"])
    service_name = mongodb["spec"]["serviceName"]
    for service, secret in users.items():
        uri = urlsplit(secret_value(docs, secret, "uri") or "")
        assert unquote(uri.username or "") == secret_value(docs, secret, "username") == service
        assert unquote(uri.password or "") == secret_value(docs, secret, "password")
        hosts = sorted(uri.netloc.rpartition("@")[2].split(","))
        assert hosts == [f"mongodb-{i}.{service_name}:27017" for i in members]
        query = parse_qs(uri.query)
        assert query["replicaSet"] == ["rs0"]
        assert query["authSource"] == [f"stint_{service}"]
        assert uri.path == f"/stint_{service}"
    headless = named(docs, "Service", service_name)
    assert headless["spec"]["clusterIP"] == "None"


def test_production_generates_no_secret() -> None:
    """Production credentials come from the operator's secret manager, never from the repo."""
    assert not of_kind(overlay("production"), "Secret")
