"""Which infrastructure the tests and `make run` get, with the Docker probe injected."""

from __future__ import annotations

import sys
import types

import pytest
from stint_runtime.stack import backends
from stint_runtime.stack.backends import BackendError, docker_engine_reachable, select_backend

KAFKA = "kafka.example.internal:9092"
MONGODB = "mongodb://mongo.example.internal:27017/?replicaSet=rs0"


def no_probe() -> bool:
    raise AssertionError("the Docker engine must not be probed here")


def test_both_external_variables_select_external_servers_without_probing_docker() -> None:
    env = {"KAFKA_BOOTSTRAP_SERVERS": KAFKA, "MONGODB_URI": MONGODB}

    assert select_backend(env, no_probe) == "external"
    assert backends.external_servers(env) == (KAFKA, MONGODB)


def test_the_prefixed_variables_count_as_external_servers_like_the_settings_read_them() -> None:
    env = {"STINT_KAFKA_BOOTSTRAP_SERVERS": KAFKA, "MONGODB_URI": MONGODB}

    assert select_backend(env, no_probe) == "external"


@pytest.mark.parametrize(
    ("env", "missing"),
    [
        ({"KAFKA_BOOTSTRAP_SERVERS": KAFKA}, "MONGODB_URI is not"),
        ({"MONGODB_URI": MONGODB}, "KAFKA_BOOTSTRAP_SERVERS is not"),
    ],
)
def test_only_one_external_variable_names_the_missing_one(
    env: dict[str, str], missing: str
) -> None:
    with pytest.raises(BackendError, match=missing):
        select_backend(env, no_probe)


def test_without_external_servers_a_reachable_docker_engine_selects_containers() -> None:
    assert select_backend({}, lambda: True) == "testcontainers"


def test_without_external_servers_or_docker_the_embedded_stack_is_selected() -> None:
    assert select_backend({}, lambda: False) == "embedded"


def test_use_docker_false_selects_the_embedded_stack_without_probing() -> None:
    assert select_backend({}, no_probe, use_docker=False) == "embedded"


def test_an_explicit_embedded_choice_wins_over_external_variables() -> None:
    env = {"STINT_STACK_BACKEND": "embedded", "KAFKA_BOOTSTRAP_SERVERS": KAFKA}

    assert select_backend(env, no_probe) == "embedded"


def test_an_explicit_containers_choice_probes_docker_even_when_run_would_not() -> None:
    env = {"STINT_STACK_BACKEND": "testcontainers"}

    assert select_backend(env, lambda: True, use_docker=False) == "testcontainers"
    with pytest.raises(BackendError, match="no Docker engine"):
        select_backend(env, lambda: False)


def test_an_explicit_external_choice_needs_both_variables() -> None:
    with pytest.raises(BackendError, match="needs KAFKA_BOOTSTRAP_SERVERS and MONGODB_URI"):
        select_backend({"STINT_STACK_BACKEND": "external"}, no_probe)


def test_an_unknown_choice_is_refused() -> None:
    with pytest.raises(BackendError, match="STINT_STACK_BACKEND='docker'"):
        select_backend({"STINT_STACK_BACKEND": "docker"}, no_probe)


class FakeDockerClient:
    closed = False

    def __init__(self) -> None:
        self.client = self

    def close(self) -> None:
        FakeDockerClient.closed = True


class UnreachableDockerClient:
    def __init__(self) -> None:
        raise ConnectionError("Error while fetching server API version")


@pytest.mark.parametrize(
    ("client_class", "reachable"), [(FakeDockerClient, True), (UnreachableDockerClient, False)]
)
def test_docker_is_reachable_exactly_when_the_testcontainers_client_connects(
    monkeypatch: pytest.MonkeyPatch, client_class: type, reachable: bool
) -> None:
    module = types.ModuleType("testcontainers.core.docker_client")
    module.DockerClient = client_class  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "testcontainers.core.docker_client", module)

    assert docker_engine_reachable() is reachable
    if reachable:
        assert FakeDockerClient.closed
