"""Generate the AsyncAPI 3.0 event catalogue (gen/asyncapi.json) from the contracts' descriptors.

One channel per topic, one message per event type. A payload's JSON Schema follows the proto3
JSON mapping of the event message; the headers describe the CloudEvents attributes of the
EventEnvelope that carries it; the Kafka key is the aggregate id (the envelope's subject).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from google.protobuf import descriptor_pb2

ENVELOPE = "stint.common.v1.EventEnvelope"
CONTENT_TYPE = "application/protobuf"
KAFKA_BINDING_VERSION = "0.5.0"

Schema = dict[str, Any]
FieldType = descriptor_pb2.FieldDescriptorProto.Type
Field = descriptor_pb2.FieldDescriptorProto

INT64 = {FieldType.TYPE_INT64, FieldType.TYPE_UINT64, FieldType.TYPE_SINT64}
INT64 |= {FieldType.TYPE_FIXED64, FieldType.TYPE_SFIXED64}
INT32 = {FieldType.TYPE_INT32, FieldType.TYPE_UINT32, FieldType.TYPE_SINT32}
INT32 |= {FieldType.TYPE_FIXED32, FieldType.TYPE_SFIXED32}
NUMBERS = {FieldType.TYPE_DOUBLE, FieldType.TYPE_FLOAT}

# Well-known types have their own proto3 JSON forms.
WELL_KNOWN: dict[str, Schema] = {
    "google.protobuf.Timestamp": {"type": "string", "format": "date-time"},
    "google.protobuf.Duration": {"type": "string", "pattern": r"^-?[0-9]+(\.[0-9]+)?s$"},
    "google.protobuf.Any": {
        "type": "object",
        "properties": {"@type": {"type": "string"}},
        "required": ["@type"],
    },
    "google.protobuf.FieldMask": {"type": "string"},
    "google.protobuf.Struct": {"type": "object"},
    "google.protobuf.Value": {},
    "google.protobuf.Empty": {"type": "object"},
}


class Catalogue:
    """Message and enum descriptors of an image, by full name, with their leading comments."""

    def __init__(self, image: descriptor_pb2.FileDescriptorSet) -> None:
        self.messages: dict[str, descriptor_pb2.DescriptorProto] = {}
        self.enums: dict[str, descriptor_pb2.EnumDescriptorProto] = {}
        self.comments: dict[str, str] = {}
        for file in image.file:
            comments = {
                tuple(loc.path): loc.leading_comments.strip()
                for loc in file.source_code_info.location
                if loc.leading_comments.strip()
            }
            for name, path, message in _walk(file.package, file.message_type, (4,)):
                self.messages[name] = message
                self._note(name, comments.get(path))
                for index, field in enumerate(message.field):
                    self._note(f"{name}.{field.name}", comments.get((*path, 2, index)))
                for index, enum in enumerate(message.enum_type):
                    self.enums[f"{name}.{enum.name}"] = enum
                    self._note(f"{name}.{enum.name}", comments.get((*path, 4, index)))
            for index, enum in enumerate(file.enum_type):
                self.enums[f"{file.package}.{enum.name}"] = enum
                self._note(f"{file.package}.{enum.name}", comments.get((5, index)))

    def _note(self, name: str, comment: str | None) -> None:
        if comment:
            self.comments[name] = " ".join(comment.split())

    def described(self, name: str, schema: Schema) -> Schema:
        comment = self.comments.get(name)
        return {"description": comment, **schema} if comment else schema


def _walk(
    scope: str, messages: Iterable[descriptor_pb2.DescriptorProto], path: tuple[int, ...]
) -> Iterator[tuple[str, tuple[int, ...], descriptor_pb2.DescriptorProto]]:
    for index, message in enumerate(messages):
        name = f"{scope}.{message.name}"
        here = (*path, index)
        yield name, here, message
        yield from _walk(name, message.nested_type, (*here, 3))


def _ref(full_name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{full_name}"}


class SchemaBuilder:
    """JSON Schemas (proto3 JSON mapping) for messages, collected into components.schemas."""

    def __init__(self, catalogue: Catalogue) -> None:
        self.catalogue = catalogue
        self.schemas: dict[str, Schema] = {}

    def message(self, full_name: str) -> Schema:
        """A reference to the message's schema, building it and its dependencies once."""
        if full_name in WELL_KNOWN:
            return dict(WELL_KNOWN[full_name])
        if full_name not in self.schemas:
            self.schemas[full_name] = {}
            self.schemas[full_name] = self._object(full_name)
        return _ref(full_name)

    def _object(self, full_name: str) -> Schema:
        message = self.catalogue.messages[full_name]
        properties = {
            field.json_name: self.catalogue.described(
                f"{full_name}.{field.name}", self.field(field)
            )
            for field in message.field
        }
        schema: Schema = {"type": "object", "title": message.name, "properties": properties}
        return self.catalogue.described(full_name, schema)

    def field(self, field: Field) -> Schema:
        if field.type == FieldType.TYPE_MESSAGE:
            entry = self.catalogue.messages.get(field.type_name.lstrip("."))
            if entry is not None and entry.options.map_entry:
                return {"type": "object", "additionalProperties": self.field(entry.field[1])}
        single = self.single(field)
        if field.label == Field.Label.LABEL_REPEATED:
            return {"type": "array", "items": single}
        return single

    def single(self, field: Field) -> Schema:
        if field.type == FieldType.TYPE_MESSAGE:
            return self.message(field.type_name.lstrip("."))
        if field.type == FieldType.TYPE_ENUM:
            return self.enum(field.type_name.lstrip("."))
        if field.type in INT64:
            return {"type": ["integer", "string"], "format": "int64", "pattern": "^-?[0-9]+$"}
        if field.type in INT32:
            return {"type": "integer", "format": "int32"}
        if field.type in NUMBERS:
            return {"type": "number"}
        if field.type == FieldType.TYPE_BOOL:
            return {"type": "boolean"}
        if field.type == FieldType.TYPE_BYTES:
            return {"type": "string", "contentEncoding": "base64"}
        return {"type": "string"}

    def enum(self, full_name: str) -> Schema:
        if full_name not in self.schemas:
            values = [value.name for value in self.catalogue.enums[full_name].value]
            schema: Schema = {"type": "string", "enum": values}
            self.schemas[full_name] = self.catalogue.described(full_name, schema)
        return _ref(full_name)


def envelope_headers(builder: SchemaBuilder, event: str) -> Schema:
    """The CloudEvents attributes of the envelope that carries `event` (all but its data)."""
    envelope = builder.catalogue.messages[ENVELOPE]
    properties: Schema = {}
    for field in envelope.field:
        if field.name == "data":
            continue
        schema = builder.catalogue.described(f"{ENVELOPE}.{field.name}", builder.field(field))
        properties[field.json_name] = schema
    properties["type"] = {**properties["type"], "const": event}
    properties["specVersion"] = {**properties["specVersion"], "const": "1.0"}
    return {
        "type": "object",
        "description": (
            f"CloudEvents 1.0 attributes and W3C trace context, carried by the {ENVELOPE} that "
            "is the Kafka record value (structured mode); the payload is its `data` (an Any)."
        ),
        "properties": properties,
        "required": ["id", "source", "type", "time", "subject", "specVersion"],
    }


def kafka_key(message: descriptor_pb2.DescriptorProto) -> Schema:
    aggregate = message.field[0]
    return {
        "type": "string",
        "description": (
            "The aggregate id: equal to the envelope's subject and to the payload's "
            f"`{aggregate.json_name}`, so the events of one aggregate stay in order."
        ),
    }


def channel_id(topic: str) -> str:
    return topic.split(".")[0]


def build_document(
    image: descriptor_pb2.FileDescriptorSet, event_topics: Mapping[str, str]
) -> dict[str, Any]:
    """The AsyncAPI 3.0 document for the events of `image`, published on `event_topics`."""
    builder = SchemaBuilder(Catalogue(image))
    builder.message(ENVELOPE)
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for event, topic in sorted(event_topics.items()):
        short = event.rsplit(".", 1)[1]
        channel = channels.setdefault(
            channel_id(topic),
            {
                "address": topic,
                "description": f"Events of the {channel_id(topic)} service, keyed by aggregate id.",
                "messages": {},
            },
        )
        channel["messages"][short] = {"$ref": f"#/components/messages/{event}"}
        messages[event] = {
            "name": short,
            "title": event,
            "contentType": CONTENT_TYPE,
            "headers": envelope_headers(builder, event),
            "payload": builder.message(event),
            "bindings": {
                "kafka": {
                    "key": kafka_key(builder.catalogue.messages[event]),
                    "bindingVersion": KAFKA_BINDING_VERSION,
                }
            },
        }
        summary = builder.catalogue.comments.get(event)
        if summary:
            messages[event]["summary"] = summary
    for cid, channel in channels.items():
        operations[f"publish-{cid}"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{cid}"},
            "summary": f"The {cid} service publishes on {channel['address']}.",
            "messages": [{"$ref": f"#/channels/{cid}/messages/{m}"} for m in channel["messages"]],
        }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Stint events",
            "version": "1.0.0",
            "description": "Every event Stint publishes on Kafka. Generated from proto/.",
        },
        "defaultContentType": CONTENT_TYPE,
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": dict(sorted(builder.schemas.items()))},
    }


def write_asyncapi(
    image: descriptor_pb2.FileDescriptorSet, event_topics: Mapping[str, str], out: Path
) -> None:
    out.write_text(json.dumps(build_document(image, event_topics), indent=2) + "\n")
