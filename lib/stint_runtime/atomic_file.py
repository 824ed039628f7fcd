"""Replace a file's content in one step: readers see the old text or the new, never a part."""

from __future__ import annotations

import os
from pathlib import Path


def write_atomically(path: Path, text: str, mode: int = 0o644) -> None:
    """Write `text` to a sibling temporary file created with `mode`, then rename it over `path`
    (a new inode, so stat-watching readers notice the change at once)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    descriptor = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        with os.fdopen(descriptor, "w") as out:
            out.write(text)
        os.chmod(tmp, mode)
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
