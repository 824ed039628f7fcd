"""The generated AsyncAPI catalogue lists every topic and event with usable payload schemas."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest
from google.protobuf import descriptor_pb2, json_format
from google.protobuf.timestamp_pb2 import Timestamp
from stint import topics
from stint.common.v1.money_pb2 import Money
from stint.listings.v1 import events_pb2, resources_pb2

from tools import asyncapi, protogen

Document = dict[str, Any]


@pytest.fixture(scope="module")
def document() -> Document:
    loaded: Document = json.loads(protogen.ASYNCAPI.read_text())
    return loaded


def refs(node: object) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [r for value in node.values() for r in refs(value)]
    if isinstance(node, list):
        return [r for value in node for r in refs(value)]
    return []


def resolve(document: Document, ref: str) -> object:
    node: object = document
    for part in ref.removeprefix("#/").split("/"):
        assert isinstance(node, dict), f"unresolved $ref {ref}"
        assert part in node, f"unresolved $ref {ref}"
        node = node[part]
    return node


def test_is_asyncapi_3(document: Document) -> None:
    assert document["asyncapi"].startswith("3.")


def test_lists_every_topic_and_event(document: Document) -> None:
    assert {c["address"] for c in document["channels"].values()} == set(topics.ALL)
    assert set(document["components"]["messages"]) == set(topics.EVENT_TOPICS)
    for channel in document["channels"].values():
        for ref in channel["messages"].values():
            event = ref["$ref"].rsplit("/", 1)[1]
            assert topics.EVENT_TOPICS[event] == channel["address"]


def test_is_what_the_current_contracts_generate(
    document: Document, image: descriptor_pb2.FileDescriptorSet
) -> None:
    assert document == asyncapi.build_document(image, protogen.event_topics(image))


def test_every_reference_resolves(document: Document) -> None:
    for ref in refs(document):
        resolve(document, ref)


def test_headers_describe_the_envelope_and_key_the_aggregate(document: Document) -> None:
    for event, message in document["components"]["messages"].items():
        headers = message["headers"]["properties"]
        assert headers["type"]["const"] == event
        assert {"id", "source", "time", "subject", "traceparent"} <= set(headers)
        assert "aggregate id" in message["bindings"]["kafka"]["key"]["description"]


def test_every_event_starts_with_its_aggregate_id(image: descriptor_pb2.FileDescriptorSet) -> None:
    for file in protogen.event_files(image):
        for message in file.message_type:
            first = message.field[0]
            assert first.number == 1, message.name
            assert first.name.endswith("_id"), message.name
            assert first.type == descriptor_pb2.FieldDescriptorProto.TYPE_STRING, message.name


def payload_validator(document: Document, event: str) -> jsonschema.Draft202012Validator:
    payload = document["components"]["messages"][event]["payload"]
    return jsonschema.Draft202012Validator({**payload, "components": document["components"]})


def test_payload_schema_accepts_a_real_event_in_proto3_json(document: Document) -> None:
    listing = resources_pb2.Listing(
        id="l-1",
        employer_org_id="org-1",
        title="Dashboard",
        skills=["python"],
        estimated_hours=20,
        fee=Money(amount_minor=60000, currency="USD"),
        seats=2,
        status=resources_pb2.LISTING_STATUS_PUBLISHED,
        version=4,
        publish_time=Timestamp(seconds=1_800_000_000),
        deliverables=[resources_pb2.Deliverable(title="d", acceptance_criteria=["c"])],
    )
    event = events_pb2.ListingPublished(listing_id="l-1", listing=listing)
    as_json = json_format.MessageToDict(event)
    validator = payload_validator(document, "stint.listings.v1.ListingPublished")
    assert list(validator.iter_errors(as_json)) == []
    as_json["listing"]["status"] = "OPEN"
    assert not validator.is_valid(as_json)
