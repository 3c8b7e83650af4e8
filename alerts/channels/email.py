"""E-mail through yagmail's SMTP connection handling (SSL / STARTTLS / login).

yagmail's own content heuristics join every part into both the text and the
HTML alternative, so the multipart/alternative message is built with the
standard library and handed to the SMTP connection yagmail opened.  One
connection per send: alerts are rare and a long-lived SMTP session goes stale.
"""

from __future__ import annotations

import html
import smtplib
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import TYPE_CHECKING, Annotated, ClassVar

from alerts import messages, notification
from alerts.catalog import SEVERITIES
from alerts.channels.base import (
    DESTINATION,
    BaseChannel,
    ChannelSettings,
    ChannelType,
    FormField,
    Result,
    Secret,
    delivered,
    permanent,
    transient,
)

if TYPE_CHECKING:
    from alerts.rows import Row

#: Left border of an alert in the HTML body, by severity (others: blue).
COLOR = dict(zip(SEVERITIES, ("#2471a3", "#d68910", "#c0392b"), strict=True))


class EmailSettings(ChannelSettings, frozen=True, kw_only=True, forbid_unknown_fields=True, tag="email"):
    """An SMTP server (the password goes to ``host``:``port``), a sender and recipients."""

    required: ClassVar = (("sender", "recipients"),)

    host: Annotated[str, DESTINATION] = "localhost"
    port: Annotated[int | None, DESTINATION] = None  # default 465 with ssl, else 587
    username: str | None = None
    password: Secret = None
    sender: str | None = None
    recipients: list[str] = []
    ssl: bool = False
    starttls: bool = True


def message(payloads: list[dict], dashboard_url: str) -> tuple[str, str, str]:
    """(subject, text body, HTML body)."""
    rows = []
    for p in messages.ordered(payloads):
        color = COLOR.get(p.get("severity"), COLOR["info"])
        facts = "<br>".join(html.escape(x) for x in notification.lines(p))
        rows.append(
            f'<div style="border-left:4px solid {color};padding:4px 8px;margin:8px 0">'
            f"<b>{html.escape(notification.headline(p))}</b><br>{facts}</div>"
        )
    body = "".join(rows) + f'<p><a href="{html.escape(dashboard_url)}">Open the dashboard</a></p>'
    text = notification.plain_text(payloads, dashboard_url)
    return notification.subject(payloads), text, f"<html><body>{body}</body></html>"


class EmailChannel(BaseChannel):
    batch_max = 500
    default_rate = 0.2  # a mail server is not a chat: at most one mail per 5 s, digests beyond

    def destinations(self) -> list[str]:
        return ["recipients"]

    def build(self, rows: list[Row]) -> EmailMessage:
        subject, text, body = message([r.payload for r in rows], self.dashboard_url)
        msg = EmailMessage()
        msg["Subject"] = subject
        msg["From"] = self.cfg.sender
        msg["To"] = ", ".join(self.cfg.recipients)
        msg["Date"] = formatdate(localtime=False)
        msg["Message-ID"] = make_msgid(domain="botmonitor")
        msg["X-Idempotency-Key"] = rows[0].idem if len(rows) == 1 else f"digest-{rows[0].idem}"
        msg.set_content(text)
        msg.add_alternative(body, subtype="html")
        return msg

    def render(self, rows: list[Row]) -> object:
        return self.build(rows).as_string()

    def send(self, dest: str, rows: list[Row]) -> Result:
        import yagmail

        msg = self.build(rows)
        c = self.cfg
        try:
            yag = yagmail.SMTP(
                user=c.username or c.sender,
                password=c.password or "",
                host=c.host,
                port=c.port or (465 if c.ssl else 587),
                smtp_ssl=c.ssl,
                smtp_starttls=c.starttls,
                smtp_skip_login=not c.username,
                soft_email_validation=False,
                timeout=c.timeout_s,
            )
            yag.login()
            try:
                # Refused recipients (when at least one accepted) are in the SMTP server's log.
                yag.smtp.sendmail(c.sender, list(c.recipients), msg.as_string())
            finally:
                yag.close()
        except smtplib.SMTPRecipientsRefused as exc:
            return _classify(min(code for code, _ in exc.recipients.values()), "all recipients refused")
        except smtplib.SMTPResponseException as exc:
            return _classify(exc.smtp_code, _text(exc.smtp_error))
        except (smtplib.SMTPException, OSError) as exc:
            return transient(f"{type(exc).__name__}: {exc}")
        return delivered()


def _text(err: bytes | str) -> str:
    return err.decode("utf-8", "replace") if isinstance(err, bytes) else str(err)


def _classify(code: int, detail: str) -> Result:
    """SMTP 4xx is 'try again later', 5xx is final."""
    if 400 <= code < 500:
        return transient(f"SMTP {code}: {detail[:200]}")
    return permanent(f"SMTP {code}: {detail[:200]}")


TYPE = ChannelType(
    "email",
    "E-mail",
    EmailSettings,
    EmailChannel,
    form=(
        FormField("host", "SMTP host", "host"),
        FormField("port", "SMTP port", "port"),
        FormField("ssl", "SSL (port 465)", "switch"),
        FormField("starttls", "STARTTLS", "switch"),
        FormField("username", "SMTP user", "text"),
        FormField("password", "SMTP password", "secret"),
        FormField("sender", "From address", "email"),
        FormField("recipients", "Recipients", "emails"),
    ),
)
