"""Each row of the recipient table on the real broker, database and SMTP sink: the event is
published as its producer would; the right users get an inbox item and an email, nobody else."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from pymongo.database import Database
from stint.applications.v1 import events_pb2 as applications_events
from stint.applications.v1 import resources_pb2 as applications_resources
from stint.notifications.v1 import resources_pb2 as r
from stint_notifications.domain.recipients import RECIPIENTS

from tests.notifications.events import build_event
from tests.notifications.kit import (
    EventFeed,
    Mailbox,
    NotificationsClient,
    Who,
    eventually,
    new_admin,
    new_employer,
    new_org,
    new_student,
)
from tests.notifications.unit.test_recipient_table import ADMINS, CREATOR, EXPECTED, STUDENT

pytestmark = pytest.mark.integration

ROWS = sorted(t for t in RECIPIENTS if not t.endswith("ListingPublished"))


@dataclass
class Cast:
    student: Who
    org: str
    members: list[Who]
    creator: Who
    admin: Who

    def expected(self, event_type: str) -> list[Who]:
        users, _ = EXPECTED[event_type]
        who: list[Who] = []
        if users[:1] == STUDENT or STUDENT[0] in users:
            who.append(self.student)
        if any(u.startswith("emp-") and u not in CREATOR for u in users):
            who.extend(self.members)
        if users == CREATOR:
            who.append(self.creator)
        if users == ADMINS:
            who.append(self.admin)
        return who

    def everyone(self) -> list[Who]:
        return [self.student, *self.members, self.creator, self.admin]


async def cast(client: NotificationsClient) -> Cast:
    org = new_org()
    people = Cast(
        new_student(), org, [new_employer(org), new_employer(org)], new_employer(org), new_admin()
    )
    for who in people.everyone():
        await client.register(who, name=f"Name of {who.subject}")
    return people


@pytest.mark.parametrize("event_type", ROWS, ids=lambda t: t.rsplit(".", 1)[-1])
async def test_row_reaches_exactly_its_recipients(
    event_type: str,
    client: NotificationsClient,
    feed: EventFeed,
    mailbox: Mailbox,
    db: Database[Any],
) -> None:
    people = await cast(client)
    expected = people.expected(event_type)
    assert expected, "every row names someone"
    # The creator is an org member too: for org rows the creator hears it as a member.
    if any(w in people.members for w in expected):
        expected.append(people.creator)
    event = build_event(
        event_type, student=people.student.subject, org=people.org, creator=people.creator.subject
    )
    event_id = await feed.publish(event)

    for who in expected:
        messages = await mailbox.wait_for(who.email, 1)
        (message,) = messages
        assert message["X-Stint-Event-Type"] == event_type
        assert message["Subject"] == RECIPIENTS[event_type].title
        html = message.get_body(("html",))
        assert html is not None
        assert "<script>" not in html.get_content()
    told = {doc["user_id"] for doc in db["notifications"].find({"event_id": event_id})}
    emailed = {
        doc["recipient_id"]
        for doc in db["deliveries"].find({"event_id": event_id, "channel": "email"})
    }
    if expected == [people.admin]:
        # Every admin contact hears it, including other tests' admins: only admins do.
        admins = {doc["_id"] for doc in db["contacts"].find({"role": "admin"})}
        assert people.admin.subject in told
        assert told <= admins
        assert emailed == told
    else:
        assert told == {w.subject for w in expected}
        assert emailed == told
    for who in people.everyone():
        if who not in expected:
            assert mailbox.to(who.email) == []


async def test_the_no_ghosting_notice_reads_well(
    client: NotificationsClient, feed: EventFeed, mailbox: Mailbox
) -> None:
    student = new_student()
    await client.register(student, name="Ada")
    await feed.publish(
        build_event("stint.applications.v1.ApplicationExpired", student=student.subject)
    )
    (message,) = await mailbox.wait_for(student.email, 1)
    text = message.get_body(("plain",))
    assert text is not None
    assert "Hi Ada" in text.get_content()
    assert "apply elsewhere" in text.get_content()


async def test_listing_titles_learned_from_listings_events_name_the_listing(
    client: NotificationsClient, feed: EventFeed, mailbox: Mailbox, db: Database[Any]
) -> None:
    student = new_student()
    await client.register(student)
    listing = f"lst-{student.subject}"
    await feed.publish(
        build_event("stint.listings.v1.ListingUpdated", listing_id=listing, title="Survey app"),
        subject=listing,
    )

    async def learned() -> bool:
        return db["listings"].find_one({"_id": listing}) is not None

    # Topics are not ordered with each other: the title must be known before the offer.
    await eventually(learned, limit=30, what=lambda: "listing title recorded")
    await feed.publish(
        build_event(
            "stint.applications.v1.OfferExtended", student=student.subject, listing_id=listing
        ),
        subject=listing,
    )
    (message,) = await mailbox.wait_for(student.email, 1)
    body = message.get_body(("plain",))
    assert body is not None
    assert "Survey app" in body.get_content()


MESSAGE = "stint.applications.v1.MessagePosted"


async def test_an_employers_message_tells_the_student_and_nobody_in_the_org(
    client: NotificationsClient, feed: EventFeed, mailbox: Mailbox, db: Database[Any]
) -> None:
    people = await cast(client)
    event = build_event(
        MESSAGE,
        student=people.student.subject,
        org=people.org,
        creator=people.creator.subject,
        author=applications_resources.PARTY_EMPLOYER,
    )
    event_id = await feed.publish(event)

    (message,) = await mailbox.wait_for(people.student.email, 1)
    assert message["X-Stint-Event-Type"] == MESSAGE
    text = message.get_body(("plain",))
    assert text is not None
    assert "New message about" in text.get_content()
    told = {doc["user_id"] for doc in db["notifications"].find({"event_id": event_id})}
    assert told == {people.student.subject}
    for who in [*people.members, people.creator, people.admin]:
        assert mailbox.to(who.email) == []


async def test_a_message_follows_the_preferences_of_its_threads_category(
    client: NotificationsClient, feed: EventFeed, mailbox: Mailbox, db: Database[Any]
) -> None:
    people = await cast(client)
    student = people.student
    await client.preferences(
        student,
        channels=[r.CHANNEL_IN_APP],
        categories=[
            r.CategoryChannels(category=r.CATEGORY_APPLICATIONS, channels=[r.CHANNEL_EMAIL])
        ],
    )

    def by_employer(thread: str) -> applications_events.MessagePosted:
        event = build_event(
            MESSAGE,
            student=student.subject,
            org=people.org,
            creator=people.creator.subject,
            author=applications_resources.PARTY_EMPLOYER,
        )
        assert isinstance(event, applications_events.MessagePosted)
        if thread == "application":
            event.engagement_id = ""
            event.application_id = "app-1"
        return event

    # Same key, so the application thread's message (emailed) arrives after the other.
    in_engagement = await feed.publish(by_employer("engagement"))
    in_application = await feed.publish(by_employer("application"))
    await mailbox.wait_for(student.email, 1)

    def channels(event_id: str) -> set[str]:
        inbox = {"in_app" for _ in db["notifications"].find({"event_id": event_id})}
        sent = {d["channel"] for d in db["deliveries"].find({"event_id": event_id})}
        return inbox | sent

    assert channels(in_engagement) == {"in_app"}
    assert channels(in_application) == {"email"}
    assert len(mailbox.to(student.email)) == 1
