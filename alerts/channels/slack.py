"""Slack through slack-sdk: an incoming webhook, or a bot token + channel (chat.postMessage)."""

from __future__ import annotations

import urllib.error

from slack_sdk import WebClient, WebhookClient
from slack_sdk.errors import SlackApiError, SlackClientError

from alerts import messages
from alerts.channels.base import (
    BaseChannel,
    Result,
    delivered,
    http_result,
    parse_retry_after,
    permanent,
    transient,
)
from alerts.outbox import Row

#: Slack API ``error`` codes worth retrying; everything else (invalid_auth, channel_not_found...) is final.
TRANSIENT_ERRORS = {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}


class SlackChannel(BaseChannel):
    type = "slack"
    batch_max = 500  # a digest: 47 section blocks (Slack allows 50), then a count
    default_rate = 1.0  # Slack: about one message per second per channel

    def __init__(self, name, cfg, dashboard_url) -> None:
        super().__init__(name, cfg, dashboard_url)
        if cfg.webhook_url:
            self.hook: WebhookClient | None = WebhookClient(
                url=cfg.webhook_url, timeout=int(cfg.timeout_s), retry_handlers=[]
            )
            self.web: WebClient | None = None
        else:
            self.hook = None
            self.web = WebClient(
                token=cfg.token,
                base_url=cfg.api_url or WebClient.BASE_URL,
                timeout=int(cfg.timeout_s),
                retry_handlers=[],
            )

    def send(self, dest: str, rows: list[Row]) -> Result:
        msg = messages.slack([r.payload for r in rows], self.dashboard_url)
        try:
            return self._post(msg)
        except SlackApiError as exc:
            return _api_error(exc)
        except (SlackClientError, urllib.error.URLError, OSError) as exc:
            return transient(f"{type(exc).__name__}: {getattr(exc, 'reason', exc)}")

    def _post(self, msg: dict) -> Result:
        if self.hook is not None:
            resp = self.hook.send(text=msg["text"], blocks=msg["blocks"])
            return http_result(
                resp.status_code,
                (resp.headers or {}).get("Retry-After") or (resp.headers or {}).get("retry-after"),
                str(resp.body),
            )
        assert self.web is not None
        self.web.chat_postMessage(channel=self.cfg.channel, text=msg["text"], blocks=msg["blocks"])
        return delivered()


def _api_error(exc: SlackApiError) -> Result:
    resp = exc.response
    code = resp.get("error") if hasattr(resp, "get") else None
    status = getattr(resp, "status_code", 0)
    headers = getattr(resp, "headers", {}) or {}
    retry = parse_retry_after(headers.get("Retry-After") or headers.get("retry-after"))
    if status == 429 or status >= 500 or code in TRANSIENT_ERRORS:
        return transient(f"slack {status} {code}", retry)
    return permanent(f"slack {status} {code}")
