"""Drivers: MongoDB documents and queries, protobuf contracts."""
