"""Token refusals never escape as anything but Unauthenticated; production needs iss and aud;
JWKS keys expire and an unknown kid refreshes them, rate-limited."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from pydantic import ValidationError
from stint_runtime.errors import Unauthenticated
from stint_runtime.grpc.auth import SigningKeysUnavailable, TokenVerifier
from stint_runtime.settings import StintSettings, load_settings
from stint_runtime.stack.processes import free_port

FAR_FUTURE = int(datetime(2100, 1, 1, tzinfo=UTC).timestamp())
CLAIMS = {"sub": "u", "role": "admin", "exp": FAR_FUTURE}


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _token(header: Any, claims: Any = CLAIMS, signature: str = "c2ln") -> str:
    return f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}.{signature}"


@pytest.fixture
def settings() -> StintSettings:
    return load_settings("listings").model_copy(update={"environment": "test"})


def _refusal(verifier: TokenVerifier, token: str) -> str:
    with pytest.raises(Unauthenticated) as refused:
        verifier.verify(token)
    assert token not in refused.value.message
    return refused.value.message


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        ({"alg": "HS256", "kid": 5}, "Key ID header parameter must be a string"),
        ({"alg": "HS256", "crit": []}, "Invalid 'crit' header"),
        ({"alg": "HS256", "crit": "b64"}, "Invalid 'crit' header"),
        ({"alg": "HS256", "crit": ["x-secret-extension"]}, "Unsupported critical extension"),
        ([1, 2], "malformed bearer token"),
        ("a string", "malformed bearer token"),
        ({"alg": ["HS256"]}, "algorithm"),
    ],
)
def test_every_header_defect_is_unauthenticated_with_a_reason(
    settings: StintSettings, header: Any, reason: str
) -> None:
    message = _refusal(TokenVerifier(settings), _token(header))
    assert reason in message
    assert "x-secret-extension" not in message  # header values are not repeated


def test_claims_of_the_wrong_type_are_unauthenticated(settings: StintSettings) -> None:
    secret = settings.jwt_secret.get_secret_value()
    verifier = TokenVerifier(settings)
    for claims in (
        {**CLAIMS, "iat": "yesterday"},
        {**CLAIMS, "exp": "never"},
        {**CLAIMS, "sub": 7},
    ):
        token = jwt.encode(claims, secret, algorithm="HS256")
        assert "token" in _refusal(verifier, token)


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=6,
)
_headers = (
    st.fixed_dictionaries(
        {"alg": st.sampled_from(["HS256", "RS256", "none"]) | _json},
        optional={
            "kid": _json,
            "crit": _json,
            "b64": _json,
            "typ": _json,
            "jku": _json,
        },
    )
    | _json
)
_segments = st.text(alphabet="ABCDEFabcdef0123456789-_=.+/", max_size=40)


@hypothesis_settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(header=_headers, claims=_json | st.just(CLAIMS), signature=_segments)
def test_fuzzed_tokens_are_refused_only_as_unauthenticated(
    header: Any, claims: Any, signature: str
) -> None:
    verifier = TokenVerifier(StintSettings(environment="test"))
    with pytest.raises(Unauthenticated):
        verifier.verify(_token(header, claims, signature))


@pytest.fixture(scope="module")
def rs256_verifier() -> TokenVerifier:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    settings = StintSettings(environment="test", jwt_algorithm="RS256", jwt_public_key=pem.decode())
    return TokenVerifier(settings)


@hypothesis_settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(header=_headers, claims=_json | st.just(CLAIMS), signature=_segments)
def test_fuzzed_tokens_against_an_rs256_key_are_refused_only_as_unauthenticated(
    rs256_verifier: TokenVerifier, header: Any, claims: Any, signature: str
) -> None:
    with pytest.raises(Unauthenticated):
        rs256_verifier.verify(_token(header, claims, signature))


@hypothesis_settings(max_examples=300, deadline=None)
@given(token=st.text(max_size=60) | st.binary(max_size=60).map(lambda b: b.decode("latin-1")))
def test_fuzzed_strings_are_refused_only_as_unauthenticated(token: str) -> None:
    with pytest.raises(Unauthenticated):
        TokenVerifier(StintSettings(environment="test")).verify(token)


@pytest.mark.parametrize("missing", ["STINT_JWT_ISSUER", "STINT_JWT_AUDIENCE"])
def test_production_settings_refuse_to_load_without_issuer_and_audience(
    monkeypatch: pytest.MonkeyPatch, missing: str
) -> None:
    monkeypatch.setenv("STINT_ENVIRONMENT", "production")
    monkeypatch.setenv("STINT_JWT_SECRET", "a-real-secret-from-the-cluster")
    monkeypatch.setenv("STINT_JWT_ISSUER", "https://gateway.example")
    monkeypatch.setenv("STINT_JWT_AUDIENCE", "stint")
    assert StintSettings().jwt_issuer == "https://gateway.example"
    monkeypatch.delenv(missing)
    with pytest.raises(ValidationError, match=f"{missing} must be set in production"):
        StintSettings()


def test_outside_production_issuer_and_audience_stay_optional() -> None:
    assert StintSettings(environment="dev").jwt_issuer == ""


@dataclass
class Jwks:
    """A JWKS endpoint on loopback that counts its fetches; `keys` can be rotated."""

    url: str
    keys: dict[str, rsa.RSAPrivateKey] = field(default_factory=dict)
    fetches: int = 0

    def body(self) -> bytes:
        entries = [
            {**json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(k.public_key())), "kid": kid}
            for kid, k in self.keys.items()
        ]
        return json.dumps({"keys": entries}).encode()


@pytest.fixture(scope="module")
def rsa_keys() -> list[rsa.RSAPrivateKey]:
    return [rsa.generate_private_key(public_exponent=65537, key_size=2048) for _ in range(2)]


@pytest.fixture
def jwks() -> Iterator[Jwks]:
    port = free_port()
    endpoint = Jwks(url=f"http://127.0.0.1:{port}/jwks.json")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            endpoint.fetches += 1
            body = endpoint.body()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield endpoint
    finally:
        server.shutdown()
        server.server_close()


def _jwks_verifier(settings: StintSettings, url: str, **update: Any) -> TokenVerifier:
    return TokenVerifier(
        settings.model_copy(update={"jwt_algorithm": "RS256", "jwt_jwks_url": url, **update})
    )


def _signed(key: rsa.RSAPrivateKey, kid: str) -> str:
    return jwt.encode(CLAIMS, key, algorithm="RS256", headers={"kid": kid})


def test_jwks_keys_are_cached_then_refetched_after_their_lifetime(
    settings: StintSettings, jwks: Jwks, rsa_keys: list[rsa.RSAPrivateKey]
) -> None:
    jwks.keys = {"key-1": rsa_keys[0]}
    verifier = _jwks_verifier(settings, jwks.url, jwt_jwks_cache_seconds=0.3)
    token = _signed(rsa_keys[0], "key-1")
    for _ in range(5):
        assert verifier.verify(token).subject == "u"
    assert jwks.fetches == 1
    # Once the lifetime has passed, the next verification fetches the set again.
    deadline = datetime.now(UTC).timestamp() + 10
    while jwks.fetches == 1 and datetime.now(UTC).timestamp() < deadline:
        assert verifier.verify(token).subject == "u"
    assert jwks.fetches == 2


def test_an_unknown_kid_refreshes_the_keys_once_per_interval(
    settings: StintSettings, jwks: Jwks, rsa_keys: list[rsa.RSAPrivateKey]
) -> None:
    jwks.keys = {"key-1": rsa_keys[0]}
    limited = _jwks_verifier(settings, jwks.url, jwt_jwks_refresh_interval_seconds=3600)
    assert limited.verify(_signed(rsa_keys[0], "key-1")).subject == "u"
    assert jwks.fetches == 1
    rotated = _signed(rsa_keys[1], "key-2")
    for _ in range(5):  # a flood of unknown kids does not hammer the endpoint
        assert "signing key is unknown" in _refusal(limited, rotated)
    assert jwks.fetches == 1

    jwks.keys = {"key-1": rsa_keys[0], "key-2": rsa_keys[1]}
    eager = _jwks_verifier(settings, jwks.url, jwt_jwks_refresh_interval_seconds=0)
    assert eager.verify(_signed(rsa_keys[0], "key-1")).subject == "u"
    fetched = jwks.fetches
    jwks.keys = {"key-1": rsa_keys[0], "key-3": rsa_keys[1]}  # rotated after the fetch
    assert eager.verify(_signed(rsa_keys[1], "key-3")).subject == "u"
    assert jwks.fetches == fetched + 1


def test_a_jwks_token_without_a_kid_is_refused_without_a_fetch(
    settings: StintSettings, jwks: Jwks, rsa_keys: list[rsa.RSAPrivateKey]
) -> None:
    verifier = _jwks_verifier(settings, jwks.url)
    token = jwt.encode(CLAIMS, rsa_keys[0], algorithm="RS256")
    assert "kid" in _refusal(verifier, token)
    assert "Key ID" in _refusal(verifier, _token({"alg": "RS256", "kid": 7}))
    assert jwks.fetches == 0


def test_an_unreachable_jwks_endpoint_is_unavailable_not_internal(
    settings: StintSettings, rsa_keys: list[rsa.RSAPrivateKey]
) -> None:
    verifier = _jwks_verifier(settings, f"http://127.0.0.1:{free_port()}/jwks.json")
    with pytest.raises(SigningKeysUnavailable, match="cannot be fetched"):
        verifier.verify(_signed(rsa_keys[0], "key-1"))


def _subclasses(kind: type[Exception]) -> list[type[Exception]]:
    found = [kind]
    for sub in kind.__subclasses__():
        found += _subclasses(sub)
    return found


@pytest.mark.parametrize("error", _subclasses(jwt.InvalidTokenError), ids=lambda e: e.__name__)
@pytest.mark.parametrize("where", ["get_unverified_header", "decode"])
def test_every_invalid_token_error_raised_anywhere_is_unauthenticated(
    settings: StintSettings, monkeypatch: pytest.MonkeyPatch, error: type[Exception], where: str
) -> None:
    def fail(*args: Any, **kwargs: Any) -> Any:
        raise error("exp") if error is jwt.MissingRequiredClaimError else error("bad: token")

    token = jwt.encode(CLAIMS, settings.jwt_secret.get_secret_value(), algorithm="HS256")
    monkeypatch.setattr(jwt, where, fail)
    message = _refusal(TokenVerifier(settings), token)
    assert message.startswith("token") or message.startswith("malformed bearer token")
