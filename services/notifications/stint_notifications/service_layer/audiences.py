"""Who an event's audiences are, from the ids it carries and the registered contacts."""

from __future__ import annotations

from typing import Protocol

from stint_notifications.domain.facts import EventFacts
from stint_notifications.domain.recipients import Audience, Route


class Directory(Protocol):
    def org_member_ids(self, org_id: str) -> list[str]: ...

    def admin_ids(self) -> list[str]: ...


def audience_user_ids(route: Route, facts: EventFacts, directory: Directory) -> list[str]:
    """Every user the row names for this event, once each, in the row's order."""
    users: list[str] = []
    for audience in route.audiences:
        if audience is Audience.STUDENT:
            users.append(facts.student_id)
        elif audience is Audience.EMPLOYER_ORG:
            users.extend(directory.org_member_ids(facts.org_id))
        elif audience is Audience.LISTING_CREATOR:
            users.append(facts.creator_id)
        elif audience is Audience.ADMINS:
            users.extend(directory.admin_ids())
    return [u for u in dict.fromkeys(users) if u]
