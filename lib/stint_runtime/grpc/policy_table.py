"""Who may call what: the declared per-RPC policies of every service as one table.

`stint policy [SERVICE]` prints it; docs/policies.md is this module's markdown, checked up to
date by a test. The rows come from the policies the servers enforce, never from a copy.
"""

from __future__ import annotations

import importlib
import inspect
from dataclasses import asdict, dataclass

from google.protobuf import descriptor_pool

from stint_runtime.grpc.policy import ServicePolicy
from stint_runtime.settings import DEFAULT_GRPC_PORTS

ROLE_ORDER = ("employer", "student", "admin")
DOC_PATH = "docs/policies.md"
REGENERATE = f".venv/bin/stint policy --markdown > {DOC_PATH}"


class UnknownService(LookupError):
    """No service of that name."""


@dataclass(frozen=True)
class PolicyRow:
    """One RPC: who may call it and what it asks of the caller."""

    service: str
    rpc: str
    roles: tuple[str, ...]
    anonymous: bool
    mutating: bool
    idempotency_key_required: bool

    def as_json(self) -> dict[str, object]:
        return {**asdict(self), "roles": list(self.roles)}


def service_policy(service: str) -> tuple[ServicePolicy, str]:
    """The declared policy of `service` (e.g. "listings") and its module's docstring."""
    if service not in DEFAULT_GRPC_PORTS:
        raise UnknownService(f"unknown service {service!r}; one of {', '.join(DEFAULT_GRPC_PORTS)}")
    module = importlib.import_module(f"stint_{service}.entrypoints.policy")
    policies = [value for value in vars(module).values() if isinstance(value, ServicePolicy)]
    if len(policies) != 1:
        raise LookupError(f"{module.__name__} declares {len(policies)} service policies, not 1")
    return policies[0], inspect.cleandoc(module.__doc__ or "")


def policy_rows(service: str) -> list[PolicyRow]:
    """The rows of one service, in the order its proto declares the RPCs."""
    policy, _ = service_policy(service)
    descriptor = descriptor_pool.Default().FindServiceByName(policy.service)
    policy.check_covers(descriptor)
    rows = []
    for method in descriptor.methods:
        rule = policy.rule_for(method.name)
        rows.append(
            PolicyRow(
                service=policy.service,
                rpc=method.name,
                roles=tuple(role for role in ROLE_ORDER if role in rule.roles),
                anonymous=rule.public,
                mutating=rule.mutating,
                idempotency_key_required=rule.mutating,
            )
        )
    return rows


def services(only: str | None = None) -> list[str]:
    return [only] if only else list(DEFAULT_GRPC_PORTS)


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def text_table(rows: list[PolicyRow]) -> str:
    """Aligned columns for a terminal."""
    header = ("rpc", "roles", "anonymous", "mutating", "idempotency-key")
    cells = [
        (
            f"{row.service}/{row.rpc}",
            ", ".join(row.roles),
            _yes(row.anonymous),
            _yes(row.mutating),
            "required" if row.idempotency_key_required else "-",
        )
        for row in rows
    ]
    widths = [max(len(line[i]) for line in [header, *cells]) for i in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in [header, *cells]
    )


def markdown(only: str | None = None) -> str:
    """docs/policies.md: per service, its policy's explanation and its table."""
    lines = [
        "# Who may call what",
        "",
        f"Generated from the declared per-RPC policies by `{REGENERATE}`;",
        "a test fails when this file is out of date. Every RPC needs a bearer token except those",
        "marked anonymous (they also accept a token). Mutating RPCs require an `idempotency-key`",
        "request header. The role admits a caller; ownership (an employer's org, a student's own",
        "records) is then checked by the service: a caller who is not a party gets NOT_FOUND.",
    ]
    for service in services(only):
        _, explanation = service_policy(service)
        rows = policy_rows(service)
        lines += ["", f"## {rows[0].service}", ""]
        if explanation:
            lines += [explanation, ""]
        lines += [
            "| RPC | roles | anonymous | mutating | idempotency key |",
            "|---|---|---|---|---|",
        ]
        lines += [
            f"| `{row.rpc}` | {', '.join(row.roles)} | {_yes(row.anonymous)} | "
            f"{_yes(row.mutating)} | {'required' if row.idempotency_key_required else '-'} |"
            for row in rows
        ]
    return "\n".join(lines) + "\n"
