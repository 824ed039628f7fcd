"""Email: jinja2 templates (autoescaped HTML + plain text) sent over SMTP with aiosmtplib."""

from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, make_msgid

import aiosmtplib
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from stint_notifications.service_layer.delivery import Claim, Outcome

TEMPLATES = Environment(
    loader=PackageLoader("stint_notifications", "templates"),
    autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=True),
    undefined=StrictUndefined,
    keep_trailing_newline=True,
)


def render(claim: Claim) -> tuple[str, str]:
    """(plain text, HTML) of the message a claim carries."""
    context = {
        "title": claim.title,
        "body": claim.body,
        "display_name": claim.display_name,
        "values": dict(claim.values),
    }
    text = TEMPLATES.get_template(f"{claim.template}.txt").render(context)
    html = TEMPLATES.get_template(f"{claim.template}.html").render(context)
    return text, html


def compose(claim: Claim, sender: str) -> EmailMessage:
    text, html = render(claim)
    message = EmailMessage()
    message["From"] = sender
    message["To"] = formataddr((claim.display_name, claim.email))
    message["Subject"] = claim.title
    message["Message-ID"] = make_msgid(domain="stint.invalid")
    # Lets a receiver (and the tests) tie a message to its delivery without the address.
    message["X-Stint-Delivery"] = claim.id
    message["X-Stint-Event-Type"] = claim.event_type
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    return message


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    sender: str
    security: str = "none"  # none | starttls | tls
    username: str = ""
    password: str = ""
    timeout: float = 30.0


class SmtpSender:
    """One connection per message: simple, and a broken connection never poisons the next."""

    def __init__(self, config: SmtpConfig) -> None:
        self.config = config

    async def send(self, claim: Claim) -> Outcome:
        config = self.config
        try:
            await aiosmtplib.send(
                compose(claim, config.sender),
                hostname=config.host,
                port=config.port,
                username=config.username or None,
                password=config.password or None,
                use_tls=config.security == "tls",
                start_tls=config.security == "starttls",
                timeout=config.timeout,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [r.code for r in exc.recipients]
            return Outcome(False, f"smtp {codes[0] if codes else 550}", permanent=True)
        except aiosmtplib.SMTPResponseException as exc:
            return Outcome(False, f"smtp {exc.code}", permanent=exc.code >= 500)
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            return Outcome(False, f"smtp {type(exc).__name__}")
        return Outcome(True)
