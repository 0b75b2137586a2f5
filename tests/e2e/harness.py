"""`empire serve` as a real process, talking to fake Slack and Stripe servers on 127.0.0.1."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx

from integrations.local.server import wait_for as local_wait_for
from integrations.local.slack import payloads as sp
from integrations.local.slack import workspace as ws
from tests.fakes.ports import free_port
from tests.policies import STANDARD

T = TypeVar("T")
NOTIFY_CHANNEL = "C0NOTIFY"
STRIPE_KEY = "sk_test_empire_e2e"
WEBHOOK_SECRET = "whsec_empire_e2e"
REPO = Path(__file__).resolve().parents[2]


def serve_env(
    database_url: str, folder: Path, slack_api: str, stripe_url: str, **extra: str
) -> dict[str, str]:
    policy = folder / "policy.yml"
    if not policy.exists():
        policy.write_text(STANDARD, encoding="utf-8")
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "STRIPE_", "EMPIRE_"))
    }
    env.update(
        DATABASE_URL=database_url,
        SLACK_BOT_TOKEN=ws.BOT_TOKEN,
        SLACK_SIGNING_SECRET=ws.SIGNING_SECRET,
        SLACK_API_URL=slack_api,
        EMPIRE_APPROVALS_CHANNEL=ws.APPROVALS_CHANNEL,
        EMPIRE_NOTIFY_CHANNEL=NOTIFY_CHANNEL,
        EMPIRE_POLICY_FILE=str(policy),
        STRIPE_API_KEY=STRIPE_KEY,
        STRIPE_API_BASE=stripe_url,
        STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET,
        PYTHONPATH=str(REPO),
    )
    env.update(extra)
    return env


class ServeProcess:
    """One `python -m bot serve` process; `url` is where it listens."""

    def __init__(self, env: dict[str, str], folder: Path) -> None:
        self.env = env
        self.folder = folder
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = folder / f"serve-{self.port}.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.http = httpx.Client(base_url=self.url, timeout=10)

    def start(self, timeout: float = 30) -> ServeProcess:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "bot", "serve", "--port", str(self.port)],
                cwd=self.folder,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"empire serve exited: {self.log.read_text()}")
            try:
                if self.http.get("/healthz").status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"empire serve did not start: {self.log.read_text()}")

    def kill(self) -> None:
        """SIGKILL: no clean-up runs, as when a machine dies."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()
        self.http.close()

    def post_slack(self, request: sp.SlackRequest, *, signing: str = "signed") -> httpx.Response:
        body, headers = getattr(request, signing)()
        return self.http.post("/slack/events", content=body, headers=headers)

    def command(self, text: str, user: str, response_url: str = sp.UNROUTED_RESPONSE_URL) -> str:
        response = self.post_slack(sp.slash_command(text, user_id=user, response_url=response_url))
        assert response.status_code == 200, response.text
        # Bolt answers a plain-text ack as text/plain, which Slack shows ephemerally.
        if response.headers.get("content-type", "").startswith("application/json"):
            return str(response.json().get("text", ""))
        return response.text


def wait_for(predicate: Callable[[], T], timeout: float = 15.0, what: str = "condition") -> T:
    return local_wait_for(predicate, timeout, what)


def card_for(fake_slack: Any, request_id: int) -> dict[str, Any] | None:
    for message in fake_slack.messages(ws.APPROVALS_CHANNEL):
        if f"#{request_id}" in message.get("text", ""):
            return dict(message)
    return None


def button(message: dict[str, Any], action_id: str) -> dict[str, Any] | None:
    for block in message.get("blocks", []):
        for element in block.get("elements", []) or []:
            if element.get("type") == "button" and element.get("action_id") == action_id:
                return dict(element)
    return None


def card_text(message: dict[str, Any]) -> str:
    """Everything a person reads on the card, as one string."""
    parts: list[str] = [message.get("text", "")]

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("text"), str):
                parts.append(node["text"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(message.get("blocks", []))
    return "\n".join(parts)


def request_id_of(answer: str) -> int:
    import re

    found = re.search(r"#(\d+)", answer)
    assert found, answer
    return int(found.group(1))
