"""Email rendering: HTML autoescaped, plain text verbatim, address only in the To header."""

from __future__ import annotations

from stint_notifications.adapters.email import compose, render
from stint_notifications.domain.channels import Channel
from stint_notifications.service_layer.delivery import Claim


def claim(template: str = "notification", **values: str) -> Claim:
    return Claim(
        id="evt-1:stu-1:email",
        channel=Channel.EMAIL,
        recipient_id="stu-1",
        event_id="evt-1",
        event_type="stint.applications.v1.ApplicationExpired",
        notification_id="evt-1:stu-1",
        attempt=1,
        title="Your application <b>expired</b>",
        body='About "<script>alert(1)</script>"',
        template=template,
        values=values,
        email="ada@example.org",
        display_name="Ada & Co",
    )


def test_html_is_escaped_and_text_is_not() -> None:
    text, html = render(claim())
    assert "<script>" not in html
    assert "&lt;script&gt;" in html
    assert "Ada &amp; Co" in html
    assert "<script>alert(1)</script>" in text
    assert "Hi Ada & Co" in text


def test_digest_and_alert_templates_render() -> None:
    text, html = render(claim("digest", count="2", listings="A <x>\nB"))
    assert "- A <x>" in text
    assert "<li>A &lt;x&gt;</li>" in html
    text, _ = render(claim("skill_alert", listing_id="lst-9"))
    assert "lst-9" in text


def test_message_has_both_parts_and_a_delivery_header() -> None:
    message = compose(claim(), "Stint <n@stint.invalid>")
    assert message["X-Stint-Delivery"] == "evt-1:stu-1:email"
    assert "ada@example.org" in message["To"]
    assert message.is_multipart()
    assert [p.get_content_type() for p in message.iter_parts()] == ["text/plain", "text/html"]
