"""Kafka on Strimzi (kafka.strimzi.io/v1): the cluster's required fields, the topics (only as
KafkaTopic resources), one KafkaUser per service whose ACLs are exactly what the service's code
reads, writes and commits, and the services connecting with that user over TLS + SCRAM."""

from __future__ import annotations

import pytest
from stint_runtime.settings import StintSettings

from tests.deploy.conftest import ServiceKafka
from tests.deploy.manifests import (
    K8S,
    OVERLAYS,
    Docs,
    Manifest,
    build,
    config_of,
    env_entries,
    hpa_of,
    named,
    of_kind,
    overlay,
    pod_spec,
    server,
    services,
    volume_mount_of,
)

STRIMZI = "kafka.strimzi.io/v1"
STRIMZI_KINDS = {"Kafka", "KafkaNodePool", "KafkaTopic", "KafkaUser"}
ACL_OPERATIONS = {"Read", "Write", "Create", "Delete", "Alter", "Describe", "DescribeConfigs"}
# settings.kafka_security_protocol / kafka_sasl_mechanism -> what a Strimzi listener must offer.
SASL_LISTENER_AUTH = {"SCRAM-SHA-512": "scram-sha-512"}
Acl = tuple[str, str, str]  # resource type, resource name, operation


def cluster(docs: Docs) -> Manifest:
    return named(docs, "Kafka", "stint")


def check_kafka(kafka: Manifest) -> None:
    """The fields Strimzi's v1 Kafka requires (KRaft with node pools: no ZooKeeper, no
    replicas or storage on the Kafka itself)."""
    assert kafka["apiVersion"] == STRIMZI
    spec = kafka["spec"]
    assert "zookeeper" not in spec
    assert not {"replicas", "storage"} & set(spec["kafka"])
    listeners = spec["kafka"]["listeners"]
    assert listeners
    for listener in listeners:
        assert {"name", "port", "type", "tls"} <= set(listener), listener
        assert listener["type"] in {"internal", "cluster-ip", "route", "loadbalancer", "nodeport"}
    assert spec["kafka"]["authorization"]["type"] == "simple"
    assert {"topicOperator", "userOperator"} <= set(spec["entityOperator"])
    assert spec["kafka"]["config"]["auto.create.topics.enable"] is False


def check_node_pool(pool: Manifest, kafka: Manifest) -> None:
    assert pool["apiVersion"] == STRIMZI
    assert pool["metadata"]["labels"]["strimzi.io/cluster"] == kafka["metadata"]["name"]
    spec = pool["spec"]
    assert spec["replicas"] >= 1
    assert set(spec["roles"]) <= {"broker", "controller"}
    assert spec["roles"]
    assert spec["storage"]["type"] in {"jbod", "persistent-claim", "ephemeral"}


def check_user(user: Manifest, kafka: Manifest) -> set[Acl]:
    """The v1 KafkaUser fields; returns its ACLs (v1 has only the `operations` list)."""
    assert user["apiVersion"] == STRIMZI
    assert user["metadata"]["labels"]["strimzi.io/cluster"] == kafka["metadata"]["name"]
    assert user["spec"]["authentication"]["type"] in {"scram-sha-512", "tls"}
    authorization = user["spec"]["authorization"]
    assert authorization["type"] == "simple"
    acls: set[Acl] = set()
    for acl in authorization["acls"]:
        assert "operation" not in acl, "removed in v1: use `operations`"
        resource = acl["resource"]
        assert resource["type"] in {"topic", "group", "cluster", "transactionalId"}
        assert resource["patternType"] == "literal", "exact names only, no prefixes"
        assert set(acl["operations"]) <= ACL_OPERATIONS
        acls |= {(resource["type"], resource["name"], op) for op in acl["operations"]}
    return acls


def expected_acls(kafka_use: ServiceKafka) -> set[Acl]:
    """Read what it consumes, write what it publishes and its dead letters, describe all of
    them (metadata, offsets, the start-up check that its topics exist), read its group."""
    acls = {("group", kafka_use.group, "Read")}
    for topic in kafka_use.consumes:
        acls |= {("topic", topic, "Read"), ("topic", topic, "Describe")}
    for topic in kafka_use.publishes | kafka_use.dead_letters:
        acls |= {("topic", topic, "Write"), ("topic", topic, "Describe")}
    return acls


@pytest.mark.parametrize("name", OVERLAYS)
def test_strimzi_resources_are_v1_with_their_required_fields(name: str) -> None:
    docs = overlay(name)
    strimzi = [d for d in docs if d["apiVersion"].startswith("kafka.strimzi.io/")]
    assert {d["kind"] for d in strimzi} == STRIMZI_KINDS
    assert {d["apiVersion"] for d in strimzi} == {STRIMZI}
    kafka = cluster(docs)
    check_kafka(kafka)
    for pool in of_kind(docs, "KafkaNodePool"):
        check_node_pool(pool, kafka)
    for topic in of_kind(docs, "KafkaTopic"):
        assert topic["metadata"]["labels"]["strimzi.io/cluster"] == kafka["metadata"]["name"]
        assert {"topicName", "partitions", "replicas", "config"} <= set(topic["spec"])
    for user in of_kind(docs, "KafkaUser"):
        check_user(user, kafka)


def test_the_structural_checks_reject_the_removed_forms() -> None:
    """Guards the checks above with what Strimzi 1.0 no longer accepts."""
    docs = overlay("dev")
    kafka = cluster(docs)
    old = {**kafka, "apiVersion": "kafka.strimzi.io/v1beta2"}
    with pytest.raises(AssertionError):
        check_kafka(old)
    user = of_kind(docs, "KafkaUser")[0]
    acl = dict(user["spec"]["authorization"]["acls"][0])
    acl["operation"] = acl.pop("operations")[0]
    single = {**user, "spec": {**user["spec"], "authorization": {"type": "simple", "acls": [acl]}}}
    with pytest.raises(AssertionError):
        check_user(single, kafka)


@pytest.mark.parametrize("name", OVERLAYS)
def test_services_connect_with_their_kafka_user_over_the_authenticated_listener(
    name: str,
) -> None:
    docs = overlay(name)
    kafka = cluster(docs)
    listeners = {listener["port"]: listener for listener in kafka["spec"]["kafka"]["listeners"]}
    assert all("authentication" in listener for listener in listeners.values())
    users = {user["metadata"]["name"]: user for user in of_kind(docs, "KafkaUser")}
    assert set(users) == {d["metadata"]["name"] for d in services(docs)}
    for deployment in services(docs):
        service = deployment["metadata"]["name"]
        config = config_of(docs, deployment)
        env = env_entries(deployment)
        host, _, port = config["STINT_KAFKA_BOOTSTRAP_SERVERS"].partition(":")
        assert host == f"{kafka['metadata']['name']}-kafka-bootstrap"
        listener = listeners[int(port)]
        protocol = config["STINT_KAFKA_SECURITY_PROTOCOL"]
        assert protocol == ("SASL_SSL" if listener["tls"] else "SASL_PLAINTEXT")
        mechanism = config["STINT_KAFKA_SASL_MECHANISM"]
        assert listener["authentication"]["type"] == SASL_LISTENER_AUTH[mechanism]
        user = users[service]
        assert user["spec"]["authentication"]["type"] == SASL_LISTENER_AUTH[mechanism]
        # The User Operator's Secret is named after the user and holds its password.
        assert env["STINT_KAFKA_SASL_USERNAME"]["value"] == user["metadata"]["name"]
        password = env["STINT_KAFKA_SASL_PASSWORD"]["valueFrom"]["secretKeyRef"]
        assert password == {"name": user["metadata"]["name"], "key": "password"}
        # The brokers' certificates are signed by the cluster CA, mounted from its Secret.
        mount = volume_mount_of(server(deployment), config["STINT_KAFKA_SSL_CAFILE"])
        volumes = {v["name"]: v for v in pod_spec(deployment)["volumes"]}
        secret = volumes[mount["name"]]["secret"]
        assert secret["secretName"] == f"{kafka['metadata']['name']}-cluster-ca-cert"
        file = config["STINT_KAFKA_SSL_CAFILE"].removeprefix(mount["mountPath"] + "/")
        assert {"key": "ca.crt", "path": file} in secret["items"]


def test_the_kafka_settings_named_in_the_manifests_are_the_runtimes() -> None:
    """kafka_config.py reads these settings; a misspelt name would be silently ignored."""
    fields = set(StintSettings.model_fields)
    docs = overlay("production")
    for deployment in services(docs):
        names = set(config_of(docs, deployment)) | set(env_entries(deployment))
        kafka = {n for n in names if n.startswith("STINT_KAFKA_")}
        assert {
            "STINT_KAFKA_SECURITY_PROTOCOL",
            "STINT_KAFKA_SASL_MECHANISM",
            "STINT_KAFKA_SASL_USERNAME",
            "STINT_KAFKA_SASL_PASSWORD",
            "STINT_KAFKA_SSL_CAFILE",
        } <= kafka
        assert {n.removeprefix("STINT_").lower() for n in kafka} <= fields


@pytest.mark.integration
@pytest.mark.parametrize("name", OVERLAYS)
def test_each_kafka_user_may_do_exactly_what_its_service_does(
    name: str, service_kafka: dict[str, ServiceKafka]
) -> None:
    docs = overlay(name)
    kafka = cluster(docs)
    assert set(service_kafka) == {d["metadata"]["name"] for d in services(docs)}
    for service, kafka_use in service_kafka.items():
        env = config_of(docs, named(docs, "Deployment", service))
        assert "STINT_KAFKA_CONSUMER_GROUP" not in env, "the group (and ACL) is the service name"
        acls = check_user(named(docs, "KafkaUser", service), kafka)
        assert acls == expected_acls(kafka_use), service


@pytest.mark.integration
@pytest.mark.parametrize("path", ["infra/strimzi", "overlays/dev", "overlays/production"])
def test_topics_are_every_topic_the_services_use_and_only_kafka_topic_resources(
    path: str, service_kafka: dict[str, ServiceKafka]
) -> None:
    docs = build(K8S / path)
    kafka = cluster(docs)
    brokers = sum(
        pool["spec"]["replicas"]
        for pool in of_kind(docs, "KafkaNodePool")
        if "broker" in pool["spec"]["roles"]
    )
    found = {topic["spec"]["topicName"]: topic["spec"] for topic in of_kind(docs, "KafkaTopic")}
    wanted = set().union(*(use.topics for use in service_kafka.values()))
    assert set(found) == wanted
    for topic, spec in found.items():
        assert spec["replicas"] <= brokers, topic
        assert spec["config"]["min.insync.replicas"] <= spec["replicas"], topic
        if path != "overlays/dev":
            assert spec["replicas"] == 3, topic
            assert spec["config"]["min.insync.replicas"] == 2, topic
    config = kafka["spec"]["kafka"]["config"]
    assert config["offsets.topic.replication.factor"] <= brokers
    assert config["auto.create.topics.enable"] is False


@pytest.mark.integration
@pytest.mark.parametrize("name", OVERLAYS)
def test_no_service_scales_past_the_partitions_of_its_topics(
    name: str, service_kafka: dict[str, ServiceKafka]
) -> None:
    """A consumer group uses at most one pod per partition: more replicas would idle."""
    docs = overlay(name)
    partitions = {
        t["spec"]["topicName"]: t["spec"]["partitions"] for t in of_kind(docs, "KafkaTopic")
    }
    for deployment in services(docs):
        use = service_kafka[deployment["metadata"]["name"]]
        maximum = hpa_of(docs, deployment)["spec"]["maxReplicas"]
        for topic in use.topics:
            assert partitions[topic] >= maximum, (deployment["metadata"]["name"], topic)
        assert config_of(docs, deployment)["STINT_KAFKA_CREATE_TOPICS"] == "false"
