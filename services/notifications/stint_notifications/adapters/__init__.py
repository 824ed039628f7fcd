"""Drivers: MongoDB, SMTP, HTTP, templates and the protobuf contracts."""
