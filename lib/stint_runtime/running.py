"""What a running `make run` says about itself in `<data dir>/platform.json`: addresses, the
mailbox, the clock file; the demo and other local tools read it instead of guessing ports."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from stint_runtime.atomic_file import write_atomically

PLATFORM_FILE = "platform.json"
CLOCK_FILE = "clock-offset"


@dataclass(frozen=True)
class RunningPlatform:
    """Where everything of one `make run` listens; written once every service is SERVING."""

    pid: int
    kafka_bootstrap_servers: str
    mongodb_uri: str
    grpc: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, str] = field(default_factory=dict)
    maildir: str = ""
    clock_file: str = ""

    def write(self, data_dir: Path) -> Path:
        """Owner-only (0600): the MongoDB URI may carry a password."""
        path = data_dir / PLATFORM_FILE
        write_atomically(path, json.dumps(asdict(self), indent=2) + "\n", mode=0o600)
        return path

    @classmethod
    def read(cls, data_dir: Path) -> RunningPlatform | None:
        """The description in `data_dir`, or None when there is none or its process is gone."""
        try:
            raw = json.loads((data_dir / PLATFORM_FILE).read_text())
            platform = cls(**raw)
        except (OSError, ValueError, TypeError):
            return None
        return platform if alive(platform.pid) else None


def redact_uri(uri: str) -> str:
    """`uri` without its userinfo (user:password@), for printing and logs."""
    scheme, separator, rest = uri.partition("://")
    if not separator:
        return uri
    authority, slash, tail = rest.partition("/")
    if "@" not in authority:
        return uri
    return f"{scheme}://***@{authority.rpartition('@')[2]}{slash}{tail}"


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def forget(data_dir: Path) -> None:
    """Remove the description (on stop)."""
    (data_dir / PLATFORM_FILE).unlink(missing_ok=True)
