"""The edges callers reach: the gRPC API, the service definition and `python -m stint_listings`."""
