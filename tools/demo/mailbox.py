"""Reading back what the SMTP sink received: one .eml file per message."""

from __future__ import annotations

from dataclasses import dataclass
from email import message_from_bytes, policy
from pathlib import Path

from stint_runtime.stack.smtp_sink import received_messages


@dataclass(frozen=True)
class Email:
    to: str
    subject: str


def emails(maildir: Path) -> list[Email]:
    """Every message in the mailbox, oldest first."""
    found = []
    for raw in received_messages(maildir):
        message = message_from_bytes(raw, policy=policy.default)
        found.append(Email(str(message.get("To", "")), str(message.get("Subject", ""))))
    return found


def emails_to(maildir: Path, address: str) -> list[str]:
    """The subjects of the messages sent to `address`."""
    return [e.subject for e in emails(maildir) if address in e.to]
