"""Slack through slack-sdk: an incoming webhook, or a bot token + channel (chat.postMessage)."""

from __future__ import annotations

import json
import re
import urllib.error
from typing import TYPE_CHECKING, Annotated, Any, ClassVar

from alerts import messages, notification
from alerts.channels.base import (
    SECRET_DESTINATION,
    BaseChannel,
    ChannelSettings,
    ChannelType,
    Destination,
    FormField,
    Result,
    Secret,
    delivered,
    http_result,
    parse_retry_after,
    permanent,
    transient,
)

if TYPE_CHECKING:
    from alerts.rows import Row

#: Slack API ``error`` codes worth retrying; everything else (invalid_auth, channel_not_found...) is final.
TRANSIENT_ERRORS = {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
SECTION_MAX = 3000
MAX_BLOCKS = 50


class SlackSettings(ChannelSettings, frozen=True, kw_only=True, forbid_unknown_fields=True, tag="slack"):
    """An incoming-webhook URL, or a bot token + channel."""

    required: ClassVar = (("webhook_url",), ("token", "channel"))

    webhook_url: Annotated[str | None, SECRET_DESTINATION] = None
    token: Secret = None
    channel: str | None = None
    api_url: Destination = None  # default "https://slack.com/api/"


_ZWSP = "\u200b"
_FORMATTING = re.compile(r"([*_~`])")


def _escape(text: str) -> str:
    """Bot-provided text as literal mrkdwn: ``<!channel>`` and ``<http://x|y>`` cannot ping or link.

    ``&``, ``<`` and ``>`` are Slack's three entities; the formatting characters have no
    escape in mrkdwn, so each is fenced with zero-width spaces, which keeps Slack from
    pairing them into bold, italic, strike or code while the text reads the same.
    """
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _FORMATTING.sub(_ZWSP + r"\1" + _ZWSP, text)


def _sections(p: dict) -> list[str]:
    """One notification's text in sections of at most SECTION_MAX, cut between whole lines.

    An alert fits in one; a report of many bots takes several, none cut in the middle of a line.
    """
    texts = [f"{notification.icon(p)}*{_escape(notification.headline(p))}*"]
    for x in notification.lines(p):
        line = _escape(x)
        if len(texts[-1]) + 1 + len(line) > SECTION_MAX:
            texts.append(line[:SECTION_MAX])
        else:
            texts[-1] += "\n" + line
    return texts


def message(payloads: list[dict], dashboard_url: str) -> dict:
    """Slack Block Kit: one section per alert (<= 3000 chars each), <= 50 blocks."""
    ps = messages.ordered(payloads)
    blocks: list[dict[str, Any]] = []
    if len(ps) > 1:
        header = messages.trim(notification.subject(ps), 150)
        blocks.append({"type": "header", "text": {"type": "plain_text", "text": header}})
    shown = 0
    for p in ps:
        texts = _sections(p)
        if len(blocks) + len(texts) > MAX_BLOCKS - 2:  # room for "and N more" and the link
            break
        blocks += [{"type": "section", "text": {"type": "mrkdwn", "text": t}} for t in texts]
        shown += 1
    if shown < len(ps):
        more = f"... and {len(ps) - shown} more on the dashboard"
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": more}})
    blocks.append(
        {"type": "context", "elements": [{"type": "mrkdwn", "text": f"<{dashboard_url}|Open the dashboard>"}]}
    )
    # The top-level text is mrkdwn too (notifications, clients without blocks): escaped alike.
    return {"text": _escape(messages.trim(notification.subject(ps), 2000)), "blocks": blocks}


class SlackChannel(BaseChannel):
    batch_max = 500  # a digest: 47 section blocks (Slack allows 50), then a count
    default_rate = 1.0  # Slack: about one message per second per channel

    def __init__(self, name: str, cfg: SlackSettings, dashboard_url: str) -> None:
        from slack_sdk import WebClient, WebhookClient

        super().__init__(name, cfg, dashboard_url)
        self.hook: Any = None
        self.web: Any = None
        if cfg.webhook_url:
            self.hook = WebhookClient(url=cfg.webhook_url, timeout=int(cfg.timeout_s), retry_handlers=[])
        else:
            self.web = WebClient(
                token=cfg.token,
                base_url=cfg.api_url or WebClient.BASE_URL,
                timeout=int(cfg.timeout_s),
                retry_handlers=[],
            )

    def render(self, rows: list[Row]) -> object:
        return json.dumps(message([r.payload for r in rows], self.dashboard_url))

    def send(self, dest: str, rows: list[Row]) -> Result:
        from slack_sdk.errors import SlackApiError, SlackClientError

        msg = message([r.payload for r in rows], self.dashboard_url)
        try:
            return self._post(msg)
        except SlackApiError as exc:
            return _api_error(exc)
        except (SlackClientError, urllib.error.URLError, OSError) as exc:
            return transient(f"{type(exc).__name__}: {getattr(exc, 'reason', exc)}")

    def _post(self, msg: dict) -> Result:
        if self.hook is not None:
            resp = self.hook.send(text=msg["text"], blocks=msg["blocks"])
            headers = resp.headers or {}
            return http_result(
                resp.status_code, headers.get("Retry-After") or headers.get("retry-after"), str(resp.body)
            )
        self.web.chat_postMessage(channel=self.cfg.channel, text=msg["text"], blocks=msg["blocks"])
        return delivered()


def _api_error(exc: Any) -> Result:
    resp = exc.response
    code = resp.get("error") if hasattr(resp, "get") else None
    status = getattr(resp, "status_code", 0)
    headers = getattr(resp, "headers", {}) or {}
    retry = parse_retry_after(headers.get("Retry-After") or headers.get("retry-after"))
    if status == 429 or status >= 500 or code in TRANSIENT_ERRORS:
        return transient(f"slack {status} {code}", retry)
    return permanent(f"slack {status} {code}")


TYPE = ChannelType(
    "slack",
    "Slack",
    SlackSettings,
    SlackChannel,
    form=(
        FormField("webhook_url", "Incoming webhook URL", "url"),
        FormField("token", "Bot token", "secret"),
        FormField("channel", "Channel (with a bot token)", "text"),
        FormField("api_url", "API base URL (optional)", "url?"),
    ),
)
