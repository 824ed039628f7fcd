"""The journey's first steps over plain HTTP/JSON through the development edge, with curl: the
README's "HTTP/JSON and gRPC-Web" examples, run block by block as printed, against the
listings and applications services as processes on the real broker and database."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from stint.listings.v1 import resources_pb2, service_pb2
from stint_runtime.edge.launch import edge_process, edge_serving
from stint_runtime.run import health_status
from stint_runtime.settings import StintSettings
from stint_runtime.stack.embedded import Endpoints
from stint_runtime.stack.processes import ManagedProcess, free_port

from tests.support.isolation import own_group_settings
from tests.support.service_process import ServiceProcess
from tests.support.service_settings import settings_for_test

pytestmark = [pytest.mark.integration, pytest.mark.e2e, pytest.mark.timeout(600)]

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
EXAMPLE = re.compile(r"<!-- edge-example: (\S+) -->\n```sh\n(.*?)```", re.DOTALL)
ORIGIN = "http://localhost:3000"
EVENT_WAIT = 60.0
TOKENS = ("EMPLOYER_TOKEN", "OTHER_EMPLOYER_TOKEN", "ADMIN_TOKEN", "STUDENT_TOKEN")


def readme_examples() -> dict[str, str]:
    section = README.read_text().split("## HTTP/JSON and gRPC-Web", 1)[1]
    return dict(EXAMPLE.findall(section))


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def parse_curl_include(output: bytes) -> Answer:
    """`curl -i` output: the status line, headers, a blank line, the body."""
    head, _, body = output.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return Answer(status, headers, body)


@dataclass
class Shell:
    """Runs README blocks with bash in the repository, with the variables earlier blocks set."""

    env: dict[str, str]

    def run(self, script: str) -> bytes:
        result = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, result.stderr.decode(errors="replace")
        return result.stdout

    def curl(self, script: str) -> Answer:
        return parse_curl_include(self.run(script))


def grpc_serving(address: str) -> Callable[[], bool]:
    return lambda: health_status(address) == "SERVING"


def jwt_env(settings: StintSettings) -> dict[str, str]:
    return {
        "STINT_JWT_SECRET": settings.jwt_secret.get_secret_value(),
        "STINT_JWT_ISSUER": settings.jwt_issuer,
        "STINT_JWT_AUDIENCE": settings.jwt_audience,
    }


@pytest.fixture(scope="module")
def platform(
    infra: Endpoints, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[dict[str, ServiceProcess], ManagedProcess, int]]:
    """listings and applications as processes, and the edge in front of them."""
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed")
    logs = tmp_path_factory.mktemp("edge")
    started: dict[str, ServiceProcess] = {}
    for name in ("listings", "applications"):
        settings = settings_for_test(name, infra, "edge")
        started[name] = ServiceProcess(own_group_settings(settings), logs)
    port = free_port()
    edge = edge_process(
        logs / "edge.log",
        {name: p.settings.grpc_port for name, p in started.items()},
        port=port,
        cwd=ROOT,
        cors_origins=ORIGIN,
    )
    try:
        for process in started.values():
            process.start()
        edge.start()
        for process in started.values():
            assert process.process is not None
            address = process.settings.grpc_address
            process.process.wait_ready(grpc_serving(address), 90)
        edge.wait_ready(lambda: edge_serving(port), 60)
        yield started, edge, port
    finally:
        edge.stop(timeout=10)
        for process in started.values():
            process.stop()


@pytest.fixture(scope="module")
def shell(platform: tuple[dict[str, ServiceProcess], ManagedProcess, int]) -> Shell:
    """The README's token block run once; its variables kept for the other blocks."""
    services, _, port = platform
    settings = services["listings"].settings
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("STINT_")},
        **jwt_env(settings),
        "EDGE": f"http://127.0.0.1:{port}",
    }
    printed = Shell(env).run(
        readme_examples()["tokens"] + "\n" + "".join(f'echo "${name}"\n' for name in TOKENS)
    )
    values = printed.decode().split()
    assert len(values) == len(TOKENS), printed
    return Shell({**env, **dict(zip(TOKENS, values, strict=True))})


def apply_as_probe(shell: Shell, listing_id: str) -> None:
    """Until applications has heard of the listing: a throwaway student applies with a new key
    each time (a 404 is the first outcome of its key, replayed if the key were reused)."""
    token = shell.run(".venv/bin/stint token --role student --sub probe-student").decode().strip()
    deadline = time.monotonic() + EVENT_WAIT
    attempt = 0
    while True:
        attempt += 1
        answer = shell.curl(
            f'curl -sS -i -X POST "$EDGE/v1/listings/{listing_id}/applications" '
            f'-H "Authorization: Bearer {token}" -H "Idempotency-Key: probe-{attempt}" '
            "-H 'Content-Type: application/json' -d '{}'"
        )
        if answer.status != 404 or time.monotonic() > deadline:
            assert answer.status == 200, answer
            return
        time.sleep(0.2)


def grpc_web_frames(body: bytes) -> list[tuple[int, bytes]]:
    raw = base64.b64decode(body)
    frames = []
    while raw:
        flag, length = raw[0], int.from_bytes(raw[1:5], "big")
        frames.append((flag, raw[5 : 5 + length]))
        raw = raw[5 + length :]
    return frames


def test_the_journey_s_first_steps_and_its_errors_over_http_json(shell: Shell) -> None:
    examples = readme_examples()

    created = shell.curl(examples["create"])
    assert created.status == 200, created
    listing = created.json()["listing"]
    assert listing["status"] == "LISTING_STATUS_DRAFT"
    assert listing["version"] == "1"  # int64 in proto3 JSON is a string
    shell.env["LISTING_ID"] = listing["id"]

    submitted = shell.curl(examples["submit"])
    assert submitted.status == 200, submitted
    assert submitted.json()["listing"]["status"] == "LISTING_STATUS_PENDING_REVIEW"
    assert submitted.json()["listing"]["version"] == "2"

    approved = shell.curl(examples["approve"])
    assert approved.status == 200, approved
    assert approved.json()["listing"]["approvedBy"] == "admin-1"
    assert approved.json()["listing"]["version"] == "3"

    published = shell.curl(examples["publish"])
    assert published.status == 200, published
    assert published.json()["listing"]["status"] == "LISTING_STATUS_PUBLISHED"

    read = shell.curl(examples["get"])
    assert read.status == 200, read
    assert read.json()["listing"]["id"] == listing["id"]
    assert read.json()["listing"]["title"] == "Build a React dashboard"

    found = shell.curl(examples["search"])
    assert found.status == 200, found
    assert listing["id"] in [hit["id"] for hit in found.json()["listings"]]

    apply_as_probe(shell, listing["id"])
    applied = shell.curl(examples["apply"])
    assert applied.status == 200, applied
    application = applied.json()["application"]
    assert application["listingId"] == listing["id"]
    assert application["studentId"] == "student-1"

    anonymous = shell.curl(examples["no-token"])
    assert anonymous.status == 401, anonymous
    assert anonymous.json()["code"] == 16

    bad = shell.curl(examples["bad-field"])
    assert bad.status == 400, bad
    assert bad.json()["code"] == 3
    assert "expected_version" in bad.json()["message"]
    violations = [
        v["field"]
        for detail in bad.json()["details"]
        if detail["@type"].endswith("google.rpc.BadRequest")
        for v in detail["fieldViolations"]
    ]
    assert violations == ["expected_version"]

    stranger = shell.curl(examples["wrong-owner"])
    assert stranger.status in (403, 404), stranger
    assert stranger.json()["code"] in (5, 7)

    unknown = shell.curl(examples["unknown"])
    assert unknown.status == 404, unknown
    assert unknown.json()["code"] == 5

    replayed = shell.curl(examples["replay"])
    assert replayed.status == 200, replayed
    assert replayed.json() == submitted.json()  # the first answer, though the listing moved on
    still = shell.curl(examples["get"]).json()["listing"]
    assert still["status"] == "LISTING_STATUS_PUBLISHED"


def test_grpc_web_and_cors_for_an_allowed_origin(shell: Shell) -> None:
    examples = readme_examples()
    answer = shell.curl(examples["grpc-web"])
    assert answer.status == 200, answer
    assert answer.headers["content-type"] == "application/grpc-web-text"
    assert answer.headers["access-control-allow-origin"] == ORIGIN
    assert "grpc-status" in answer.headers["access-control-expose-headers"]
    frames = grpc_web_frames(answer.body)
    assert [flag for flag, _ in frames] == [0x00, 0x80]
    response = service_pb2.SearchListingsResponse.FromString(frames[0][1])
    published = resources_pb2.ListingStatus.LISTING_STATUS_PUBLISHED
    assert all(hit.status == published for hit in response.listings)  # anonymous: public only
    assert b"grpc-status:0\r\n" in frames[1][1]

    preflight = shell.curl(examples["preflight"])
    assert preflight.status == 204, preflight
    assert preflight.headers["access-control-allow-origin"] == ORIGIN
    allowed = preflight.headers["access-control-allow-headers"]
    assert "authorization" in allowed
    assert "idempotency-key" in allowed


def test_other_origins_get_no_cors_and_grpc_web_errors_travel_in_the_trailer(
    shell: Shell,
) -> None:
    refused = shell.curl(
        'curl -sS -i -X OPTIONS "$EDGE/v1/listings" -H "Origin: https://evil.example" '
        '-H "Access-Control-Request-Method: POST"'
    )
    assert refused.status == 403
    assert "access-control-allow-origin" not in refused.headers

    request = service_pb2.GetListingRequest(listing_id="no-such-listing").SerializeToString()
    frame = base64.b64encode(b"\x00" + len(request).to_bytes(4, "big") + request).decode()
    missing = shell.curl(
        'curl -sS -i -X POST "$EDGE/stint.listings.v1.ListingsService/GetListing" '
        f"-H 'Content-Type: application/grpc-web-text' -d '{frame}'"
    )
    assert missing.status == 200
    frames = grpc_web_frames(missing.body)
    assert [flag for flag, _ in frames] == [0x80]
    assert b"grpc-status:5\r\n" in frames[0][1]
