"""Slack's side of Socket Mode: greet each client, push envelopes to it, collect its acks.

The websocket lives on the server's event loop while tests call `send` from their own
thread, so sends are handed to that loop and acks come back through a condition variable.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import threading
import uuid
from dataclasses import dataclass
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect

from integrations.local.slack import workspace as ws

Json = dict[str, Any]

ENVELOPE_TYPES = frozenset({"slash_commands", "interactive", "events_api"})
# Slack lets the app answer these in the ack (a modal's errors, a command's reply).
_ACCEPTS_RESPONSE_PAYLOAD = frozenset({"view_submission", "block_suggestion"})


@dataclass(frozen=True)
class _Client:
    websocket: WebSocket
    loop: asyncio.AbstractEventLoop


class SocketModeHub:
    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._clients: list[_Client] = []
        self._tickets: set[str] = set()
        self._acks: dict[str, Json] = {}
        self._received: list[Json] = []

    def issue_ticket(self) -> str:
        """A single-use ticket, as in the URL `apps.connections.open` hands out."""
        ticket = secrets.token_hex(16)
        with self._changed:
            self._tickets.add(ticket)
        return ticket

    async def serve(self, websocket: WebSocket) -> None:
        ticket = websocket.query_params.get("ticket", "")
        with self._changed:
            valid = ticket in self._tickets
            self._tickets.discard(ticket)
        if not valid:
            await websocket.close(code=1008)
            return
        await websocket.accept()
        client = _Client(websocket, asyncio.get_running_loop())
        with self._changed:
            self._clients.append(client)
            connections = len(self._clients)
            self._changed.notify_all()
        try:
            await websocket.send_text(json.dumps(_hello(connections)))
            while True:
                self._record(await websocket.receive_text())
        except WebSocketDisconnect:
            pass
        finally:
            with self._changed:
                self._clients.remove(client)
                self._changed.notify_all()

    def received(self) -> list[Json]:
        """Every JSON message clients have sent, acks included, oldest first."""
        with self._changed:
            return list(self._received)

    def wait_connected(self, timeout: float) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: bool(self._clients), timeout=timeout)

    def send(self, envelope_type: str, payload: Json, timeout: float) -> Json:
        """Push one envelope to the newest client and return the ack it sends back."""
        if envelope_type not in ENVELOPE_TYPES:
            raise ValueError(f"unknown envelope type {envelope_type!r}")
        if not self.wait_connected(timeout):
            raise TimeoutError("no Socket Mode client connected")
        with self._changed:
            client = self._clients[-1]
        envelope = _envelope(envelope_type, payload)
        envelope_id: str = envelope["envelope_id"]
        text = json.dumps(envelope)
        asyncio.run_coroutine_threadsafe(client.websocket.send_text(text), client.loop).result(
            timeout
        )
        with self._changed:
            if not self._changed.wait_for(lambda: envelope_id in self._acks, timeout=timeout):
                raise TimeoutError(f"no ack for envelope {envelope_id}")
            return self._acks.pop(envelope_id)

    def _record(self, text: str) -> None:
        try:
            message = json.loads(text)
        except json.JSONDecodeError:
            return
        if not isinstance(message, dict):
            return
        with self._changed:
            self._received.append(message)
            if "envelope_id" in message:
                self._acks[str(message["envelope_id"])] = message
                self._changed.notify_all()


def _hello(connections: int) -> Json:
    return {
        "type": "hello",
        "num_connections": connections,
        "debug_info": {
            "host": "applink-fake-empire",
            "build_number": 1,
            "approximate_connection_time": 18060,
        },
        "connection_info": {"app_id": ws.APP_ID},
    }


def _envelope(envelope_type: str, payload: Json) -> Json:
    envelope: Json = {
        "envelope_id": str(uuid.uuid4()),
        "payload": payload,
        "type": envelope_type,
        "accepts_response_payload": envelope_type == "slash_commands"
        or payload.get("type") in _ACCEPTS_RESPONSE_PAYLOAD,
    }
    if envelope_type == "events_api":
        envelope.update({"retry_attempt": 0, "retry_reason": ""})
    return envelope
