"""Webhook targets (SSRF), secrets, the retry schedule; skill matching."""

from __future__ import annotations

import base64
import ipaddress
from datetime import UTC, datetime, timedelta

import pytest
from stint_notifications.config import NotificationsSettings
from stint_notifications.domain.skills import ListingSummary, subscription
from stint_notifications.domain.webhooks import (
    RETRY_SCHEDULE,
    TargetPolicy,
    checked_secret,
    new_secret,
    next_retry,
    should_disable,
    url_host,
)
from stint_runtime.errors import InvalidArgument
from stint_runtime.values import Money

NOW = datetime(2026, 3, 2, tzinfo=UTC)


@pytest.mark.parametrize(
    ("address", "dev_allowed"),
    [
        ("127.0.0.1", True),
        ("::1", True),
        ("::ffff:127.0.0.1", True),
        ("10.1.2.3", False),
        ("172.16.0.1", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),
        ("fe80::1", False),
        ("fd00::1", False),
        ("0.0.0.0", False),
        ("224.0.0.1", False),
        ("93.184.216.34", True),
    ],
)
def test_target_ranges(address: str, dev_allowed: bool) -> None:
    ip = ipaddress.ip_address(address)
    assert (TargetPolicy().refusal(ip) is None) is dev_allowed
    production = TargetPolicy(allow_loopback=False)
    assert (production.refusal(ip) is None) is (address == "93.184.216.34")


def test_a_name_resolving_to_any_refused_address_is_refused() -> None:
    public, private = ipaddress.ip_address("93.184.216.34"), ipaddress.ip_address("10.0.0.1")
    with pytest.raises(InvalidArgument, match="url"):
        TargetPolicy().check([public, private])
    with pytest.raises(InvalidArgument, match="does not resolve"):
        TargetPolicy().check([])


@pytest.mark.parametrize(
    "url", ["ftp://example.com/x", "http:///nohost", "http://user:pw@example.com/"]
)
def test_bad_urls_are_refused(url: str) -> None:
    with pytest.raises(InvalidArgument, match="url"):
        url_host(url)


def test_generated_secrets_are_standard_webhooks_secrets() -> None:
    secret = new_secret()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret[6:])) == 32
    assert checked_secret(secret) == secret
    assert new_secret() != secret
    with pytest.raises(InvalidArgument, match="secret"):
        checked_secret("plain-secret-of-enough-length")


def test_retry_schedule_and_disabling() -> None:
    assert [next_retry(n) for n in range(1, 8)] == [*RETRY_SCHEDULE, None]
    assert RETRY_SCHEDULE[0] == timedelta(seconds=5)
    assert sum(RETRY_SCHEDULE, timedelta()) > timedelta(hours=17)
    assert not should_disable(None, NOW, timedelta(days=5))
    assert not should_disable(NOW - timedelta(days=4), NOW, timedelta(days=5))
    assert should_disable(NOW - timedelta(days=5), NOW, timedelta(days=5))


LISTING = ListingSummary(
    "l", "T", frozenset({"python", "sql"}), "software", True, Money(50_000, "EUR")
)


@pytest.mark.parametrize(
    ("skills", "industry", "remote_only", "min_fee", "matches"),
    [
        (["Python "], "", False, None, True),
        (["rust"], "", False, None, False),
        (["sql"], "Software", True, Money(50_000, "EUR"), True),
        (["sql"], "finance", False, None, False),
        (["sql"], "", False, Money(50_001, "EUR"), False),
        (["sql"], "", False, Money(1, "USD"), False),
    ],
)
def test_skill_matching(
    skills: list[str], industry: str, remote_only: bool, min_fee: Money | None, matches: bool
) -> None:
    sub = subscription("u", skills, industry, remote_only, min_fee, NOW)
    assert sub.matches(LISTING) is matches


def test_remote_only_skips_onsite_listings() -> None:
    onsite = ListingSummary("l", "T", frozenset({"sql"}), "", False, None)
    assert not subscription("u", ["sql"], "", True, None, NOW).matches(onsite)
    assert subscription("u", ["sql"], "", False, None, NOW).matches(onsite)


def test_production_refuses_loopback_unless_explicitly_allowed() -> None:
    loopback = ipaddress.ip_address("127.0.0.1")
    assert NotificationsSettings().targets("dev").refusal(loopback) is None
    assert NotificationsSettings().targets("production").refusal(loopback) == "loopback"
    explicit = NotificationsSettings(webhook_allow_loopback=True)
    assert explicit.targets("production").refusal(loopback) is None
