"""E-mail through yagmail's SMTP connection handling (SSL / STARTTLS / login).

yagmail's own content heuristics join every part into both the text and the
HTML alternative, so the multipart/alternative message is built with the
standard library and handed to the SMTP connection yagmail opened.  One
connection per send: alerts are rare and a long-lived SMTP session goes stale.
"""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

import yagmail

from alerts import messages
from alerts.channels.base import BaseChannel, Result, delivered, permanent, transient
from alerts.outbox import Row


class EmailChannel(BaseChannel):
    type = "email"
    batch_max = 500
    default_rate = 0.2  # a mail server is not a chat: at most one mail per 5 s, digests beyond

    def destinations(self) -> list[str]:
        return ["recipients"]

    def build(self, rows: list[Row]) -> EmailMessage:
        subject, text, html = messages.email([r.payload for r in rows], self.dashboard_url)
        msg = EmailMessage()
        msg["Subject"] = subject
        msg["From"] = self.cfg.sender
        msg["To"] = ", ".join(self.cfg.recipients)
        msg["Date"] = formatdate(localtime=False)
        msg["Message-ID"] = make_msgid(domain="botmonitor")
        msg["X-Idempotency-Key"] = rows[0].idem if len(rows) == 1 else f"digest-{rows[0].idem}"
        msg.set_content(text)
        msg.add_alternative(html, subtype="html")
        return msg

    def send(self, dest: str, rows: list[Row]) -> Result:
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
                refused = yag.smtp.sendmail(c.sender, list(c.recipients), msg.as_string())
            finally:
                yag.close()
        except smtplib.SMTPRecipientsRefused as exc:
            return _classify(min(code for code, _ in exc.recipients.values()), "all recipients refused")
        except smtplib.SMTPResponseException as exc:
            return _classify(exc.smtp_code, _text(exc.smtp_error))
        except (smtplib.SMTPException, OSError) as exc:
            return transient(f"{type(exc).__name__}: {exc}")
        if refused:
            return delivered()  # reached at least one recipient; the refused ones are in the SMTP log
        return delivered()


def _text(err: bytes | str) -> str:
    return err.decode("utf-8", "replace") if isinstance(err, bytes) else str(err)


def _classify(code: int, detail: str) -> Result:
    """SMTP 4xx is 'try again later', 5xx is final."""
    if 400 <= code < 500:
        return transient(f"SMTP {code}: {detail[:200]}")
    return permanent(f"SMTP {code}: {detail[:200]}")
