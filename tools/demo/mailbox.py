"""Reading back what the SMTP sink received: one .eml file per message."""

from __future__ import annotations

from dataclasses import dataclass
from email import message_from_bytes, policy
from pathlib import Path


@dataclass(frozen=True)
class Email:
    to: str
    subject: str


def emails(maildir: Path) -> list[Email]:
    """Every message in the mailbox, oldest first."""
    found = []
    for path in sorted(maildir.glob("*.eml")):
        message = message_from_bytes(path.read_bytes(), policy=policy.default)
        found.append(Email(str(message.get("To", "")), str(message.get("Subject", ""))))
    return found


def emails_to(maildir: Path, address: str) -> list[str]:
    """The subjects of the messages sent to `address`."""
    return [e.subject for e in emails(maildir) if address in e.to]
