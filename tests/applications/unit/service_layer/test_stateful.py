"""Random command sequences from several actors keep the service's invariants (hypothesis)."""

from __future__ import annotations

import itertools
from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule
from stint_applications.domain import commands as c
from stint_applications.domain import events
from stint_applications.domain.application import (
    ACTIVE,
    OFFER_LAPSE_TIMER,
    RESPOND_TIMER,
    ApplicationStatus,
)
from stint_applications.domain.engagement import (
    AUTO_APPROVE_TIMER,
    EXPIRE_TIMER,
    PAYABLE,
    PUBLISH_FEEDBACK_TIMER,
    REVISION_LAPSE_TIMER,
    EngagementStatus,
)
from stint_applications.domain.listing import CLOSING_REASONS
from stint_applications.service_layer import handlers
from stint_applications.service_layer.handlers import Context, handle
from stint_runtime.clock import ManualClock
from stint_runtime.errors import DomainError

from tests.applications.builders import ADMIN, ANSWERS, EMPLOYER, NOW, checklist, listing
from tests.applications.unit.fakes import FakeStore

STUDENTS = [c.Actor(f"stu-{i}", "student") for i in range(3)]
LISTINGS = {"l-1": 1, "l-2": 2}
TIMER_COMMANDS: dict[str, Any] = {
    RESPOND_TIMER: c.ExpireApplication,
    EXPIRE_TIMER: c.ExpireEngagement,
    AUTO_APPROVE_TIMER: c.AutoApprove,
    PUBLISH_FEEDBACK_TIMER: c.PublishFeedback,
    OFFER_LAPSE_TIMER: c.LapseOffer,
    REVISION_LAPSE_TIMER: c.LapseRevision,
}
APPLICATION_ACTIONS = ["shortlist", "offer", "reject", "withdraw", "accept", "decline"]
ENGAGEMENT_ACTIONS = [
    "submit",
    "revise",
    "approve",
    "cancel",
    "student_dispute",
    "employer_dispute",
    "resolve",
    "student_feedback",
    "employer_feedback",
    "paid",
]


class ApplicationsMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.clock = ManualClock(NOW)
        ids = itertools.count(1)
        # Deterministic ids: hypothesis replays a run and expects the same choices.
        self.ctx = Context(clock=self.clock, new_id=lambda: f"id-{next(ids):04d}")
        self.store = FakeStore()
        self.listing_versions = dict.fromkeys(LISTINGS, 4)
        for listing_id in LISTINGS:
            handlers.record_listing(
                c.RecordListing(self._listing(listing_id)), self.store, self.ctx
            )

    def _listing(self, listing_id: str, **changes: Any) -> Any:
        """Open long enough for several rounds of work."""
        return listing(
            listing_id,
            seats=LISTINGS[listing_id],
            application_deadline=NOW + timedelta(days=40),
            due_date=NOW + timedelta(days=60),
            **changes,
        )

    def _try(self, message: object) -> None:
        try:
            handle(message, self.store, self.ctx)
            event(f"{type(message).__name__} done")
        except DomainError:
            pass  # a refusal is a legal outcome; the invariants say it changed nothing wrong

    @rule(student=st.sampled_from(STUDENTS), listing_id=st.sampled_from(sorted(LISTINGS)))
    def apply(self, student: c.Actor, listing_id: str) -> None:
        self._try(c.Apply(student, listing_id, "Hi", ANSWERS))

    @rule(data=st.data(), action=st.sampled_from(APPLICATION_ACTIONS))
    def act_on_application(self, data: st.DataObject, action: str, app_id: str = "") -> None:
        stored = self.store.applications.stored
        if not stored:
            return
        app = stored[app_id or data.draw(st.sampled_from(sorted(stored)))]
        student = c.Actor(app.student_id, "student")
        version = app.version
        message = {
            "shortlist": c.ShortlistApplication(EMPLOYER, app.id, version),
            "offer": c.ExtendOffer(EMPLOYER, app.id, version),
            "reject": c.RejectApplication(EMPLOYER, app.id, version, "no"),
            "withdraw": c.WithdrawApplication(student, app.id, version),
            "accept": c.AcceptOffer(student, app.id, version),
            "decline": c.DeclineOffer(student, app.id, version),
        }[action]
        self._try(message)

    @rule(data=st.data())
    def progress_application(self, data: st.DataObject) -> None:
        """The next step forward, so runs reach engagements often."""
        stored = self.store.applications.stored
        if stored:
            app = stored[data.draw(st.sampled_from(sorted(stored)))]
            action = {"SUBMITTED": "shortlist", "SHORTLISTED": "offer", "OFFERED": "accept"}
            if app.status.value in action:
                self.act_on_application(data, action[app.status.value], app.id)

    @rule(data=st.data())
    def progress_engagement(self, data: st.DataObject) -> None:
        stored = self.store.engagements.stored
        if stored:
            eng = stored[data.draw(st.sampled_from(sorted(stored)))]
            choices = {
                "ACTIVE": ["submit"],
                "REVISION_REQUESTED": ["submit"],
                "SUBMITTED": ["revise", "approve", "student_dispute", "employer_dispute"],
                "DISPUTED": ["resolve"],
            }.get(eng.status.value, ["student_feedback", "employer_feedback", "paid"])
            self.act_on_engagement(data, data.draw(st.sampled_from(choices)), eng.id)

    @rule(data=st.data(), action=st.sampled_from(ENGAGEMENT_ACTIONS))
    def act_on_engagement(self, data: st.DataObject, action: str, eng_id: str = "") -> None:
        stored = self.store.engagements.stored
        if not stored:
            return
        eng = stored[eng_id or data.draw(st.sampled_from(sorted(stored)))]
        student = c.Actor(eng.student_id, "student")
        v = eng.version
        message = {
            "submit": c.SubmitDeliverable(student, eng.id, v, "Done", checklist=checklist()),
            "revise": c.RequestRevision(EMPLOYER, eng.id, v, "More"),
            "approve": c.ApproveDeliverable(EMPLOYER, eng.id, v),
            "cancel": c.CancelEngagement(EMPLOYER, eng.id, v, "Budget"),
            "student_dispute": c.OpenDispute(student, eng.id, v, "Silence"),
            "employer_dispute": c.OpenDispute(EMPLOYER, eng.id, v, "Poor"),
            "resolve": c.ResolveDispute(ADMIN, eng.id, v, 50, "Split"),
            "student_feedback": c.LeaveFeedback(student, eng.id, 5),
            "employer_feedback": c.LeaveFeedback(EMPLOYER, eng.id, 4),
            "paid": c.RecordPayoutPaid(eng.id),
        }[action]
        self._try(message)

    @rule(hours=st.integers(min_value=1, max_value=10 * 24))
    def time_passes(self, hours: int) -> None:
        self.clock.advance(timedelta(hours=hours))
        now = self.clock.now()
        aggregates: list[Any] = [
            *self.store.applications.stored.values(),
            *self.store.engagements.stored.values(),
        ]
        for aggregate in aggregates:
            for name, due_at in aggregate.wanted_timers().items():
                if due_at <= now:
                    handle(TIMER_COMMANDS[name](aggregate.id), self.store, self.ctx)

    @rule(
        listing_id=st.sampled_from(sorted(LISTINGS)),
        status=st.sampled_from(sorted(CLOSING_REASONS)),
    )
    def listing_ends(self, listing_id: str, status: Any) -> None:
        self.listing_versions[listing_id] += 1
        snapshot = self._listing(
            listing_id, status=status, version=self.listing_versions[listing_id]
        )
        handle(c.RecordListing(snapshot), self.store, self.ctx)

    @invariant()
    def seats_are_never_oversold(self) -> None:
        for listing_id, seats in LISTINGS.items():
            holding = {
                e.id
                for e in self.store.engagements.stored.values()
                if e.listing_id == listing_id and e.holds_seat
            }
            assert len(holding) <= seats
            assert self.store.seats.get(listing_id).holders == holding

    @invariant()
    def one_active_application_per_student_and_listing_and_at_most_three(self) -> None:
        everything = [(a.listing_id, a.student_id) for a in self.store.applications.stored.values()]
        active = [
            (a.listing_id, a.student_id)
            for a in self.store.applications.stored.values()
            if a.status in ACTIVE
        ]
        assert len(active) == len(set(active))
        limit = self.ctx.policy.max_applications_per_listing
        assert all(everything.count(key) <= limit for key in everything)

    @invariant()
    def revisions_stay_within_the_limit(self) -> None:
        for eng in self.store.engagements.stored.values():
            assert len(eng.revisions) <= self.ctx.policy.revision_limit

    @invariant()
    def every_state_change_has_exactly_one_event(self) -> None:
        journal = self.store.journal
        aggregates: list[Any] = [
            *self.store.applications.stored.values(),
            *self.store.engagements.stored.values(),
        ]
        for aggregate in aggregates:
            published = journal.of(aggregate.id)
            feedback = [e for e in published if isinstance(e, events.FeedbackPublished)]
            assert len(published) - len(feedback) == journal.status_changes[aggregate.id]
            assert len(feedback) == int(getattr(aggregate, "feedback_published", False))

    @invariant()
    def open_offers_and_revisions_have_a_running_clock(self) -> None:
        """No dead ends: an offer lapses, a revision request lapses into a dispute."""
        now = self.clock.now()
        for app in self.store.applications.stored.values():
            if app.status is ApplicationStatus.OFFERED:
                assert app.respond_by is not None
                assert now < app.respond_by
        for eng in self.store.engagements.stored.values():
            if eng.status is EngagementStatus.REVISION_REQUESTED:
                assert eng.deadline is not None
                assert now < eng.deadline

    @invariant()
    def accepted_work_has_its_record_and_feedback_window(self) -> None:
        for eng in self.store.engagements.stored.values():
            accepted = eng.status in PAYABLE or eng.status is EngagementStatus.PAID
            assert (eng.accept_time is not None) == accepted
            assert bool(eng.completion_record_id) == (accepted and eng.payout_percent > 0)
            if accepted:
                assert eng.feedback_due is not None
                assert all(f.submit_time < eng.feedback_due for f in eng.feedback)
                if self.clock.now() >= eng.feedback_due:
                    assert not eng.feedback_open

    @rule(data=st.data())
    def re_apply_after_an_ending(self, data: st.DataObject) -> None:
        """A student whose application ended tries again (allowed only after some endings)."""
        ended = [a for a in self.store.applications.stored.values() if a.status not in ACTIVE]
        if ended:
            app = data.draw(st.sampled_from(sorted(ended, key=lambda a: a.id)))
            self._try(c.Apply(c.Actor(app.student_id, "student"), app.listing_id, "Hi", ANSWERS))

    @rule(data=st.data())
    def dispute_a_revision_request(self, data: st.DataObject) -> None:
        waiting = [
            e
            for e in self.store.engagements.stored.values()
            if e.status is EngagementStatus.REVISION_REQUESTED
        ]
        if waiting:
            eng = data.draw(st.sampled_from(sorted(waiting, key=lambda e: e.id)))
            action = data.draw(st.sampled_from(["student_dispute", "employer_dispute"]))
            self.act_on_engagement(data, action, eng.id)

    @rule(student=st.sampled_from(STUDENTS), listing_id=st.sampled_from(sorted(LISTINGS)))
    def invite(self, student: c.Actor, listing_id: str) -> None:
        """Allowed only for a student whose work the org accepted; the next Apply shortlists."""
        self._try(c.InviteStudent(EMPLOYER, listing_id, student.subject))

    @rule(data=st.data(), length=st.sampled_from([2, 4000, 4001]))
    def message(self, data: st.DataObject, length: int) -> None:
        text = "x" * length
        stored = self.store.applications.stored
        if stored:
            app = stored[data.draw(st.sampled_from(sorted(stored)))]
            author = data.draw(st.sampled_from([EMPLOYER, c.Actor(app.student_id, "student")]))
            self._try(c.PostMessage(author, text, app.id))

    @invariant()
    def invited_applications_skip_the_first_screening(self) -> None:
        for app in self.store.applications.stored.values():
            if app.invited:
                assert (app.listing_id, app.student_id) in self.store.invitations.stored
                assert app.status is not ApplicationStatus.SUBMITTED

    @invariant()
    def messages_stay_within_their_limit(self) -> None:
        assert all(len(m.text) <= 4000 for m in self.store.messages.stored)


ApplicationsMachine.TestCase.settings = settings(
    max_examples=150,
    stateful_step_count=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestApplicationsMachine = ApplicationsMachine.TestCase
