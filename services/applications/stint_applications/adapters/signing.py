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
from collections.abc import Sequence

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


def public_key_from_base64(encoded: str) -> Ed25519PublicKey:
    """A raw 32-byte Ed25519 public key, base64-encoded (a retired signing key)."""
    try:
        return Ed25519PublicKey.from_public_bytes(base64.b64decode(encoded, validate=True))
    except (binascii.Error, ValueError):
        raise ValueError("a retired signing key must be 32 raw public bytes, base64") from None


class KeyRing:
    """The key that signs new records and the retired ones that still verify old records."""

    def __init__(self, signer: CompletionSigner, retired: Sequence[Ed25519PublicKey] = ()) -> None:
        self.signer = signer
        self.keys: dict[str, Ed25519PublicKey] = {signer.key_id: signer.public_key}
        for key in retired:
            self.keys.setdefault(key_id(key), key)

    def listed(self) -> list[resources_pb2.SigningKey]:
        """Every key, the active one first."""
        return [
            resources_pb2.SigningKey(
                key_id=ident,
                algorithm=ALGORITHM,
                public_key=public_key_bytes(key),
                active=ident == self.signer.key_id,
            )
            for ident, key in self.keys.items()
        ]

    def check(self, record: resources_pb2.CompletionRecord) -> str:
        """Empty when the record is authentic and unchanged; otherwise why not."""
        if record.signature_algorithm != ALGORITHM:
            return f"unsupported signature algorithm {record.signature_algorithm!r}"
        key = self.keys.get(record.key_id)
        if key is None:
            return "unknown signing key"
        try:
            key.verify(record.signature, record.claim_bytes)
        except InvalidSignature:
            return "signature does not match the signed claim"
        try:
            signed = resources_pb2.CompletionClaim.FromString(record.claim_bytes)
        except DecodeError:
            return "the signed bytes are not a completion claim"
        if signed != record.claim:
            return "the claim differs from the signed claim"
        if signed.record_id != record.id:
            return "the record id differs from the signed one"
        if signed.key_id != record.key_id:
            return "the key id differs from the signed one"
        return ""
