"""Token verification: only well-formed, correctly signed, unexpired tokens of a known role pass."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pydantic import ValidationError
from stint_runtime.errors import Unauthenticated
from stint_runtime.grpc.auth import (
    Principal,
    TokenVerifier,
    acting_as,
    current_principal,
    mint_token,
)
from stint_runtime.settings import StintSettings, load_settings
from stint_runtime.stack.processes import free_port

FAR_FUTURE = datetime(2100, 1, 1, tzinfo=UTC)


@pytest.fixture
def settings() -> StintSettings:
    return load_settings("listings").model_copy(update={"environment": "test"})


def _hs256(settings: StintSettings, **claims: Any) -> str:
    return jwt.encode(claims, settings.jwt_secret.get_secret_value(), algorithm="HS256")


def _refusal(verifier: TokenVerifier, token: str) -> str:
    with pytest.raises(Unauthenticated) as refused:
        verifier.verify(token)
    assert token not in refused.value.message
    return refused.value.message


def test_minted_token_round_trips(settings: StintSettings) -> None:
    token = mint_token(settings, sub="emp-1", role="employer", org="org-9")
    assert TokenVerifier(settings).verify(token) == Principal("emp-1", "employer", "org-9")


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"sub": "u", "role": "student"}, "'exp' claim"),
        ({"role": "student", "exp": FAR_FUTURE}, "'sub' claim"),
        ({"sub": "u", "exp": FAR_FUTURE}, "'role' claim"),
        ({"sub": "u", "role": "root", "exp": FAR_FUTURE}, "role is not one of"),
        ({"sub": "u", "role": ["admin"], "exp": FAR_FUTURE}, "role is not one of"),
        ({"sub": "u", "role": "employer", "exp": FAR_FUTURE}, "org claim"),
        ({"sub": "", "role": "student", "exp": FAR_FUTURE}, "subject"),
        ({"sub": "u", "role": "student", "exp": datetime(2000, 1, 1, tzinfo=UTC)}, "expired"),
    ],
)
def test_claims_are_checked(settings: StintSettings, claims: dict[str, Any], reason: str) -> None:
    assert reason in _refusal(TokenVerifier(settings), _hs256(settings, **claims))


def test_leeway_accepts_a_token_that_just_expired(settings: StintSettings) -> None:
    token = mint_token(settings, sub="u", role="student", ttl=timedelta(seconds=-5))
    assert TokenVerifier(settings).verify(token).subject == "u"


@pytest.mark.filterwarnings("ignore:The HMAC key is")
def test_malformed_wrongly_signed_and_unsigned_tokens_are_refused(settings: StintSettings) -> None:
    verifier = TokenVerifier(settings)
    claims = {"sub": "u", "role": "admin", "exp": FAR_FUTURE}
    assert "malformed" in _refusal(verifier, "not.a.jwt")
    assert "malformed" in _refusal(verifier, "garbage")
    wrong_key = jwt.encode(claims, "some-other-secret-of-sufficient-length", algorithm="HS256")
    assert "signature" in _refusal(verifier, wrong_key)
    unsigned = jwt.encode(claims, "", algorithm="none")
    assert "algorithm" in _refusal(verifier, unsigned)
    hs512 = jwt.encode(claims, settings.jwt_secret.get_secret_value(), algorithm="HS512")
    assert "algorithm" in _refusal(verifier, hs512)


def test_issuer_and_audience_are_checked_when_configured(settings: StintSettings) -> None:
    strict = settings.model_copy(update={"jwt_issuer": "gateway", "jwt_audience": "stint"})
    verifier = TokenVerifier(strict)
    assert verifier.verify(mint_token(strict, sub="u", role="student")).subject == "u"
    base = {"sub": "u", "role": "student", "exp": FAR_FUTURE}
    assert "issuer" in _refusal(verifier, _hs256(strict, **base, iss="elsewhere", aud="stint"))
    assert "audience" in _refusal(verifier, _hs256(strict, **base, iss="gateway", aud="other"))
    assert "'iss' claim" in _refusal(verifier, _hs256(strict, **base, aud="stint"))


def test_mint_token_is_refused_in_production_and_for_bad_claims(settings: StintSettings) -> None:
    production = settings.model_copy(update={"environment": "production"})
    with pytest.raises(RuntimeError, match="production"):
        mint_token(production, sub="u", role="admin")
    with pytest.raises(ValueError, match="org"):
        mint_token(settings, sub="u", role="employer")


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _public_pem(key: rsa.RSAPrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def test_rs256_with_a_pem_key_rejects_algorithm_confusion(
    settings: StintSettings, rsa_key: rsa.RSAPrivateKey
) -> None:
    pem = _public_pem(rsa_key)
    rs256 = settings.model_copy(update={"jwt_algorithm": "RS256", "jwt_public_key": pem})
    verifier = TokenVerifier(rs256)
    claims = {"sub": "u", "role": "admin", "exp": FAR_FUTURE}
    assert verifier.verify(jwt.encode(claims, rsa_key, algorithm="RS256")).role == "admin"
    # Algorithm confusion: with RS256 configured, no HS256 token passes whatever its key.
    forged = jwt.encode(claims, "x" * 32, algorithm="HS256")
    assert "algorithm" in _refusal(verifier, forged)
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    assert "signature" in _refusal(verifier, jwt.encode(claims, other_key, algorithm="RS256"))
    with pytest.raises(RuntimeError, match="HS256"):
        mint_token(rs256, sub="u", role="admin")


@pytest.fixture
def jwks_url(rsa_key: rsa.RSAPrivateKey) -> Iterator[str]:
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(rsa_key.public_key()))
    body = json.dumps({"keys": [{**jwk, "kid": "key-1", "use": "sig", "alg": "RS256"}]}).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", free_port()), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/.well-known/jwks.json"
    finally:
        server.shutdown()
        server.server_close()


def test_rs256_with_a_jwks_url(
    settings: StintSettings, rsa_key: rsa.RSAPrivateKey, jwks_url: str
) -> None:
    verifier = TokenVerifier(
        settings.model_copy(update={"jwt_algorithm": "RS256", "jwt_jwks_url": jwks_url})
    )
    assert verifier.uses_network
    claims = {"sub": "s", "role": "student", "exp": FAR_FUTURE}
    good = jwt.encode(claims, rsa_key, algorithm="RS256", headers={"kid": "key-1"})
    assert verifier.verify(good).subject == "s"
    unknown = jwt.encode(claims, rsa_key, algorithm="RS256", headers={"kid": "key-2"})
    assert "signing key" in _refusal(verifier, unknown)


def test_rs256_needs_a_key(settings: StintSettings) -> None:
    with pytest.raises(ValueError, match="RS256"):
        TokenVerifier(settings.model_copy(update={"jwt_algorithm": "RS256"}))


def test_current_principal_is_scoped_to_the_block() -> None:
    with pytest.raises(RuntimeError, match="no principal"):
        current_principal()
    with acting_as(Principal("u", "student")) as principal:
        assert current_principal() is principal
    with pytest.raises(RuntimeError):
        current_principal()


def test_production_refuses_the_public_dev_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STINT_ENVIRONMENT", "production")
    with pytest.raises(ValidationError, match="STINT_JWT_SECRET must be set in production"):
        StintSettings()
    monkeypatch.setenv("STINT_JWT_SECRET", "a-real-secret-from-the-cluster")
    monkeypatch.setenv("STINT_JWT_ISSUER", "https://gateway.example")
    monkeypatch.setenv("STINT_JWT_AUDIENCE", "stint")
    assert StintSettings().environment == "production"
