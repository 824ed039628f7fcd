"""gRPC runtime: authentication, per-RPC policy, validation, idempotency, health, reflection."""
