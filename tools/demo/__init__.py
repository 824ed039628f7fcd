"""`make demo`: the whole marketplace journey against a running platform, over gRPC only."""
