"""The edges callers reach: the gRPC API, the service definition, `python -m stint_applications`."""
