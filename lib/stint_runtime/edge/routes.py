"""HTTP routes read from the contracts' `google.api.http` annotations."""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Final

from google.api import annotations_pb2  # type: ignore[import-untyped]
from google.protobuf import descriptor_pb2, message_factory
from google.protobuf.descriptor import MethodDescriptor, ServiceDescriptor
from google.protobuf.message import Message

from stint_runtime.settings import DEFAULT_GRPC_PORTS


class ServiceModuleError(LookupError):
    """A service without the generated module declaring its gRPC service."""


def service_module(name: str) -> str:
    """The generated module declaring service `name`'s gRPC service (contracts' layout)."""
    return f"stint.{name}.v1.service_pb2"


# Service name -> its module, for the services settings knows (one list: DEFAULT_GRPC_PORTS).
SERVICE_MODULES: Final = {name: service_module(name) for name in DEFAULT_GRPC_PORTS}
VERBS: Final = ("get", "put", "post", "delete", "patch")
VARIABLE = re.compile(r"\{([a-z_][a-z0-9_.]*)(?:=([^}]*))?\}")


class TemplateError(ValueError):
    """A path template this transcoder does not understand."""


@dataclass(frozen=True)
class Route:
    """One HTTP binding of one RPC."""

    service: str
    method: MethodDescriptor
    verb: str
    template: str
    pattern: re.Pattern[str]
    fields: tuple[str, ...]  # the field path of each template variable, in group order
    body: str

    @property
    def grpc_path(self) -> str:
        return f"/{self.method.containing_service.full_name}/{self.method.name}"

    def request_class(self) -> type[Message]:
        return message_factory.GetMessageClass(self.method.input_type)

    def response_class(self) -> type[Message]:
        return message_factory.GetMessageClass(self.method.output_type)

    def match(self, verb: str, path: str) -> dict[str, str] | None:
        """The template variables' values (field path -> raw text) if this route serves it."""
        if verb != self.verb:
            return None
        found = self.pattern.fullmatch(path)
        if found is None:
            return None
        return {field: found.group(i + 1) for i, field in enumerate(self.fields)}


def compile_template(template: str) -> tuple[re.Pattern[str], tuple[str, ...]]:
    """A regex for a path template: `{field}` is one segment, `{field=a/*/b/**}` its pattern."""
    if not template.startswith("/"):
        raise TemplateError(f"{template!r} does not start with /")
    parts: list[str] = []
    fields: list[str] = []
    position = 0
    for variable in VARIABLE.finditer(template):
        parts.append(re.escape(template[position : variable.start()]))
        fields.append(variable.group(1))
        parts.append(f"({segment_pattern(variable.group(2) or '*')})")
        position = variable.end()
    rest = template[position:]
    if "{" in rest or "}" in rest:
        raise TemplateError(f"{template!r} has a malformed variable")
    parts.append(re.escape(rest))
    return re.compile("".join(parts)), tuple(fields)


def segment_pattern(pattern: str) -> str:
    """`*` is one segment (without the `:` that starts a custom verb), `**` any rest."""
    pieces = []
    for segment in pattern.split("/"):
        if segment == "*":
            pieces.append("[^/:]+")
        elif segment == "**":
            pieces.append("[^:]+")
        else:
            pieces.append(re.escape(segment))
    return "/".join(pieces)


def http_rule(method: MethodDescriptor) -> Any:
    options = descriptor_pb2.MethodOptions.FromString(method.GetOptions().SerializeToString())
    if not options.HasExtension(annotations_pb2.http):
        return None
    return options.Extensions[annotations_pb2.http]


def bindings(rule: Any) -> Iterator[tuple[str, str, str]]:
    """(verb, template, body) of a rule and of its additional bindings."""
    for each in (rule, *rule.additional_bindings):
        kind = each.WhichOneof("pattern")
        if kind in VERBS:
            yield kind.upper(), str(getattr(each, kind)), each.body
        elif kind == "custom":
            yield each.custom.kind.upper(), each.custom.path, each.body


def service_descriptor(name: str) -> ServiceDescriptor:
    path = service_module(name)
    try:
        module: ModuleType = importlib.import_module(path)
    except ModuleNotFoundError:
        raise ServiceModuleError(
            f"service {name!r} has no contract module {path} (is it in contracts/, "
            "and was `make proto` run?)"
        ) from None
    services: list[ServiceDescriptor] = list(module.DESCRIPTOR.services_by_name.values())
    if len(services) != 1:
        raise TemplateError(f"{path} declares {len(services)} services")
    return services[0]


def routes_of(service: str) -> list[Route]:
    found = []
    for method in service_descriptor(service).methods:
        rule = http_rule(method)
        if rule is None:
            continue
        for verb, template, body in bindings(rule):
            pattern, fields = compile_template(template)
            found.append(Route(service, method, verb, template, pattern, fields, body))
    return found


def load_routes(services: Sequence[str] = tuple(SERVICE_MODULES)) -> list[Route]:
    """Every binding of the services, literal templates before ones with variables."""
    routes = [route for service in services for route in routes_of(service)]
    return sorted(routes, key=lambda route: len(route.fields))


def find_route(routes: Sequence[Route], verb: str, path: str) -> tuple[Route, dict[str, str]]:
    for route in routes:
        values = route.match(verb, path)
        if values is not None:
            return route, values
    raise LookupError(f"no route for {verb} {path}")


def methods_by_path(services: Sequence[str] = tuple(SERVICE_MODULES)) -> dict[str, str]:
    """gRPC path (/package.Service/Method) -> service name, for gRPC-Web."""
    return {
        f"/{method.containing_service.full_name}/{method.name}": service
        for service in services
        for method in service_descriptor(service).methods
    }
