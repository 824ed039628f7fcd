"""Integration tests of the gRPC server runtime against a real MongoDB."""
