"""One declared policy per gRPC service: who may call each method and whether it mutates."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from google.protobuf.descriptor import ServiceDescriptor

from stint_runtime.errors import PermissionDenied
from stint_runtime.grpc.auth import ROLES, Principal, Role


class PolicyError(Exception):
    """A policy does not match its service (raised when the server is built, never per call)."""


@dataclass(frozen=True)
class Rule:
    """Roles allowed to call one RPC; `mutating` RPCs need an idempotency key.

    A `public` RPC also admits callers without a token, as the anonymous principal.
    """

    roles: frozenset[Role]
    mutating: bool
    public: bool = False

    def __post_init__(self) -> None:
        unknown = set(self.roles) - ROLES
        if unknown:
            raise PolicyError(f"unknown roles in rule: {sorted(unknown)}")
        if self.public and self.mutating:
            raise PolicyError("a public RPC cannot be mutating: idempotency keys are per caller")

    def allows(self, principal: Principal) -> bool:
        if principal.role is None:
            return self.public
        return principal.role in self.roles


def rule(*roles: Role, mutating: bool, public: bool = False) -> Rule:
    """Shorthand: `rule("employer", "admin", mutating=True)`."""
    return Rule(roles=frozenset(roles), mutating=mutating, public=public)


@dataclass(frozen=True)
class ServicePolicy:
    """Rules for every method of one service, keyed by method name (e.g. "CreateListing")."""

    service: str
    rules: Mapping[str, Rule] = field(default_factory=dict)

    def check_covers(self, descriptor: ServiceDescriptor) -> None:
        """Raises PolicyError unless the rules name exactly the methods of `descriptor`."""
        if descriptor.full_name != self.service:
            raise PolicyError(f"policy for {self.service} used for {descriptor.full_name}")
        methods = {method.name for method in descriptor.methods}
        missing, extra = methods - self.rules.keys(), self.rules.keys() - methods
        if missing or extra:
            raise PolicyError(
                f"policy for {self.service} does not match the service: "
                f"methods without a rule {sorted(missing)}, rules without a method {sorted(extra)}"
            )

    def rule_for(self, method: str) -> Rule:
        return self.rules[method]

    def authorize(self, method: str, principal: Principal) -> Rule:
        """The method's rule if `principal` may call it; PermissionDenied otherwise."""
        found = self.rules[method]
        if not found.allows(principal):
            raise PermissionDenied(f"role {principal.role or 'anonymous'} may not call {method}")
        return found


def full_method_name(service: str, method: str) -> str:
    """The gRPC path of a method, as servers and interceptors see it: /package.Service/Method."""
    return f"/{service}/{method}"
