"""Shared runtime of the Stint services: settings, gRPC, Kafka, MongoDB, telemetry, dev stack."""
