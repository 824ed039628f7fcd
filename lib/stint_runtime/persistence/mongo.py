"""The MongoDB client every service shares, configured from settings."""

from __future__ import annotations

from typing import Any

from pymongo import MongoClient

from stint_runtime.settings import StintSettings

Document = dict[str, Any]
Client = MongoClient[Document]


def connect(settings: StintSettings, *, server_selection_timeout_ms: int = 10_000) -> Client:
    """A client returning timezone-aware UTC datetimes (timers and leases compare them)."""
    return MongoClient(
        settings.mongodb_uri,
        tz_aware=True,
        appname=f"stint-{settings.service_name}",
        serverSelectionTimeoutMS=server_selection_timeout_ms,
    )
