"""A local SMTP server that keeps every message it receives as a file (development and tests)."""

from __future__ import annotations

import argparse
import asyncio
import signal
import time
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

SUFFIX = ".eml"


class MaildirHandler:
    """Stores each received message as <maildir>/<timestamp>-<n>.eml."""

    def __init__(self, maildir: Path) -> None:
        self.maildir = maildir
        self.count = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.count += 1
        name = f"{time.time_ns()}-{self.count}{SUFFIX}"
        tmp = self.maildir / f".{name}.part"  # never matches a reader's glob
        tmp.write_bytes(envelope.original_content or envelope.content)
        tmp.rename(self.maildir / name)
        return "250 Message accepted for delivery"


def received_messages(maildir: Path) -> list[bytes]:
    """Messages the sink kept, oldest first (only whole ones: a message is renamed into place)."""
    return [p.read_bytes() for p in sorted(maildir.glob(f"*{SUFFIX}"))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--maildir", type=Path, required=True)
    args = parser.parse_args()
    args.maildir.mkdir(parents=True, exist_ok=True)
    controller = Controller(MaildirHandler(args.maildir), hostname=args.host, port=args.port)
    controller.start()
    print(
        f"smtp sink listening on {args.host}:{args.port}, keeping mail in {args.maildir}",
        flush=True,
    )

    async def wait_for_signal() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()

    try:
        asyncio.run(wait_for_signal())
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
