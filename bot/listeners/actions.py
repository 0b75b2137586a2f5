"""Card buttons: Approve, Deny (opens the reason modal) and Retry."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.blocks.modals import build_deny_modal
from bot.card_view import parse_button_value
from bot.listeners import ListenerDeps
from bot.workers import EXECUTE, SLACK
from governance.errors import ClickRefused, RequestNotFound


def register(app: App, deps: ListenerDeps) -> None:
    @app.action("approve")
    def approve(ack: Ack, body: dict[str, Any]) -> None:
        ack()
        click = _Click.of(body)
        if click is None:
            return
        try:
            outcome = deps.governance.approve(click.request_id, click.user_id, click.shown_hash)
        except (ClickRefused, RequestNotFound) as exc:
            deps.replies.ephemeral(click.response_url, str(exc))
            return
        if outcome.approved:
            deps.wake(EXECUTE, SLACK)
        else:
            deps.wake(SLACK)

    @app.action("deny")
    def deny(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        click = _Click.of(body)
        if click is None:
            return
        try:
            deps.governance.check_can_decide(click.request_id, click.user_id, click.shown_hash)
        except (ClickRefused, RequestNotFound) as exc:
            deps.replies.ephemeral(click.response_url, str(exc))
            return
        client.views_open(
            trigger_id=body["trigger_id"],
            view=build_deny_modal(click.value, click.request_id),
        )

    @app.action("retry")
    def retry(ack: Ack, body: dict[str, Any]) -> None:
        ack()
        click = _Click.of(body)
        if click is None:
            return
        try:
            deps.governance.retry(click.request_id, click.user_id)
        except (ClickRefused, RequestNotFound) as exc:
            deps.replies.ephemeral(click.response_url, str(exc))
            return
        deps.wake(EXECUTE, SLACK)


class _Click:
    def __init__(self, value: str, user_id: str, response_url: str | None) -> None:
        self.value = value
        self.request_id, self.shown_hash = parse_button_value(value)
        self.user_id = user_id
        self.response_url = response_url

    @classmethod
    def of(cls, body: dict[str, Any]) -> _Click | None:
        """The click's request and payload hash; None for a value no card of ours carries."""
        try:
            return cls(body["actions"][0]["value"], body["user"]["id"], body.get("response_url"))
        except (KeyError, IndexError, ValueError):
            return None
