"""Unit tests of the gRPC runtime: tokens, policies, validation, idempotency helpers."""
