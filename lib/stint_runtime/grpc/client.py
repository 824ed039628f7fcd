"""Helpers for callers of Stint services: call metadata and a channel with a size limit."""

from __future__ import annotations

import uuid

import grpc

from stint_runtime.grpc.idempotency import IDEMPOTENCY_KEY_HEADER

Metadata = tuple[tuple[str, str], ...]


def new_idempotency_key() -> str:
    return uuid.uuid4().hex


def call_metadata(*, token: str | None = None, idempotency_key: str | None = None) -> Metadata:
    """`authorization: Bearer <token>` and `idempotency-key` metadata for one call."""
    pairs: list[tuple[str, str]] = []
    if token is not None:
        pairs.append(("authorization", f"Bearer {token}"))
    if idempotency_key is not None:
        pairs.append((IDEMPOTENCY_KEY_HEADER, idempotency_key))
    return tuple(pairs)


def insecure_channel(address: str, *, max_message_bytes: int | None = None) -> grpc.aio.Channel:
    """A plaintext channel (loopback and in-cluster use), optionally with a message size limit."""
    options: list[tuple[str, int]] = []
    if max_message_bytes is not None:
        options += [
            ("grpc.max_send_message_length", max_message_bytes),
            ("grpc.max_receive_message_length", max_message_bytes),
        ]
    return grpc.aio.insecure_channel(address, options=options)
