"""Card buttons: Approve, Deny (opens the reason modal), Edit (opens the form) and Retry."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.blocks.modals import build_deny_modal, build_edit_modal
from bot.card_view import parse_button_value
from bot.listeners import ListenerDeps
from bot.workers import EXECUTE, SLACK
from governance.errors import ClickRefused, RequestNotFound


def register(app: App, deps: ListenerDeps) -> None:
    @app.action("approve")
    def approve(ack: Ack, body: dict[str, Any]) -> None:
        ack()

        def decide(click: _Click) -> tuple[str, ...]:
            outcome = deps.governance.approve(click.request_id, click.user_id, click.shown_hash)
            return (EXECUTE, SLACK) if outcome.approved else (SLACK,)

        _on_click(deps, body, decide)

    @app.action("deny")
    def deny(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()

        def ask_why(click: _Click) -> tuple[str, ...]:
            deps.governance.check_can_decide(click.request_id, click.user_id, click.shown_hash)
            client.views_open(
                trigger_id=body["trigger_id"],
                view=build_deny_modal(click.value, click.request_id),
            )
            return ()

        _on_click(deps, body, ask_why)

    @app.action("edit")
    def edit(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()

        def open_form(click: _Click) -> tuple[str, ...]:
            fields = deps.governance.edit_form(click.request_id, click.user_id, click.shown_hash)
            client.views_open(
                trigger_id=body["trigger_id"],
                view=build_edit_modal(click.value, click.request_id, fields),
            )
            return ()

        _on_click(deps, body, open_form)

    @app.action("retry")
    def retry(ack: Ack, body: dict[str, Any]) -> None:
        ack()

        def run_again(click: _Click) -> tuple[str, ...]:
            deps.governance.retry(click.request_id, click.user_id)
            return (EXECUTE, SLACK)

        _on_click(deps, body, run_again)


def _on_click(
    deps: ListenerDeps, body: dict[str, Any], handle: Callable[[_Click], tuple[str, ...]]
) -> None:
    """Hand a click to the core; a refusal is answered to the clicker alone."""
    click = _Click.of(body)
    if click is None:
        return
    try:
        loops = handle(click)
    except (ClickRefused, RequestNotFound) as exc:
        deps.replies.ephemeral(click.response_url, str(exc))
        return
    deps.wake(*loops)


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
