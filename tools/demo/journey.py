"""The scenario, step by step, exactly as a gateway would drive it (gRPC only).

Each step is a function of the shared `Demo` state returning a progress line; `Journey.facts`
collects what the summary and the tests check. Time-based steps move the platform's development
clock (its clock file), never sleep.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial

from tools.demo import steps_hiring, steps_posting, steps_proof, steps_work
from tools.demo.context import Demo

Step = Callable[[Demo], Awaitable[str]]
STEPS: list[tuple[str, Step]] = [
    ("people", steps_posting.people),
    ("university webhook", steps_posting.university_webhook),
    ("listing: Sales dashboard", steps_posting.dashboard_listing),
    ("moderation: Brand kit", steps_posting.brand_kit_moderation),
    ("skill alerts", steps_posting.skill_alerts),
    ("applications", steps_hiring.applications),
    ("decisions and offers", steps_hiring.decisions),
    ("offers accepted", steps_hiring.offers_accepted),
    ("time passes: no ghosting", steps_hiring.no_ghosting),
    ("engagement 1: revision, approval", steps_work.revision_then_approval),
    ("engagement 2: dispute at 60%", steps_work.dispute),
    ("payouts", steps_work.payments),
    ("ledger", steps_work.ledger),
    ("feedback", steps_work.feedback),
    ("completion records", steps_proof.completion_records),
    ("university receives completions", steps_proof.webhook_received),
    ("emails", steps_proof.emails),
]


class Journey(Demo):
    """The demo's scenario over one gateway; steps run in order and share what they made."""

    def steps(self) -> list[tuple[str, Callable[[], Awaitable[str]]]]:
        return [(name, partial(step, self)) for name, step in STEPS]
