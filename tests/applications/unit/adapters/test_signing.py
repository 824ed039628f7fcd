"""Completion records verify with the platform's public key and fail when anything changes."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from google.protobuf.descriptor import FieldDescriptor
from pydantic import SecretStr
from stint.applications.v1 import resources_pb2
from stint_applications.adapters.signing import (
    CompletionSigner,
    dev_private_key,
    key_id,
    private_key_from_base64,
    verify,
)
from stint_applications.config import ApplicationsSettings
from stint_applications.domain.engagement import CompletionClaim

from tests.applications.builders import NOW, submitted


def _claim(engagement_id: str = "e-1", record_id: str = "cr-1") -> CompletionClaim:
    engagement = submitted(engagement_id)
    engagement.approve(NOW, record_id)
    engagement.mark_paid("unused: the record was issued at approval", NOW)
    return engagement.completion_claim()


def _copy(record: resources_pb2.CompletionRecord) -> resources_pb2.CompletionRecord:
    copy = resources_pb2.CompletionRecord()
    copy.CopyFrom(record)
    return copy


def _altered(claim: resources_pb2.CompletionClaim, field: FieldDescriptor) -> None:
    """Changes one field of `claim` in place to a value it did not have."""
    if field.is_repeated:
        getattr(claim, field.name).append("forged")
    elif field.type == FieldDescriptor.TYPE_STRING:
        setattr(claim, field.name, getattr(claim, field.name) + "-forged")
    elif field.type == FieldDescriptor.TYPE_INT32:
        setattr(claim, field.name, getattr(claim, field.name) + 1)
    elif field.type == FieldDescriptor.TYPE_ENUM:
        setattr(claim, field.name, getattr(claim, field.name) % 3 + 1)
    elif field.type == FieldDescriptor.TYPE_MESSAGE:
        getattr(claim, field.name).seconds += 1
    else:
        raise AssertionError(f"no alteration for {field.name}: extend _altered")


CLAIM_FIELDS = tuple(resources_pb2.CompletionClaim.DESCRIPTOR.fields)


def test_a_signed_record_verifies_with_the_public_key() -> None:
    signer = CompletionSigner(dev_private_key())
    record = signer.sign(_claim())
    assert (record.id, record.signature_algorithm, record.key_id) == (
        "cr-1",
        "Ed25519",
        signer.key_id,
    )
    assert record.claim.student_id == "stu-1"
    assert verify(record, signer.public_key)


def test_the_signed_claim_names_the_record_and_the_key() -> None:
    signer = CompletionSigner(dev_private_key())
    record = signer.sign(_claim())
    signed = resources_pb2.CompletionClaim.FromString(record.claim_bytes)
    assert (
        (signed.record_id, signed.key_id) == (record.id, record.key_id) == ("cr-1", signer.key_id)
    )
    assert signed == record.claim


def test_signing_is_deterministic() -> None:
    signer = CompletionSigner(dev_private_key())
    assert signer.sign(_claim()) == signer.sign(_claim())


@pytest.mark.parametrize("field", CLAIM_FIELDS, ids=lambda f: f.name)
def test_a_changed_claim_field_fails_verification(field: FieldDescriptor) -> None:
    signer = CompletionSigner(dev_private_key())
    record = signer.sign(_claim())
    _altered(record.claim, field)
    assert not verify(record, signer.public_key)


@pytest.mark.parametrize("field", CLAIM_FIELDS, ids=lambda f: f.name)
def test_a_changed_claim_re_serialized_into_claim_bytes_fails_verification(
    field: FieldDescriptor,
) -> None:
    signer = CompletionSigner(dev_private_key())
    record = signer.sign(_claim())
    _altered(record.claim, field)
    record.claim_bytes = record.claim.SerializeToString(deterministic=True)
    assert not verify(record, signer.public_key)


def test_a_changed_record_id_fails_verification() -> None:
    signer = CompletionSigner(dev_private_key())
    record = signer.sign(_claim())
    record.id = "cr-2"
    assert not verify(record, signer.public_key)


def test_a_changed_key_id_fails_verification() -> None:
    signer = CompletionSigner(dev_private_key())
    record = signer.sign(_claim())
    other = key_id(Ed25519PrivateKey.generate().public_key())
    relabelled = _copy(record)
    relabelled.key_id = other
    assert not verify(relabelled, signer.public_key)
    claim_relabelled_too = _copy(relabelled)
    claim_relabelled_too.claim.key_id = other
    assert not verify(claim_relabelled_too, signer.public_key)


def test_another_records_signed_claim_cannot_be_relabelled() -> None:
    signer = CompletionSigner(dev_private_key())
    mine = signer.sign(_claim("e-1", "cr-1"))
    theirs = signer.sign(_claim("e-2", "cr-2"))
    assert verify(mine, signer.public_key)
    assert verify(theirs, signer.public_key)
    stolen = _copy(theirs)
    stolen.id = mine.id
    assert not verify(stolen, signer.public_key)


def test_changed_bytes_signature_or_algorithm_fail_verification() -> None:
    signer = CompletionSigner(dev_private_key())
    record = signer.sign(_claim())
    truncated_bytes = _copy(record)
    truncated_bytes.claim_bytes = record.claim_bytes[:-1]
    assert not verify(truncated_bytes, signer.public_key)
    garbage_bytes = _copy(record)
    garbage_bytes.claim_bytes = b"\xff" + record.claim_bytes
    assert not verify(garbage_bytes, signer.public_key)
    tampered_signature = _copy(record)
    tampered_signature.signature = bytes(64)
    assert not verify(tampered_signature, signer.public_key)
    flipped_signature = _copy(record)
    flipped_signature.signature = bytes([record.signature[0] ^ 1]) + record.signature[1:]
    assert not verify(flipped_signature, signer.public_key)
    other_algorithm = _copy(record)
    other_algorithm.signature_algorithm = "HMAC-SHA256"
    assert not verify(other_algorithm, signer.public_key)


def test_another_key_does_not_verify() -> None:
    record = CompletionSigner(dev_private_key()).sign(_claim())
    assert not verify(record, Ed25519PrivateKey.generate().public_key())


def test_the_configured_key_signs_instead_of_the_dev_key() -> None:
    key = Ed25519PrivateKey.generate()
    raw = key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    settings = ApplicationsSettings(
        completion_signing_key=SecretStr(base64.b64encode(raw).decode())
    )
    signer = settings.completion_signer()
    assert not settings.uses_dev_signing_key
    assert signer.key_id == key_id(key.public_key()) != key_id(dev_private_key().public_key())
    assert verify(signer.sign(_claim()), key.public_key())


def test_a_malformed_key_is_refused() -> None:
    with pytest.raises(ValueError, match="32 raw bytes"):
        private_key_from_base64("bm90IGEga2V5")
