"""Preferences (category x channel, mute, unsubscribe, skill alert frequency) and planning."""

from __future__ import annotations

from datetime import UTC, datetime

from stint_notifications.domain.channels import Category, Channel, SkillAlertFrequency
from stint_notifications.domain.facts import Message
from stint_notifications.domain.planning import Notice, plan_for_org_webhooks, plan_for_users
from stint_notifications.domain.preferences import Preferences, defaults
from stint_notifications.domain.webhooks import Webhook

NOW = datetime(2026, 3, 2, tzinfo=UTC)
EXPIRED = "stint.applications.v1.ApplicationExpired"
ALL = frozenset(Channel)


def notice(category: Category = Category.APPLICATIONS, event_type: str = EXPIRED) -> Notice:
    return Notice("evt-1", event_type, category, Message("T", "B"), NOW, payload="{}")


def hook(owner: str, hook_id: str = "wh-1", types: frozenset[str] = frozenset()) -> Webhook:
    return Webhook(hook_id, owner, "http://127.0.0.1/h", types, "whsec_x", True, NOW)


def test_defaults_are_every_channel() -> None:
    assert defaults("u").channels_for(Category.APPLICATIONS, EXPIRED) == ALL


def test_category_channels_override_the_default_channels() -> None:
    prefs = Preferences("u", categories={Category.APPLICATIONS: frozenset({Channel.IN_APP})})
    assert prefs.channels_for(Category.APPLICATIONS, EXPIRED) == {Channel.IN_APP}
    assert prefs.channels_for(Category.PAYOUTS, "x") == ALL


def test_muted_event_type_gets_nothing() -> None:
    prefs = Preferences("u", muted_event_types=frozenset({EXPIRED}))
    assert prefs.channels_for(Category.APPLICATIONS, EXPIRED) == frozenset()


def test_unsubscribe_removes_email_everywhere() -> None:
    prefs = Preferences("u", email_unsubscribed=True)
    for category in Category:
        assert Channel.EMAIL not in prefs.channels_for(category, "x")
    assert Channel.IN_APP in prefs.channels_for(Category.APPLICATIONS, "x")


def test_skill_alerts_off_mutes_the_category() -> None:
    prefs = Preferences("u", skill_alerts=SkillAlertFrequency.OFF)
    assert prefs.channels_for(Category.SKILL_ALERTS, "x") == frozenset()
    digest = Preferences("u", skill_alerts=SkillAlertFrequency.DAILY_DIGEST)
    assert not digest.alert_email_now()
    assert defaults("u").alert_email_now()


def test_plan_honours_each_users_channels_and_reachability() -> None:
    prefs = {
        "in-app-only": Preferences("in-app-only", channels=frozenset({Channel.IN_APP})),
        "nothing": Preferences("nothing", channels=frozenset()),
    }
    plan = plan_for_users(
        notice(),
        ["everything", "in-app-only", "nothing", "no-contact"],
        prefs,
        frozenset({"everything", "in-app-only", "nothing"}),
        [hook("everything")],
    )
    assert sorted(i.user_id for i in plan.inbox) == ["everything", "in-app-only", "no-contact"]
    by_channel = sorted((d.recipient_id, d.channel) for d in plan.deliveries)
    assert by_channel == [("everything", Channel.EMAIL), ("everything", Channel.WEBHOOK)]
    ids = [d.id for d in plan.deliveries]
    assert len(ids) == len(set(ids))


def test_a_user_listed_twice_is_told_once() -> None:
    plan = plan_for_users(notice(), ["u", "u"], {}, frozenset({"u"}))
    assert len(plan.inbox) == 1
    assert len(plan.deliveries) == 1


def test_org_webhooks_follow_their_event_filter() -> None:
    hooks = [hook("org-a", "wh-all"), hook("org-a", "wh-other", frozenset({"other"}))]
    plan = plan_for_org_webhooks(notice(), hooks)
    assert [d.webhook_id for d in plan.deliveries] == ["wh-all"]
    assert plan.deliveries[0].payload == "{}"
