"""Each token mistake in README's table gets exactly the status and message written there.

The table (between the token-mistakes markers in README.md) is the one source: a row without a
way to produce it here, or a mistake here without a row, fails too.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import grpc
import jwt
import pytest
from stint.listings.v1 import service_pb2_grpc
from stint_runtime.grpc.client import insecure_channel
from stint_runtime.grpc.server import StintServer, build_server
from stint_runtime.settings import StintSettings
from stint_runtime.stack.processes import free_port

from tests.support.grpc_listings import ListingsTestServicer, create_request, listings_binding

pytestmark = [
    pytest.mark.integration,
    # The HS512 mistake signs with the HS256 secret, shorter than HS512 recommends.
    pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning"),
]

README = Path(__file__).resolve().parents[3] / "README.md"
ISSUER, AUDIENCE = "https://id.example.test", "stint-gateways"
ROW = re.compile(r"^\| (?P<mistake>.+?) \| `(?P<code>[A-Z_]+)` \| `(?P<message>.+)` \|$")


def documented() -> dict[str, tuple[str, str]]:
    """mistake -> (status name, message), from README's table."""
    text = README.read_text()
    table = text.split("<!-- token-mistakes:start -->", 1)[1].split("<!-- token-mistakes:end -->")[
        0
    ]
    rows = {}
    for line in table.strip().splitlines()[2:]:
        match = ROW.match(line)
        assert match, f"unreadable row: {line}"
        rows[match["mistake"]] = (match["code"], match["message"])
    return rows


def claims(**changes: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    base: dict[str, Any] = {
        "sub": "emp-1",
        "role": "employer",
        "org": "org-1",
        "exp": now + timedelta(minutes=5),
        "iss": ISSUER,
        "aud": AUDIENCE,
    }
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


Metadata = tuple[tuple[str, str], ...]


def bearer(token: str, key: str = "k-1") -> Metadata:
    return (("authorization", f"Bearer {token}"), ("idempotency-key", key))


def signed(settings: StintSettings, **changes: Any) -> Metadata:
    secret = settings.jwt_secret.get_secret_value()
    return bearer(jwt.encode(claims(**changes), secret, algorithm="HS256"))


# How to make each mistake: settings -> the request metadata.
MISTAKES: dict[str, Callable[[StintSettings], Metadata]] = {
    "no `authorization` header on an RPC that is not anonymous": lambda s: (
        ("idempotency-key", "k-1"),
    ),
    "a scheme other than `Bearer`": lambda s: (("authorization", "Basic dXNlcjpwdw=="),),
    "not a JWT": lambda s: bearer("not-a-jwt"),
    "signed with another key": lambda s: bearer(
        jwt.encode(claims(), "another-secret-of-32-bytes-or-more!!", algorithm="HS256")
    ),
    "signed with another algorithm": lambda s: bearer(
        jwt.encode(claims(), s.jwt_secret.get_secret_value(), algorithm="HS512")
    ),
    "expired": lambda s: signed(s, exp=datetime.now(UTC) - timedelta(hours=1)),
    "`nbf` in the future": lambda s: signed(s, nbf=datetime.now(UTC) + timedelta(hours=1)),
    "no `exp`": lambda s: signed(s, exp=None),
    "no `sub`": lambda s: signed(s, sub=None),
    "no `role`": lambda s: signed(s, role=None),
    "a role outside employer, student, admin": lambda s: signed(s, role="owner"),
    "an employer without `org`": lambda s: signed(s, org=None),
    "no `iss` while `STINT_JWT_ISSUER` is set": lambda s: signed(s, iss=None),
    "another `iss`": lambda s: signed(s, iss="https://elsewhere.test"),
    "no `aud` while `STINT_JWT_AUDIENCE` is set": lambda s: signed(s, aud=None),
    "another `aud`": lambda s: signed(s, aud="someone-else"),
    "a valid token whose role the RPC does not admit": lambda s: signed(
        s, sub="stu-1", role="student", org=None
    ),
    "a mutating RPC without `idempotency-key`": lambda s: signed(s)[:1],
}


@pytest.fixture(scope="module")
async def served(infra: Any) -> AsyncIterator[tuple[StintSettings, StintServer]]:
    settings = StintSettings(
        service_name="listings",
        environment="test",
        mongodb_uri=infra.mongodb_uri,
        mongodb_database=f"stint_token_mistakes_{uuid.uuid4().hex[:8]}",
        jwt_issuer=ISSUER,
        jwt_audience=AUDIENCE,
    )
    server = await build_server(
        settings, [listings_binding(ListingsTestServicer())], address=f"127.0.0.1:{free_port()}"
    )
    await server.start()
    try:
        yield settings, server
    finally:
        await server.stop(0)


def test_every_documented_mistake_is_tested_and_every_tested_one_documented() -> None:
    assert set(documented()) == set(MISTAKES)


@pytest.mark.parametrize(("mistake", "expected"), sorted(documented().items()))
async def test_the_gateway_gets_the_documented_status_and_message(
    served: tuple[StintSettings, StintServer], mistake: str, expected: tuple[str, str]
) -> None:
    settings, server = served
    async with insecure_channel(server.address) as channel:
        stub = service_pb2_grpc.ListingsServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await stub.CreateListing(create_request(), metadata=MISTAKES[mistake](settings))
    assert (refused.value.code().name, refused.value.details()) == expected


async def test_a_correct_token_is_accepted(served: tuple[StintSettings, StintServer]) -> None:
    settings, server = served
    async with insecure_channel(server.address) as channel:
        stub = service_pb2_grpc.ListingsServiceStub(channel)
        await stub.CreateListing(create_request(), metadata=signed(settings))
