"""File uploads the way `WebClient.files_upload_v2` makes them.

Three steps: `files.getUploadURLExternal` hands out an upload URL (on this server), the
client POSTs the bytes there, then `files.completeUploadExternal` names and shares them.
"""

from __future__ import annotations

import json
import time

from integrations.local.slack import workspace as ws
from integrations.local.slack.api.chat import bot_message
from integrations.local.slack.api.registry import (
    CallContext,
    SlackMethodError,
    channel_arg,
    method,
    required,
)
from integrations.local.slack.store import Json, UploadedFile


@method("files.getUploadURLExternal")
def files_get_upload_url_external(ctx: CallContext, args: Json) -> Json:
    filename = str(required(args, "filename"))
    try:
        length = int(required(args, "length"))
    except ValueError:
        raise SlackMethodError("invalid_arguments", "[ERROR] length must be a number") from None
    upload = UploadedFile(id=ctx.store.new_id("F"), filename=filename, length=length)
    ctx.store.files[upload.id] = upload
    return {"ok": True, "upload_url": f"{ctx.base_url}upload/v1/{upload.id}", "file_id": upload.id}


@method("files.completeUploadExternal")
def files_complete_upload_external(ctx: CallContext, args: Json) -> Json:
    entries = required(args, "files")
    if isinstance(entries, str):
        entries = json.loads(entries)
    if not isinstance(entries, list) or not entries:
        raise SlackMethodError("invalid_arguments", "[ERROR] files must be a non-empty list")
    channel = channel_arg(ctx, args, "channel_id") if args.get("channel_id") else None
    uploads: list[UploadedFile] = []
    for entry in entries:
        upload = ctx.store.files.get(str(entry.get("id")))
        if upload is None or not upload.content:
            raise SlackMethodError("file_not_found")
        upload.title = entry.get("title") or upload.filename
        upload.channel_id = channel
        upload.initial_comment = args.get("initial_comment")
        upload.completed = True
        uploads.append(upload)
    files = [file_object(upload) for upload in uploads]
    if channel is not None:
        # Sharing files into a channel shows up there as a message carrying them.
        text = str(args.get("initial_comment") or "")
        message = bot_message(ctx.store.next_ts(), text, [], args)
        message.update({"subtype": "file_share", "files": files})
        ctx.store.messages.setdefault(channel, []).append(message)
    return {"ok": True, "files": files}


def file_object(upload: UploadedFile) -> Json:
    now = int(time.time())
    return {
        "id": upload.id,
        "created": now,
        "timestamp": now,
        "name": upload.filename,
        "title": upload.title,
        "mimetype": "text/plain",
        "filetype": "text",
        "pretty_type": "Plain Text",
        "user": ws.BOT_USER_ID,
        "user_team": ws.TEAM_ID,
        "size": len(upload.content),
        "mode": "hosted",
        "is_external": False,
        "is_public": upload.channel_id is not None,
        "url_private": f"https://files.slack.com/files-pri/{ws.TEAM_ID}-{upload.id}/{upload.filename}",
        "permalink": f"https://{ws.TEAM_DOMAIN}.slack.com/files/{ws.BOT_USER_ID}/{upload.id}",
        "channels": [upload.channel_id] if upload.channel_id else [],
    }
