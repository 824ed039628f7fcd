"""How to reach a user: the only PII the platform keeps, never in events or logs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from stint_runtime.errors import InvalidArgument, PermissionDenied
from stint_runtime.values import Actor

MAX_EMAIL = 254


@dataclass(frozen=True)
class Contact:
    user_id: str
    email: str
    display_name: str
    role: str
    org_id: str
    create_time: datetime
    update_time: datetime

    def __repr__(self) -> str:
        # Never let an address reach a log line through a repr.
        return f"Contact(user_id={self.user_id!r}, role={self.role!r}, org_id={self.org_id!r})"


def normalized_email(email: str) -> str:
    email = email.strip()
    local, at, domain = email.rpartition("@")
    if not at or not local or "." not in domain or len(email) > MAX_EMAIL or "\n" in email:
        raise InvalidArgument("email", "must be an email address")
    return f"{local}@{domain.lower()}"


def register_contact(
    actor: Actor,
    user_id: str,
    email: str,
    display_name: str,
    now: datetime,
    existing: Contact | None,
) -> Contact:
    """The caller's own contact; an employer's belongs to its organisation."""
    if actor.subject != user_id or actor.role is None:
        raise PermissionDenied("a contact can only be registered by its own user")
    return Contact(
        user_id=user_id,
        email=normalized_email(email),
        display_name=display_name.strip(),
        role=actor.role,
        org_id=actor.org or "" if actor.role == "employer" else "",
        create_time=existing.create_time if existing else now,
        update_time=now,
    )
