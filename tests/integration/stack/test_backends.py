"""External servers are used as given; only the SMTP sink is started beside them."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from pathlib import Path

import pytest
from pymongo import MongoClient
from stint_runtime.stack.backends import infrastructure
from stint_runtime.stack.embedded import Endpoints
from stint_runtime.stack.smtp_sink import received_messages

pytestmark = pytest.mark.integration


def no_docker() -> bool:
    raise AssertionError("external servers are configured: Docker must not be probed")


def test_external_servers_are_used_with_a_local_smtp_sink(infra: Endpoints, tmp_path: Path) -> None:
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": infra.kafka_bootstrap_servers,
        "MONGODB_URI": infra.mongodb_uri,
    }

    with infrastructure(tmp_path, env=env, docker_probe=no_docker) as backend:
        assert backend.label == "external"
        assert backend.endpoints.kafka_bootstrap_servers == infra.kafka_bootstrap_servers
        assert backend.endpoints.mongodb_uri == infra.mongodb_uri
        client: MongoClient[dict[str, object]] = MongoClient(backend.endpoints.mongodb_uri)
        try:
            assert client.admin.command("ping")["ok"] == 1
        finally:
            client.close()
        message = EmailMessage()
        message["Subject"] = "external"
        message["From"], message["To"] = "a@stint.test", "b@stint.test"
        message.set_content("body")
        with smtplib.SMTP(backend.endpoints.smtp_host, backend.endpoints.smtp_port) as smtp:
            smtp.send_message(message)
        assert backend.maildir is not None
        assert len(received_messages(backend.maildir)) == 1
        sink = backend.processes

    assert [p.name for p in sink] == ["smtp sink"]
    assert not sink[0].running()
