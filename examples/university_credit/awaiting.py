"""Records awaiting the student's share: parked here so the consumer commits the event and the
partition moves on (other students' credits are not held up), then retried until shared."""

from __future__ import annotations

import json
import os
from pathlib import Path


class AwaitingShare:
    """record id → engagement id, kept in a small JSON file (a restart keeps what is pending)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def pending(self) -> dict[str, str]:
        try:
            loaded = json.loads(self.path.read_text())
        except FileNotFoundError:
            return {}
        return {str(k): str(v) for k, v in loaded.items()}

    def park(self, record_id: str, engagement_id: str) -> None:
        self._save({**self.pending(), record_id: engagement_id})

    def done(self, record_id: str) -> None:
        pending = self.pending()
        if pending.pop(record_id, None) is not None:
            self._save(pending)

    def _save(self, pending: dict[str, str]) -> None:
        tmp = self.path.with_name(f".{self.path.name}.tmp")
        tmp.write_text(json.dumps(pending, indent=1, sort_keys=True) + "\n")
        os.replace(tmp, self.path)
