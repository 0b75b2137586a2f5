"""The Bolt app: signature checks by Bolt, listeners registered from bot/listeners."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient

from bot.listeners import ListenerDeps, actions, commands, views

log = logging.getLogger(__name__)


def build_bolt_app(client: WebClient, signing_secret: str, deps: ListenerDeps) -> App:
    # process_before_response: the HTTP response is Slack's ack, sent as soon as the
    # listener returns; listeners only do database work, never outside calls but views.open.
    app = App(
        client=client,
        signing_secret=signing_secret,
        process_before_response=True,
        token_verification_enabled=False,
        request_verification_enabled=True,
        ignoring_self_events_enabled=False,
    )

    @app.error
    def on_error(error: Exception, body: dict[str, Any]) -> None:
        log.error("Slack listener failed: %s", error, exc_info=error)

    commands.register(app, deps)
    actions.register(app, deps)
    views.register(app, deps)
    return app
