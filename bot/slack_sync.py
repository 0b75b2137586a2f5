"""Bring Slack up to date with the database: cards, then queued messages.

Cards are rendered from the request's current state whenever its `card_version` moved
past what Slack last showed, so a lost update is repaired by the next pass and several
quick changes collapse into one `chat.update`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookClient
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from bot.blocks.cards import build_card
from bot.card_view import card_view
from bot.escape import mention_user
from bot.notifications import render, render_direct, render_reply
from bot.revenue_desk import ChartFile
from governance.requests import State
from storage import outbox
from storage.db import read_only
from storage.models import ActionRequest
from storage.types import utcnow

log = logging.getLogger(__name__)
# Slack's answers when the bot is not in the channel the command came from.
_NOT_POSTABLE = frozenset({"not_in_channel", "channel_not_found", "access_denied"})
# Longer than the worst case of one Slack call with its retries, so a slow call is never
# repeated by another process while it is still under way.
LEASE = timedelta(minutes=2)
BACKOFF = (1, 5, 30, 120, 600)


class SlackSync:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        client: WebClient,
        approvals_channel: str,
        notify_channel: str,
        give_way: Callable[[], None] = lambda: None,
        charts: Callable[[dict[str, Any]], list[ChartFile]] | None = None,
    ) -> None:
        self._give_way = give_way
        self._charts = charts
        self._sessions = sessions
        self._reads = read_only(sessions)
        self._client = client
        self._approvals_channel = approvals_channel
        self._notify_channel = notify_channel

    def run_once(self) -> int:
        return self.sync_cards() + self.deliver_outbox()

    # -- cards --------------------------------------------------------------------------

    def sync_cards(self) -> int:
        now = utcnow()
        with self._reads.begin() as session:
            stale = list(
                session.execute(
                    select(ActionRequest.id)
                    .where(
                        ActionRequest.card_version > ActionRequest.card_synced_version,
                        or_(
                            ActionRequest.card_lease_until.is_(None),
                            ActionRequest.card_lease_until < now,
                        ),
                    )
                    .order_by(ActionRequest.id)
                ).scalars()
            )
        synced = 0
        for request_id in stale:
            self._give_way()
            synced += self._sync_card(request_id)
        return synced

    def _sync_card(self, request_id: int) -> int:
        now = utcnow()
        with self._sessions.begin() as session:
            claimed = session.execute(
                update(ActionRequest)
                .where(
                    ActionRequest.id == request_id,
                    or_(
                        ActionRequest.card_lease_until.is_(None),
                        ActionRequest.card_lease_until < now,
                    ),
                )
                .values(card_lease_until=now + LEASE)
                .execution_options(synchronize_session=False)
            )
            if claimed.rowcount != 1:  # type: ignore[attr-defined]
                return 0
            lease = now + LEASE
            request = session.get(ActionRequest, request_id)
            assert request is not None
            version, channel, ts = request.card_version, request.card_channel, request.card_ts
            never_shown = ts is None and request.state == State.REJECTED.value
            text, blocks = ("", []) if never_shown else build_card(card_view(session, request))
        first_post = ts is None and not never_shown
        try:
            if not never_shown:
                channel, ts = self._publish(channel, ts, text, blocks)
        except (SlackApiError, OSError) as exc:
            log.warning("card of #%s not updated: %s", request_id, _slack_error(exc))
            self._release(request_id)
            return 0
        with self._sessions.begin() as session:
            kept = session.execute(
                update(ActionRequest)
                .where(ActionRequest.id == request_id, ActionRequest.card_lease_until == lease)
                .values(
                    card_channel=channel,
                    card_ts=ts,
                    card_synced_version=version,
                    card_lease_until=None,
                )
                .execution_options(synchronize_session=False)
            )
        if kept.rowcount != 1 and first_post and channel and ts:  # type: ignore[attr-defined]
            # Another worker took the card over meanwhile: this copy would be an orphan.
            self._client.chat_delete(channel=channel, ts=ts)
        return 1

    def _publish(
        self, channel: str | None, ts: str | None, text: str, blocks: list[dict[str, object]]
    ) -> tuple[str, str]:
        if channel and ts:
            self._client.chat_update(channel=channel, ts=ts, text=text, blocks=blocks)
            return channel, ts
        response = self._client.chat_postMessage(
            channel=self._approvals_channel, text=text, blocks=blocks, unfurl_links=False
        )
        return str(response["channel"]), str(response["ts"])

    def _release(self, request_id: int) -> None:
        with self._sessions.begin() as session:
            session.execute(
                update(ActionRequest)
                .where(ActionRequest.id == request_id)
                .values(card_lease_until=utcnow() + timedelta(seconds=5))
                .execution_options(synchronize_session=False)
            )

    # -- queued messages ----------------------------------------------------------------

    def deliver_outbox(self) -> int:
        with self._reads.begin() as session:
            if not outbox.has_due(session, outbox.SLACK_KINDS):
                return 0
        with self._sessions.begin() as session:
            due = [
                (message.id, message.kind, dict(message.body), message.attempts)
                for message in outbox.claim_due(session, LEASE, limit=5, kinds=outbox.SLACK_KINDS)
            ]
        for message_id, kind, body, attempts in due:
            self._give_way()
            error = self._deliver(kind, body)
            self._settle(message_id, attempts, error)
        return len(due)

    def _deliver(self, kind: str, body: dict[str, object]) -> str | None:
        try:
            if kind == outbox.EPHEMERAL:
                response = WebhookClient(str(body["response_url"])).send(
                    text=render_reply(body), response_type="ephemeral", replace_original=False
                )
                if response.status_code >= 400:
                    return f"response_url answered {response.status_code}"
            elif kind == outbox.NOTIFY:
                self._client.chat_postMessage(
                    channel=self._notify_channel, text=render(body), unfurl_links=False
                )
            elif kind == outbox.CHART and self._charts is not None:
                self._upload_charts(body)
            elif kind == outbox.DIRECT:
                self._ask_directly(body)
            else:
                return f"unknown message kind {kind!r}"
        except (SlackApiError, OSError) as exc:
            return _slack_error(exc)
        return None

    def _ask_directly(self, body: dict[str, Any]) -> None:
        """A DM to an approver about a request still waiting; nothing once it is decided."""
        with self._reads.begin() as session:
            request = session.get(ActionRequest, int(body["request_id"]))
            if request is None or request.state != State.PENDING.value:
                return
            text = render_direct(body, card_view(session, request))
        opened = self._client.conversations_open(users=str(body["user"]))
        self._client.chat_postMessage(channel=opened["channel"]["id"], text=text)

    def _upload_charts(self, body: dict[str, Any]) -> None:
        """Upload where the person asked; where the bot may not post, to the notify channel."""
        files = self._charts(body) if self._charts else []
        asked_in = str(body.get("channel") or self._notify_channel)
        asker = mention_user(str(body.get("user_id")))
        for chart in files:
            comment = f"{chart.title}, as asked by {asker}"
            channels = list(dict.fromkeys((asked_in, self._notify_channel)))
            for channel in channels:
                try:
                    self._client.files_upload_v2(
                        channel=channel,
                        content=chart.content,
                        filename=chart.filename,
                        title=chart.title,
                        initial_comment=comment,
                    )
                    break
                except SlackApiError as exc:
                    if exc.response.get("error") not in _NOT_POSTABLE or channel == channels[-1]:
                        raise

    def _settle(self, message_id: int, attempts: int, error: str | None) -> None:
        if error is not None:
            log.warning("outbox message %s not delivered: %s", message_id, error)
        with self._sessions.begin() as session:
            outbox.settle(session, message_id, attempts, error, BACKOFF)


def _slack_error(exc: Exception) -> str:
    if isinstance(exc, SlackApiError):
        return str(exc.response.get("error"))
    return f"{type(exc).__name__}: {exc}"
