"""The REST API against `empire serve` as a process, with the fake Slack and Stripe.

A token made with the CLI asks for an invoice; the card in Slack says which API client
asked; a finance person approves it with a signed click; the API shows it executed; the
callback URL receives the signed outcome.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from bot.api.callbacks import verify
from integrations.local.slack.server import FakeSlack
from integrations.local.stripe.server import FakeStripe
from tests.e2e.flows import card_saying, click
from tests.e2e.harness import ServeProcess, card_for, card_text, wait_for

pytestmark = pytest.mark.e2e
API = "/api/business"
INVOICE = {"client": "acme@example.com", "amount": "$1,200", "description": "Audit of the shop"}


@dataclass
class Received:
    posts: list[tuple[dict[str, str], bytes]] = field(default_factory=list)


@pytest.fixture
def callback_server() -> Iterator[tuple[str, Received]]:
    received = Received()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            received.posts.append((dict(self.headers.items()), self.rfile.read(length)))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/outcomes", received
    server.shutdown()
    server.server_close()


def cli(bot: ServeProcess, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=bot.folder,
        env=bot.env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def make_token(bot: ServeProcess, name: str, scopes: str) -> tuple[str, str]:
    made = cli(bot, "api-token", "create", name, "--scopes", scopes)
    assert made.returncode == 0, made.stderr
    lines = dict(line.split(": ", 1) for line in made.stdout.splitlines() if ": " in line)
    return lines["token"], lines["callback secret"]


def bearer(token: str, **more: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **more}


def audit_kinds(bot: ServeProcess) -> list[dict[str, Any]]:
    exported = cli(bot, "audit", "export")
    assert exported.returncode == 0, exported.stderr
    return [json.loads(line) for line in exported.stdout.splitlines()]


def test_an_api_invoice_is_approved_in_slack_and_its_outcome_called_back(
    bot: ServeProcess,
    fake_slack: FakeSlack,
    fake_stripe: FakeStripe,
    callback_server: tuple[str, Received],
) -> None:
    url, received = callback_server
    token, secret = make_token(bot, "crm-e2e", "payments:write,actions:read")
    listed = cli(bot, "api-token", "list")
    assert "crm-e2e" in listed.stdout
    assert token not in listed.stdout
    assert token[:12] in listed.stdout

    answer = bot.http.post(
        f"{API}/payments/invoice",
        json={**INVOICE, "callback_url": url},
        headers=bearer(token, **{"Idempotency-Key": "e2e-1"}),
    )
    assert answer.status_code == 202, answer.text
    request_id = answer.json()["request_id"]
    status_url = answer.json()["status_url"]
    assert status_url == f"{API}/actions/{request_id}"

    card = wait_for(lambda: card_for(fake_slack, request_id), what="the card")
    assert "Requested by API client `crm-e2e`" in card_text(card)

    click(bot, fake_slack, request_id, "approve", "U0FIN1")
    card_saying(fake_slack, request_id, "Executed")

    def executed() -> dict[str, Any] | None:
        view = bot.http.get(status_url, headers=bearer(token)).json()
        return view if view["state"] == "succeeded" else None

    view = wait_for(executed, what="the request to succeed")
    invoice_id = str(fake_stripe.objects("invoice")[0]["id"])
    assert view["result"]["object_id"] == invoice_id
    assert view["result"]["invoice"] == invoice_id
    assert [approval["user_id"] for approval in view["approvals"]] == ["U0FIN1"]
    assert view["requester"] == "api:crm-e2e"

    wait_for(lambda: received.posts, what="the callback")
    headers, body = received.posts[0]
    assert verify(secret, body, headers["Empire-Signature"])
    outcome = json.loads(body)
    assert outcome["state"] == "succeeded"
    assert outcome["request_id"] == request_id
    assert outcome["result"]["object_id"] == invoice_id

    replay = bot.http.post(
        f"{API}/payments/invoice",
        json={**INVOICE, "callback_url": url},
        headers=bearer(token, **{"Idempotency-Key": "e2e-1"}),
    )
    assert replay.status_code == 202
    assert replay.json()["request_id"] == request_id
    assert len(fake_stripe.objects("invoice")) == 1

    schema = bot.http.get(f"{API}/openapi.json")
    assert schema.status_code == 200
    assert "/payments/invoice" in schema.json()["paths"]


def test_every_bad_input_is_refused_and_only_refusals_are_audited(bot: ServeProcess) -> None:
    writer, _ = make_token(bot, "writer", "payments:write")
    reader, _ = make_token(bot, "reader", "actions:read")
    before = len(audit_kinds(bot))

    assert bot.http.post(f"{API}/payments/invoice", json=INVOICE).status_code == 401
    assert (
        bot.http.post(
            f"{API}/payments/invoice", json=INVOICE, headers=bearer("emp_" + "x" * 43)
        ).status_code
        == 401
    )
    assert (
        bot.http.post(f"{API}/payments/invoice", json=INVOICE, headers=bearer(reader)).status_code
        == 403
    )
    malformed = bot.http.post(
        f"{API}/payments/invoice", json={**INVOICE, "amount": "12.345"}, headers=bearer(writer)
    )
    assert malformed.status_code == 422
    assert malformed.json()["detail"][0]["loc"] == ["body", "amount"]
    too_big = bot.http.post(
        f"{API}/payments/invoice",
        content=b"{" + b" " * (70 * 1024) + b"}",
        headers=bearer(writer, **{"Content-Type": "application/json"}),
    )
    assert too_big.status_code == 413
    key = bearer(writer, **{"Idempotency-Key": "k-1"})
    first = bot.http.post(f"{API}/payments/invoice", json=INVOICE, headers=key)
    assert first.status_code == 202
    conflict = bot.http.post(
        f"{API}/payments/invoice", json={**INVOICE, "amount": "99"}, headers=key
    )
    assert conflict.status_code == 409
    assert bot.http.get(f"{API}/fiverr/orders", headers=bearer(reader)).status_code == 501
    assert (
        bot.http.post(f"{API}/marketplace/search", json={}, headers=bearer(reader)).status_code
        == 501
    )

    listed = bot.http.get(f"{API}/actions", headers=bearer(reader)).json()["actions"]
    assert [view["request_id"] for view in listed] == [first.json()["request_id"]]

    added = audit_kinds(bot)[before:]
    refused = [
        (entry["actor"], entry["payload"]["status"])
        for entry in added
        if entry["kind"] == "api.refused"
    ]
    assert refused == [
        ("api:reader", 403),
        ("api:writer", 422),
        ("api:writer", 413),
        ("api:writer", 409),
    ]
    others = {entry["kind"] for entry in added if entry["kind"] != "api.refused"}
    assert others <= {"request.submitted", "request.pending"}

    assert cli(bot, "api-token", "revoke", "writer").returncode == 0
    assert (
        bot.http.post(f"{API}/payments/invoice", json=INVOICE, headers=bearer(writer)).status_code
        == 401
    )
    assert cli(bot, "api-token", "revoke", "nobody").returncode == 1
