"""The SMTP sink's mailbox: readers see whole messages only."""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace

import pytest
from stint_runtime.stack.smtp_sink import MaildirHandler, received_messages


def test_a_message_being_written_is_not_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A reader listing the mailbox while a message is written must not pick up its temporary
    file (it is renamed away under the reader: FileNotFoundError, or a half-written message)."""
    handler = MaildirHandler(tmp_path)
    while_writing: list[list[bytes]] = []
    rename = Path.rename

    def rename_after_a_look(self: Path, target: Path) -> Path:
        while_writing.append(received_messages(tmp_path))
        return rename(self, target)

    monkeypatch.setattr(Path, "rename", rename_after_a_look)
    envelope = SimpleNamespace(original_content=b"Subject: hi\r\n\r\nbody", content=b"")
    assert asyncio.run(handler.handle_DATA(None, None, envelope)).startswith("250")
    assert while_writing == [[]]
    assert received_messages(tmp_path) == [b"Subject: hi\r\n\r\nbody"]
