"""Who is calling: JWT verification into a Principal, carried in a context variable for the call."""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Literal, TypeAlias, get_args

import jwt

from stint_runtime.errors import Unauthenticated
from stint_runtime.settings import StintSettings
from stint_runtime.values import Actor

Role = Literal["employer", "student", "admin"]
ROLES: Final[frozenset[str]] = frozenset(get_args(Role))


# The caller of an RPC is the services' Actor; `role` is None only for the anonymous caller of
# a public RPC.
Principal: TypeAlias = Actor

ANONYMOUS: Final = Principal(subject="", role=None)

_principal: contextvars.ContextVar[Principal] = contextvars.ContextVar("stint_principal")


def current_principal() -> Principal:
    """The caller of the RPC being handled; raises outside a call (and outside `acting_as`)."""
    try:
        return _principal.get()
    except LookupError:
        raise RuntimeError("no principal: not inside an authenticated RPC") from None


@contextmanager
def acting_as(principal: Principal) -> Iterator[Principal]:
    """Makes `principal` the current one inside the block (the server does this for each call)."""
    token = _principal.set(principal)
    try:
        yield principal
    finally:
        _principal.reset(token)


def principal_from_claims(claims: dict[str, Any]) -> Principal:
    """Checks the identity claims (sub, role, org for employers) and builds the Principal."""
    subject, role, org = claims.get("sub"), claims.get("role"), claims.get("org")
    if not isinstance(subject, str) or not subject:
        raise Unauthenticated("token subject must be a non-empty string")
    if not isinstance(role, str) or role not in ROLES:
        raise Unauthenticated("token role is not one of employer, student, admin")
    if org is not None and (not isinstance(org, str) or not org):
        raise Unauthenticated("token org must be a non-empty string")
    if role == "employer" and org is None:
        raise Unauthenticated("an employer token must carry an org claim")
    return Principal(subject=subject, role=role, org=org)


class TokenVerifier:
    """Verifies bearer JWTs: HS256 with settings.jwt_secret, or RS256 with a PEM key or JWKS URL.

    Only the configured algorithm is accepted (never `none`); exp, sub and role are required;
    iss and aud are checked when configured. Refusals raise Unauthenticated with a message that
    never repeats the token's content.
    """

    def __init__(self, settings: StintSettings) -> None:
        self.algorithm = settings.jwt_algorithm
        self.issuer = settings.jwt_issuer or None
        self.audience = settings.jwt_audience or None
        self.leeway = timedelta(seconds=settings.jwt_leeway_seconds)
        self._jwks: jwt.PyJWKClient | None = None
        self._key: str | None = None
        if self.algorithm == "HS256":
            self._key = settings.jwt_secret.get_secret_value()
        elif settings.jwt_public_key:
            self._key = settings.jwt_public_key
        elif settings.jwt_jwks_url:
            self._jwks = jwt.PyJWKClient(settings.jwt_jwks_url, cache_keys=True)
        else:
            raise ValueError("RS256 needs STINT_JWT_PUBLIC_KEY (PEM) or STINT_JWT_JWKS_URL")

    @property
    def uses_network(self) -> bool:
        """True when verifying may fetch keys (JWKS): call it from a worker thread then."""
        return self._jwks is not None

    def verify(self, token: str) -> Principal:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.DecodeError:
            raise Unauthenticated("malformed bearer token") from None
        if header.get("alg") != self.algorithm:
            raise Unauthenticated(f"token algorithm is not accepted: expected {self.algorithm}")
        try:
            key: Any = self._key
            if self._jwks is not None:
                key = self._jwks.get_signing_key_from_jwt(token).key
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[self.algorithm],
                issuer=self.issuer,
                audience=self.audience,
                leeway=self.leeway,
                options={
                    "require": ["exp", "sub", "role"],
                    "verify_aud": self.audience is not None,
                },
            )
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("token has expired") from None
        except jwt.InvalidSignatureError:
            raise Unauthenticated("token signature is invalid") from None
        except jwt.MissingRequiredClaimError as error:
            raise Unauthenticated(f"token is missing the {error.claim!r} claim") from None
        except jwt.InvalidIssuerError:
            raise Unauthenticated("token issuer is not accepted") from None
        except jwt.InvalidAudienceError:
            raise Unauthenticated("token audience is not accepted") from None
        except jwt.ImmatureSignatureError:
            raise Unauthenticated("token is not valid yet") from None
        except jwt.PyJWKClientError:
            raise Unauthenticated("token signing key is unknown") from None
        except jwt.InvalidTokenError:
            raise Unauthenticated("malformed bearer token") from None
        return principal_from_claims(claims)


def mint_token(
    settings: StintSettings,
    *,
    sub: str,
    role: Role,
    org: str | None = None,
    ttl: timedelta = timedelta(hours=1),
) -> str:
    """A signed HS256 token for development and tests; refused in production."""
    if settings.environment == "production":
        raise RuntimeError("minting tokens is disabled in production")
    if settings.jwt_algorithm != "HS256":
        raise RuntimeError("mint_token only signs HS256 tokens; the gateway issues RS256 ones")
    now = datetime.now(UTC)
    claims: dict[str, Any] = {"sub": sub, "role": role, "iat": now, "exp": now + ttl}
    if org is not None:
        claims["org"] = org
    if settings.jwt_issuer:
        claims["iss"] = settings.jwt_issuer
    if settings.jwt_audience:
        claims["aud"] = settings.jwt_audience
    try:
        principal_from_claims(claims)
    except Unauthenticated as refused:
        raise ValueError(refused.message) from None
    return jwt.encode(claims, settings.jwt_secret.get_secret_value(), algorithm="HS256")
