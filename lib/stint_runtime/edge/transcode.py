"""HTTP/JSON requests into protobuf requests and protobuf responses into JSON (proto3 JSON)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, cast
from urllib.parse import unquote

from google.protobuf import json_format
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from stint_runtime.edge.routes import Route


class BadRequest(ValueError):
    """The HTTP request cannot become the RPC's request message (INVALID_ARGUMENT)."""


def is_repeated(field: FieldDescriptor) -> bool:
    return bool(field.is_repeated)


def field_of(descriptor: Descriptor, name: str) -> FieldDescriptor:
    """A field by its proto name or its JSON (lowerCamelCase) name."""
    field = descriptor.fields_by_name.get(name) or descriptor.fields_by_camelcase_name.get(name)
    if field is None:
        raise BadRequest(f"{descriptor.name} has no field {name!r}")
    return field


def boolean(path: str, value: str) -> bool:
    if value not in ("true", "false"):
        raise BadRequest(f"{path!r} must be true or false, not {value!r}")
    return value == "true"


def nest(descriptor: Descriptor, target: dict[str, Any], path: str, values: Sequence[Any]) -> None:
    """Put `values` at the dotted field `path` of a JSON object for `descriptor`."""
    *parents, last = path.split(".")
    for name in parents:
        field = field_of(descriptor, name)
        if field.message_type is None or is_repeated(field):
            raise BadRequest(f"{path!r}: {name!r} is not a message field")
        target = target.setdefault(field.name, {})
        descriptor = field.message_type
    field = field_of(descriptor, last)
    if field.type == FieldDescriptor.TYPE_BOOL:
        values = [boolean(path, value) for value in values]
    if is_repeated(field):
        target.setdefault(field.name, []).extend(values)
    elif len(values) != 1:
        raise BadRequest(f"{path!r} is not repeated but was given {len(values)} times")
    else:
        target[field.name] = values[0]


def parse_json(body: bytes) -> Any:
    try:
        return json.loads(body or b"{}")
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise BadRequest(f"the body is not JSON: {error}") from None
    except RecursionError:
        raise BadRequest("the body's JSON is nested too deeply") from None


def build_request(
    route: Route,
    variables: Mapping[str, str],
    query: Mapping[str, Sequence[str]],
    body: bytes,
) -> Message:
    """The RPC request: the body (all of it or one field), then query parameters for the fields
    the body does not carry, then the path variables, which win."""
    request = route.request_class()()
    descriptor = cast(Descriptor, request.DESCRIPTOR)
    document: dict[str, Any] = {}
    if route.body == "*":
        parsed = parse_json(body)
        if not isinstance(parsed, dict):
            raise BadRequest("the body must be a JSON object")
        document = parsed
    elif route.body:
        document = {route.body: parse_json(body)}
    if route.body != "*":
        for name, values in query.items():
            nest(descriptor, document, name, values)
    for path, raw in variables.items():
        drop_path(document, descriptor, path)
        nest(descriptor, document, path, [unquote(raw)])
    try:
        json_format.ParseDict(document, request)
    except json_format.ParseError as error:
        raise BadRequest(str(error)) from None
    except RecursionError:
        raise BadRequest("the request is nested too deeply") from None
    return request


def drop_path(document: dict[str, Any], descriptor: Descriptor, path: str) -> None:
    """Removes a body value the path overrides (under its proto or JSON name)."""
    *parents, last = path.split(".")
    target: Any = document
    for name in parents:
        field = field_of(descriptor, name)
        target = target.get(field.name) or target.get(field.json_name)
        if not isinstance(target, dict) or field.message_type is None:
            return
        descriptor = field.message_type
    field = field_of(descriptor, last)
    target.pop(field.name, None)
    target.pop(field.json_name, None)


def response_body(response: Message) -> bytes:
    """Proto3 JSON (lowerCamelCase names), fields at their default values included."""
    document = json_format.MessageToDict(response, always_print_fields_with_no_presence=True)
    return json.dumps(document).encode()
