"""Kafka messaging: CloudEvents envelopes, publisher, subscriber (inbox dedupe, dead letters)."""
