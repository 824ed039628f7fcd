"""Message threads on the real database: the message and its MessagePosted (without the text)
commit together, and the thread pages newest first."""

from __future__ import annotations

from datetime import timedelta

import pytest
from stint.applications.v1 import events_pb2
from stint.common.v1.events_pb2 import EventEnvelope
from stint_applications.bootstrap import ApplicationsApp
from stint_applications.domain import commands as c
from stint_applications.service_layer import handlers
from stint_runtime.clock import ManualClock
from stint_runtime.persistence.unit_of_work import OUTBOX

from tests.applications.builders import EMPLOYER
from tests.applications.integration.kit import apply, new_listing, outbox, student

pytestmark = pytest.mark.integration


def test_a_message_and_its_event_commit_together(app: ApplicationsApp) -> None:
    who = student()
    application_id = apply(app, new_listing(app), who)
    command = c.PostMessage(who, "private words", application_id, links=("https://ex.org/a",))
    message = app.run(handlers.post_message, command)
    assert outbox(app, message.id) == [("MessagePosted", 0)]
    [record] = app.uow_factory.db[OUTBOX].find({"key": message.id})
    envelope = EventEnvelope.FromString(record["envelope"])
    assert b"private words" not in record["envelope"]
    posted = events_pb2.MessagePosted()
    assert envelope.data.Unpack(posted)
    assert (posted.application_id, posted.student_id, posted.author_id) == (
        application_id,
        who.subject,
        who.subject,
    )


def test_a_thread_pages_newest_first(app: ApplicationsApp, clock: ManualClock) -> None:
    who = student()
    application_id = apply(app, new_listing(app), who)
    for n in range(5):
        author = who if n % 2 else EMPLOYER
        app.run(handlers.post_message, c.PostMessage(author, f"m{n}", application_id))
        clock.advance(timedelta(seconds=1))
    seen: list[str] = []
    token = ""
    while True:
        query = c.ListMessages(who, application_id, page_size=2, page_token=token)
        page = app.run(handlers.list_messages, query)
        seen += [m.text for m in page.items]
        token = page.next_page_token
        if not token:
            break
    assert seen == ["m4", "m3", "m2", "m1", "m0"]
