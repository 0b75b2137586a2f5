"""Messages: `chat.postMessage`, `chat.update`, `chat.postEphemeral`."""

from __future__ import annotations

from integrations.local.slack import workspace as ws
from integrations.local.slack.api.registry import (
    CallContext,
    SlackMethodError,
    blocks_arg,
    channel_arg,
    method,
    required,
)
from integrations.local.slack.store import Json, ResponseUrlTarget

MAX_TEXT_LENGTH = 40_000


def bot_message(ts: str, text: str, blocks: list[Json], args: Json) -> Json:
    """A message as Slack stores and returns it when the bot token posted it."""
    message: Json = {
        "type": "message",
        "user": ws.BOT_USER_ID,
        "bot_id": ws.BOT_ID,
        "app_id": ws.APP_ID,
        "team": ws.TEAM_ID,
        "ts": ts,
        "text": text,
        "blocks": blocks,
        "bot_profile": {
            "id": ws.BOT_ID,
            "app_id": ws.APP_ID,
            "name": "Business Empire",
            "team_id": ws.TEAM_ID,
            "deleted": False,
        },
    }
    for optional in ("thread_ts", "attachments", "metadata"):
        if args.get(optional) is not None:
            message[optional] = args[optional]
    return message


def message_content(args: Json) -> tuple[str | None, list[Json] | None]:
    """The text and blocks of a message; Slack refuses one that has neither."""
    text = args.get("text")
    blocks = blocks_arg(args)
    if not text and not blocks and not args.get("attachments"):
        raise SlackMethodError("no_text")
    if text is not None and len(str(text)) > MAX_TEXT_LENGTH:
        raise SlackMethodError("msg_too_long")
    return (None if text is None else str(text)), blocks


@method("chat.postMessage")
def chat_post_message(ctx: CallContext, args: Json) -> Json:
    channel = channel_arg(ctx, args)
    text, blocks = message_content(args)
    message = bot_message(ctx.store.next_ts(), text or "", blocks or [], args)
    ctx.store.messages.setdefault(channel, []).append(message)
    return {"ok": True, "channel": channel, "ts": message["ts"], "message": message}


@method("chat.update")
def chat_update(ctx: CallContext, args: Json) -> Json:
    channel = channel_arg(ctx, args)
    message = ctx.store.find_message(channel, str(args.get("ts") or ""))
    if message is None:
        raise SlackMethodError("message_not_found")
    text, blocks = message_content(args)
    # Slack keeps whatever part of the message the update leaves out.
    if text is not None:
        message["text"] = text
    if blocks is not None:
        message["blocks"] = blocks
    if args.get("attachments") is not None:
        message["attachments"] = args["attachments"]
    message["edited"] = {"user": ws.BOT_USER_ID, "ts": ctx.store.next_ts()}
    return {
        "ok": True,
        "channel": channel,
        "ts": message["ts"],
        "text": message["text"],
        "message": {k: v for k, v in message.items() if k != "ts"},
    }


@method("chat.delete")
def chat_delete(ctx: CallContext, args: Json) -> Json:
    channel = channel_arg(ctx, args)
    message = ctx.store.find_message(channel, str(args.get("ts") or ""))
    if message is None:
        raise SlackMethodError("message_not_found")
    ctx.store.messages[channel].remove(message)
    return {"ok": True, "channel": channel, "ts": message["ts"]}


@method("chat.postEphemeral")
def chat_post_ephemeral(ctx: CallContext, args: Json) -> Json:
    channel = channel_arg(ctx, args)
    user = str(required(args, "user"))
    text, blocks = message_content(args)
    ts = ctx.store.next_ts()
    ephemeral: Json = {
        "channel": channel,
        "user": user,
        "text": text or "",
        "blocks": blocks or [],
        "message_ts": ts,
    }
    if args.get("thread_ts") is not None:
        ephemeral["thread_ts"] = args["thread_ts"]
    ctx.store.ephemerals.append(ephemeral)
    return {"ok": True, "message_ts": ts}


def apply_response_url_post(ctx: CallContext, target: ResponseUrlTarget, body: Json) -> None:
    """What a post to a message's response URL does to that message, as in Slack."""
    if target.channel is None:
        return
    original = ctx.store.find_message(target.channel, target.message_ts or "")
    if original is not None and body.get("delete_original"):
        ctx.store.messages[target.channel].remove(original)
    elif original is not None and body.get("replace_original"):
        original.update(text=body.get("text", ""), blocks=body.get("blocks", []))
    elif body.get("response_type") == "in_channel":
        chat_post_message(ctx, {**body, "channel": target.channel})
