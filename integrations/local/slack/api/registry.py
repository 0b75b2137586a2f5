"""How a fake Web API method is declared, and the argument checks they share.

A handler takes the parsed arguments and returns the JSON body of a successful call, or
raises `SlackMethodError`, which the server answers as Slack does: status 200 and
`{"ok": false, "error": …}`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from integrations.local.slack.store import Json, SlackStore

MAX_BLOCKS = 50


class SlackMethodError(Exception):
    def __init__(self, error: str, *messages: str) -> None:
        super().__init__(error)
        self.error = error
        self.messages = list(messages)

    def body(self) -> Json:
        body: Json = {"ok": False, "error": self.error}
        if self.messages:
            body["response_metadata"] = {"messages": self.messages}
        return body


@dataclass(frozen=True)
class CallContext:
    store: SlackStore
    base_url: str  # this server, `http://127.0.0.1:<port>/`
    issue_socket_ticket: Callable[[], str]


Handler = Callable[[CallContext, Json], Json]
METHODS: dict[str, Handler] = {}
# Methods only an app-level token (`xapp-…`) may call; every other one wants the bot token.
APP_TOKEN_METHODS = frozenset({"apps.connections.open"})


def method(name: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        METHODS[name] = handler
        return handler

    return register


def required(args: Json, name: str) -> Any:
    value = args.get(name)
    if value in (None, ""):
        raise SlackMethodError("invalid_arguments", f"[ERROR] missing required field: {name}")
    return value


def channel_arg(ctx: CallContext, args: Json, name: str = "channel") -> str:
    channel = ctx.store.resolve_channel(str(args.get(name) or ""))
    if channel is None:
        raise SlackMethodError("channel_not_found")
    return channel


def blocks_arg(args: Json) -> list[Json] | None:
    blocks: list[Json] | None = args.get("blocks")
    if blocks is None:
        return None
    valid = (
        isinstance(blocks, list)
        and len(blocks) <= MAX_BLOCKS
        and all(isinstance(b, dict) and isinstance(b.get("type"), str) for b in blocks)
    )
    if not valid:
        raise SlackMethodError("invalid_blocks")
    return blocks
