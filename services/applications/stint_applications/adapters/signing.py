"""Completion records signed by the platform with Ed25519, verifiable with its public key.

The signature covers `claim_bytes`: the CompletionClaim's deterministic protobuf serialization,
which includes the record's id and the signing key's id. A verifier checks the signature over
those bytes, that `claim` says the same thing, and that the record's id and key id are the
signed ones (so a valid signature cannot be re-labelled as another record or another key).
"""

from __future__ import annotations

import base64
import binascii
import hashlib

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from google.protobuf.message import DecodeError
from stint.applications.v1 import resources_pb2

from stint_applications.adapters.contracts import completion_claim_message
from stint_applications.domain.engagement import CompletionClaim

ALGORITHM = "Ed25519"
# Public on purpose: the dev/test key is derived from it, so it must never sign in production.
DEV_SEED = b"stint-dev-completion-signing-key"


def dev_private_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(hashlib.sha256(DEV_SEED).digest())


def private_key_from_base64(encoded: str) -> Ed25519PrivateKey:
    """A raw 32-byte Ed25519 private key, base64-encoded."""
    try:
        raw = base64.b64decode(encoded, validate=True)
        return Ed25519PrivateKey.from_private_bytes(raw)
    except (binascii.Error, ValueError):
        raise ValueError("the completion signing key must be 32 raw bytes, base64") from None


def public_key_bytes(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def key_id(key: Ed25519PublicKey) -> str:
    """Names the key that signed (for rotation): the start of its public key's SHA-256."""
    return hashlib.sha256(public_key_bytes(key)).hexdigest()[:16]


class CompletionSigner:
    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self._private_key = private_key
        self.public_key = private_key.public_key()
        self.key_id = key_id(self.public_key)

    def sign(self, claim: CompletionClaim) -> resources_pb2.CompletionRecord:
        message = completion_claim_message(claim, self.key_id)
        claim_bytes = message.SerializeToString(deterministic=True)
        return resources_pb2.CompletionRecord(
            id=claim.record_id,
            claim=message,
            claim_bytes=claim_bytes,
            signature=self._private_key.sign(claim_bytes),
            signature_algorithm=ALGORITHM,
            key_id=self.key_id,
        )


def verify(record: resources_pb2.CompletionRecord, public_key: Ed25519PublicKey) -> bool:
    """True when `public_key` signed `claim_bytes`, and `claim`, the record's id and its key id
    are what those bytes say."""
    if record.signature_algorithm != ALGORITHM or record.key_id != key_id(public_key):
        return False
    try:
        public_key.verify(record.signature, record.claim_bytes)
        signed = resources_pb2.CompletionClaim.FromString(record.claim_bytes)
    except (InvalidSignature, DecodeError):
        return False
    return (
        signed == record.claim and signed.record_id == record.id and signed.key_id == record.key_id
    )
