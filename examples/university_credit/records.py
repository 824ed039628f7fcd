"""Completion records: the copy the student shared, checked against Stint's public keys."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import grpc
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from stint.applications.v1 import resources_pb2, service_pb2, service_pb2_grpc


class NotSharedYet(LookupError):
    """The student has not shared this record with the university (yet)."""


class InvalidRecord(ValueError):
    """The record is not what Stint signed."""


def shared_record(directory: Path, record_id: str) -> resources_pb2.CompletionRecord:
    """The record as the student handed it over: `<record id>.binpb` (a serialized record)."""
    path = directory / f"{record_id}.binpb"
    try:
        return resources_pb2.CompletionRecord.FromString(path.read_bytes())
    except FileNotFoundError:
        raise NotSharedYet(record_id) from None


@dataclass
class SigningKeys:
    """Stint's public Ed25519 keys from ListSigningKeys (public: no token), fetched again when
    a record names a key not seen yet (rotation)."""

    applications_address: str
    _keys: dict[str, Ed25519PublicKey] | None = None

    async def _fetch(self) -> dict[str, Ed25519PublicKey]:
        async with grpc.aio.insecure_channel(self.applications_address) as channel:
            stub = service_pb2_grpc.ApplicationsServiceStub(channel)
            reply = await stub.ListSigningKeys(service_pb2.ListSigningKeysRequest(), timeout=10)
        return {k.key_id: Ed25519PublicKey.from_public_bytes(k.public_key) for k in reply.keys}

    async def key(self, key_id: str) -> Ed25519PublicKey:
        if self._keys is None or key_id not in self._keys:
            self._keys = await self._fetch()
        if key_id not in self._keys:
            raise InvalidRecord(f"unknown signing key {key_id}")
        return self._keys[key_id]

    async def verify(self, record: resources_pb2.CompletionRecord) -> resources_pb2.CompletionClaim:
        """The signed claim, once signature, record id and key id all check out."""
        try:
            (await self.key(record.key_id)).verify(record.signature, record.claim_bytes)
        except InvalidSignature:
            raise InvalidRecord("signature does not match") from None
        claim = resources_pb2.CompletionClaim.FromString(record.claim_bytes)
        if claim.record_id != record.id or claim.key_id != record.key_id:
            raise InvalidRecord("the record is relabelled: its id or key differs from the claim")
        return claim
