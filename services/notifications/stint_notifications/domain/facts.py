"""What the service reads of a consumed event: who it concerns and the words of its message."""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from stint_notifications.domain.recipients import Route


class Party(StrEnum):
    """Who wrote a message in a thread (the platform and unknown authors have no other side)."""

    STUDENT = "student"
    EMPLOYER = "employer"
    PLATFORM = "platform"


@dataclass(frozen=True)
class EventFacts:
    """The ids an event carries (never an address) and the values its message shows."""

    event_id: str
    event_type: str
    subject: str
    source: str = ""
    student_id: str = ""
    org_id: str = ""
    creator_id: str = ""
    listing_id: str = ""
    author: Party | None = None
    values: Mapping[str, str] = field(default_factory=dict)

    @property
    def short_type(self) -> str:
        return self.event_type.rsplit(".", 1)[-1]

    @property
    def in_engagement(self) -> bool:
        """The event is about an engagement (not an application or a listing)."""
        return bool(self.values.get("engagement_id"))


class _Blank(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return ""


def render(text: str, values: Mapping[str, str]) -> str:
    """`text` with {name} replaced by `values` (missing names become empty)."""
    return string.Formatter().vformat(text, (), _Blank(values))


@dataclass(frozen=True)
class Message:
    title: str
    body: str


def message_of(route: Route, values: Mapping[str, str]) -> Message:
    return Message(render(route.title, values), render(route.body, values))
