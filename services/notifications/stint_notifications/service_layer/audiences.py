"""Who an event's audiences are, from the ids it carries and the registered contacts."""

from __future__ import annotations

from typing import Protocol

from stint_notifications.domain.facts import EventFacts, Party
from stint_notifications.domain.recipients import Audience, Route


class Directory(Protocol):
    def org_member_ids(self, org_id: str) -> list[str]: ...

    def admin_ids(self) -> list[str]: ...


def resolved(audience: Audience, facts: EventFacts) -> Audience | None:
    """The plain audience an event-dependent one stands for here (OTHER_PARTY: not the author)."""
    if audience is not Audience.OTHER_PARTY:
        return audience
    if facts.author is Party.STUDENT:
        return Audience.EMPLOYER_ORG
    if facts.author is Party.EMPLOYER:
        return Audience.STUDENT
    return None


def reaches_org(route: Route, facts: EventFacts) -> bool:
    """The employer org is among this event's audiences (so its integrations hear it too)."""
    return any(resolved(a, facts) is Audience.EMPLOYER_ORG for a in route.audiences)


def audience_user_ids(route: Route, facts: EventFacts, directory: Directory) -> list[str]:
    """Every user the row names for this event, once each, in the row's order."""
    users: list[str] = []
    for audience in route.audiences:
        plain = resolved(audience, facts)
        if plain is Audience.STUDENT:
            users.append(facts.student_id)
        elif plain is Audience.EMPLOYER_ORG:
            users.extend(directory.org_member_ids(facts.org_id))
        elif plain is Audience.LISTING_CREATOR:
            users.append(facts.creator_id)
        elif plain is Audience.ADMINS:
            users.extend(directory.admin_ids())
    return [u for u in dict.fromkeys(users) if u]
