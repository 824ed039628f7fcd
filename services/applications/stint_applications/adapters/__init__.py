"""Drivers: MongoDB documents and queries, protobuf contracts, completion-record signing."""
