"""Completion records verify with the platform's public key and fail when anything changes."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from pydantic import SecretStr
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


def _claim() -> CompletionClaim:
    engagement = submitted()
    engagement.approve(NOW)
    engagement.mark_paid("cr-1", NOW)
    return engagement.completion_claim()


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


def test_signing_is_deterministic() -> None:
    signer = CompletionSigner(dev_private_key())
    assert signer.sign(_claim()) == signer.sign(_claim())


@pytest.mark.parametrize("field", ["student_id", "listing_title", "employer_org_id"])
def test_a_changed_claim_field_fails_verification(field: str) -> None:
    signer = CompletionSigner(dev_private_key())
    record = signer.sign(_claim())
    setattr(record.claim, field, "forged")
    assert not verify(record, signer.public_key)


def test_changed_bytes_or_signature_fail_verification() -> None:
    signer = CompletionSigner(dev_private_key())
    record = signer.sign(_claim())
    tampered_bytes = record.__deepcopy__()
    tampered_bytes.claim.estimated_hours = 40
    tampered_bytes.claim_bytes = tampered_bytes.claim.SerializeToString(deterministic=True)
    assert not verify(tampered_bytes, signer.public_key)
    tampered_signature = record.__deepcopy__()
    tampered_signature.signature = bytes(64)
    assert not verify(tampered_signature, signer.public_key)


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
