"""Messages between a student and an employer organisation, one thread per application and
per engagement. Messages are written once and never change."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from stint_applications.domain.engagement import Party
from stint_applications.domain.rules import check_links, check_text

MAX_MESSAGE = 4_000


@dataclass(frozen=True)
class Thread:
    """Who is in a thread: exactly one of application_id / engagement_id names it."""

    application_id: str
    engagement_id: str
    listing_id: str
    employer_org_id: str
    student_id: str

    @property
    def id(self) -> str:
        return self.application_id or self.engagement_id


@dataclass(frozen=True)
class Message:
    id: str
    thread: Thread
    author: Party
    author_id: str
    text: str
    links: tuple[str, ...]
    create_time: datetime

    @classmethod
    def post(
        cls,
        *,
        message_id: str,
        thread: Thread,
        author: Party,
        author_id: str,
        text: str,
        links: tuple[str, ...],
        now: datetime,
    ) -> Message:
        check_text("text", text, MAX_MESSAGE, required=True)
        check_links("links", links)
        return cls(message_id, thread, author, author_id, text, links, now)
