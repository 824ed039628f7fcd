"""Who is calling: JWT verification into a Principal, carried in a context variable for the call."""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Literal, TypeAlias, get_args

import grpc
import jwt

from stint_runtime.errors import DomainError, Unauthenticated
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


class SigningKeysUnavailable(DomainError):
    """The JWKS endpoint cannot be reached: the token may be fine, the caller should retry."""

    code = grpc.StatusCode.UNAVAILABLE


# Why a token is refused, by PyJWT exception (the first matching class wins, so subclasses come
# before their bases). Messages never repeat the token's content.
_REFUSALS: Final[tuple[tuple[type[Exception], str], ...]] = (
    (jwt.ExpiredSignatureError, "token has expired"),
    (jwt.InvalidSignatureError, "token signature is invalid"),
    (jwt.InvalidIssuerError, "token issuer is not accepted"),
    (jwt.InvalidAudienceError, "token audience is not accepted"),
    (jwt.ImmatureSignatureError, "token is not valid yet"),
    (jwt.InvalidIssuedAtError, "token issued-at (iat) claim is invalid"),
    (jwt.InvalidAlgorithmError, "token algorithm is not accepted"),
    (jwt.DecodeError, "malformed bearer token"),
)


def _refusal(error: jwt.InvalidTokenError) -> Unauthenticated:
    if isinstance(error, jwt.MissingRequiredClaimError):
        return Unauthenticated(f"token is missing the {error.claim!r} claim")
    for kind, message in _REFUSALS:
        if isinstance(error, kind):
            return Unauthenticated(message)
    # Header checks (kid, crit, b64...) and claim types: PyJWT's message names the field, e.g.
    # "Key ID header parameter must be a string"; what follows a colon may quote the token.
    what = str(error).split(":", 1)[0].strip()[:80]
    return Unauthenticated(f"malformed bearer token: {what}" if what else "malformed bearer token")


class TokenVerifier:
    """Verifies bearer JWTs: HS256 with settings.jwt_secret, or RS256 with a PEM key or JWKS URL.

    Only the configured algorithm is accepted (never `none`); exp, sub and role are required;
    iss and aud are checked when configured. Every refusal raises Unauthenticated with a message
    that never repeats the token's content. JWKS keys are cached for jwt_jwks_cache_seconds; an
    unknown `kid` refreshes them at most once per jwt_jwks_refresh_interval_seconds.
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
            # The key set (not single keys: PyJWT's per-kid cache never expires) is cached with
            # a lifetime; PyJWT's cooldown rate-limits the refresh an unknown kid triggers.
            self._jwks = jwt.PyJWKClient(
                settings.jwt_jwks_url,
                cache_keys=False,
                cache_jwk_set=True,
                lifespan=settings.jwt_jwks_cache_seconds,
                cooldown_duration=settings.jwt_jwks_refresh_interval_seconds,
                timeout=10,
            )
        else:
            raise ValueError("RS256 needs STINT_JWT_PUBLIC_KEY (PEM) or STINT_JWT_JWKS_URL")

    @property
    def uses_network(self) -> bool:
        """True when verifying may fetch keys (JWKS): call it from a worker thread then."""
        return self._jwks is not None

    def verify(self, token: str) -> Principal:
        try:
            claims = self._claims(token)
        except jwt.PyJWKClientConnectionError:
            raise SigningKeysUnavailable("token signing keys cannot be fetched now") from None
        except (jwt.PyJWKClientError, jwt.PyJWKSetError, jwt.PyJWKError):
            raise Unauthenticated("token signing key is unknown") from None
        except jwt.InvalidTokenError as error:
            raise _refusal(error) from None
        except (ValueError, TypeError):
            # A key PyJWT cannot use for this token (e.g. a JWK of another key type).
            raise Unauthenticated("token signing key is unknown") from None
        return principal_from_claims(claims)

    def _claims(self, token: str) -> dict[str, Any]:
        header = jwt.get_unverified_header(token)
        if header.get("alg") != self.algorithm:
            raise Unauthenticated(f"token algorithm is not accepted: expected {self.algorithm}")
        key: Any = self._key
        if self._jwks is not None:
            kid = header.get("kid")
            if not isinstance(kid, str) or not kid:
                raise Unauthenticated("token has no key id (kid) header")
            key = self._jwks.get_signing_key(kid).key
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
        return claims


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
