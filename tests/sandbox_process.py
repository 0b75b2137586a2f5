"""`empire sandbox` as a real process, and a client of its HTTP API (the page's JSON).

    sandbox = SandboxProcess(tmp_path, tmp_path / "empire-sandbox").start()  # ready: seeded
    request_id = sandbox.ask("invoice billing@acme.example 900 Logo")       # as Riley
    sandbox.click(FRAN, request_id, "approve")
    sandbox.card_saying(request_id, "Executed")
    sandbox.stop()

The process runs in an empty working folder (no `.env` is found) with the platform
settings of the environment removed: the sandbox brings its own Slack and Stripe.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx

from tests.e2e.harness import card_text, wait_for
from tests.fakes.ports import free_port

REPO = Path(__file__).resolve().parents[1]
Json = dict[str, Any]
T = TypeVar("T")

APPROVALS, NOTIFICATIONS = "C0APPROVALS", "C0NOTIFY"
RILEY, FRAN, SAM, KIM, OLU, OTTO = (
    "U0SALES1",
    "U0FIN1",
    "U0FIN2",
    "U0FIN3",
    "U0OWNER1",
    "U0OUTSIDER",
)
START_SECONDS = 60.0  # to the sample history made: a few seconds, unless the machine is busy
FLOW_SECONDS = 20.0


def poll(found: Callable[[], T | None], what: str, timeout: float = FLOW_SECONDS) -> T:
    """`found()`, once it is something (polled until a deadline, as `harness.wait_for`)."""
    value = wait_for(found, timeout=timeout, what=what)
    assert value is not None
    return value


@dataclass(frozen=True)
class Snapshot:
    """What the API answered the moment the sandbox said it was ready."""

    state: Json
    stripe: Json
    audit: Json


class SandboxProcess:
    """One `python -m bot sandbox` process, and an HTTP client for its API."""

    def __init__(self, root: Path, folder: Path) -> None:
        self.folder = folder
        self.cwd = root / "cwd"  # empty: no .env or policy is found by accident
        self.cwd.mkdir(exist_ok=True)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.stdout = root / f"sandbox-{self.port}.out"
        self.stderr = root / f"sandbox-{self.port}.err"
        self.http = httpx.Client(base_url=self.url, timeout=30)
        self.process: subprocess.Popen[bytes] | None = None
        self._initial: Snapshot | None = None

    # -- life -------------------------------------------------------------------------------

    def start(self) -> SandboxProcess:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("SLACK_", "STRIPE_", "EMPIRE_", "DATABASE_"))
        }
        env["PYTHONPATH"] = str(REPO)
        command = [sys.executable, "-m", "bot", "sandbox", "--port", str(self.port)]
        with self.stdout.open("ab") as out, self.stderr.open("ab") as err:
            self.process = subprocess.Popen(
                [*command, "--folder", str(self.folder)],
                cwd=self.cwd,
                env=env,
                stdout=out,
                stderr=err,
            )
        try:
            wait_for(self._ready, timeout=START_SECONDS, what="the sandbox to be ready")
        except TimeoutError:
            raise RuntimeError(f"empire sandbox was not ready:\n{self.logs()}") from None
        self._initial = Snapshot(self.state(RILEY), self.stripe(), self.audit())
        return self

    def _ready(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise RuntimeError(f"empire sandbox exited:\n{self.logs()}")
        try:
            response = self.http.get("/sandbox/api/state", params={"as": RILEY})
        except httpx.TransportError:
            return False
        return response.status_code == 200 and response.json()["ready"] is True

    @property
    def initial(self) -> Snapshot:
        assert self._initial is not None, "not started"
        return self._initial

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self.http.close()

    def logs(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in (self.stdout, self.stderr))

    # -- reads ------------------------------------------------------------------------------

    def get_json(self, path: str, **params: str) -> Json:
        response = self.http.get(path, params=params)
        assert response.status_code == 200, response.text
        assert response.headers["cache-control"] == "no-store"
        found: Json = response.json()
        return found

    def state(self, user: str) -> Json:
        return self.get_json("/sandbox/api/state", **{"as": user})

    def stripe(self) -> Json:
        return self.get_json("/sandbox/api/stripe")

    def audit(self) -> Json:
        return self.get_json("/sandbox/api/audit")

    def messages(self, channel: str, user: str = FRAN) -> list[Json]:
        for found in self.state(user)["channels"]:
            if found["id"] == channel:
                return list(found["messages"])
        raise AssertionError(f"no channel {channel}")

    def ephemerals(self, user: str) -> list[Json]:
        return list(self.state(user)["ephemerals"])

    def card(self, request_id: int, user: str = FRAN) -> Json | None:
        for message in self.messages(APPROVALS, user):
            if re.search(rf"#{request_id}:", message["text"]):
                return message
        return None

    def card_saying(self, request_id: int, words: str, timeout: float = FLOW_SECONDS) -> Json:
        def current() -> Json | None:
            found = self.card(request_id)
            return found if found is not None and words in card_text(found) else None

        return poll(current, f"#{request_id} to say {words!r}", timeout)

    def ephemeral_saying(self, user: str, words: str, after: int = 0) -> Json:
        def current() -> Json | None:
            return next((e for e in self.ephemerals(user)[after:] if words in e["text"]), None)

        return poll(current, f"{user} to be told {words!r}")

    def notified(self, *words: str, timeout: float = FLOW_SECONDS) -> Json:
        def current() -> Json | None:
            return next(
                (
                    m
                    for m in self.messages(NOTIFICATIONS)
                    if all(word in m["text"] for word in words)
                ),
                None,
            )

        return poll(current, f"a notification saying {words}", timeout)

    def invoice(self, customer: str, amount: str) -> Json | None:
        found = [
            i
            for i in self.stripe()["invoices"]
            if (i["customer"], i["amount"]) == (customer, amount)
        ]
        assert len(found) <= 1, found
        return found[0] if found else None

    # -- writes -----------------------------------------------------------------------------

    def post(self, path: str, body: Any) -> httpx.Response:
        return self.http.post(path, json=body)

    def act(self, path: str, body: Json) -> Json:
        response = self.post(path, body)
        assert response.status_code == 200, response.text
        answer: Json = response.json()
        return answer

    def command(self, user: str, text: str, channel: str = APPROVALS) -> Json:
        return self.act("/sandbox/api/command", {"as": user, "channel": channel, "text": text})

    def ask(self, text: str, user: str = RILEY) -> int:
        """`/empire <text>` typed by `user`, answered to them alone; the new request's number,
        once its card is in #approvals."""
        before = len(self.ephemerals(user))
        assert self.command(user, f"/empire {text}") == {"ok": True}
        said = self.ephemeral_saying(user, "Request #", after=before)["text"]
        found = re.search(r"#(\d+)", said)
        assert found, said
        request_id = int(found.group(1))
        self.card_saying(request_id, f"#{request_id}")
        # At once, or once Stripe was asked: how many approvals it waits for, and from whom.
        self.ephemeral_saying(user, f"Request #{request_id} is waiting for", after=before)
        return request_id

    def click(self, user: str, request_id: int, action_id: str) -> Json:
        card = self.card(request_id, user)
        assert card is not None, f"no card #{request_id}"
        block, button = find_button(card, action_id)
        return self.act(
            "/sandbox/api/click",
            {
                "as": user,
                "channel": APPROVALS,
                "ts": card["ts"],
                "action_id": action_id,
                "value": button["value"],
                "block_id": block["block_id"],
            },
        )

    def submit(self, user: str, view_id: str, values: dict[str, dict[str, str]]) -> Json:
        return self.act("/sandbox/api/submit", {"as": user, "view_id": view_id, "values": values})

    def close(self, user: str, view_id: str) -> Json:
        return self.act("/sandbox/api/close", {"as": user, "view_id": view_id})

    def pay(self, invoice_id: str) -> Json:
        return self.act("/sandbox/api/stripe/pay", {"invoice": invoice_id})


def find_button(card: Json, action_id: str) -> tuple[Json, Json]:
    for block in card["blocks"]:
        for element in block.get("elements") or []:
            if element.get("type") == "button" and element.get("action_id") == action_id:
                return block, element
    raise AssertionError(f"no {action_id} button on {card['text']!r}")


def buttons(card: Json) -> list[str]:
    return [
        element["text"]["text"]
        for block in card["blocks"]
        if block["type"] == "actions"
        for element in block["elements"]
    ]
