"""What the use cases need from storage; MongoDB adapters and in-memory fakes implement it."""

from __future__ import annotations

from typing import Protocol

from stint_applications.domain.application import Application
from stint_applications.domain.engagement import Engagement
from stint_applications.domain.invitation import Invitation
from stint_applications.domain.listing import ListingSnapshot
from stint_applications.domain.messages import Message
from stint_applications.domain.queries import ApplicationFilter, EngagementFilter, Page
from stint_applications.domain.seats import Seats


class ApplicationRepository(Protocol):
    def add(self, application: Application) -> None:
        """Store a new application and publish its events; AlreadyExists when the student
        already applied to the listing."""

    def get(self, application_id: str) -> Application | None: ...

    def save(self, application: Application) -> None:
        """Store the change if nobody else did since it was loaded (ConcurrencyConflict
        otherwise), bump the version and publish the pending events."""

    def undecided_for_listing(self, listing_id: str) -> list[Application]: ...

    def of_student_on_listing(self, listing_id: str, student_id: str) -> list[Application]:
        """Every application the student made to the listing, oldest first."""

    def student_applied_to_org(self, student_id: str, employer_org_id: str) -> bool: ...

    def list(
        self, query: ApplicationFilter, page_size: int, page_token: str
    ) -> Page[Application]: ...


class EngagementRepository(Protocol):
    def add(self, engagement: Engagement) -> None: ...

    def get(self, engagement_id: str) -> Engagement | None: ...

    def with_completion_record(self, record_id: str) -> Engagement | None: ...

    def of_party(self, *, student_id: str = "", employer_org_id: str = "") -> list[Engagement]:
        """Every engagement of a student or of an organisation (reputation)."""

    def save(self, engagement: Engagement) -> None: ...

    def list(
        self, query: EngagementFilter, page_size: int, page_token: str
    ) -> Page[Engagement]: ...


class MessageRepository(Protocol):
    def add(self, message: Message) -> None:
        """Store and publish MessagePosted (without the text)."""

    def list(self, thread_id: str, page_size: int, page_token: str) -> Page[Message]:
        """Newest first."""


class InvitationRepository(Protocol):
    def add(self, invitation: Invitation) -> None:
        """Store and publish StudentInvited; AlreadyExists for the same listing and student."""

    def get(self, listing_id: str, student_id: str) -> Invitation | None: ...


class ListingSnapshotRepository(Protocol):
    def get(self, listing_id: str) -> ListingSnapshot | None: ...

    def put(self, snapshot: ListingSnapshot) -> None: ...


class SeatRepository(Protocol):
    def get(self, listing_id: str) -> Seats:
        """The listing's seats (version 0 and no holders when never stored)."""

    def save(self, seats: Seats) -> None:
        """Store if unchanged since loaded, else ConcurrencyConflict; bumps the version."""


class Store(Protocol):
    """The repositories of one unit of work."""

    @property
    def applications(self) -> ApplicationRepository: ...
    @property
    def engagements(self) -> EngagementRepository: ...
    @property
    def listings(self) -> ListingSnapshotRepository: ...
    @property
    def seats(self) -> SeatRepository: ...
    @property
    def messages(self) -> MessageRepository: ...
    @property
    def invitations(self) -> InvitationRepository: ...
