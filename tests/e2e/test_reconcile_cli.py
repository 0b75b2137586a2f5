"""`empire reconcile` as a person runs it: against the fake Stripe, posting to the fake Slack."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
import stripe

from integrations.local.slack.server import FakeSlack
from integrations.local.stripe.server import FakeStripe
from tests.e2e.flows import invoice_paid
from tests.e2e.harness import NOTIFY_CHANNEL, ServeProcess, serve_env

pytestmark = pytest.mark.e2e


def empire_reconcile(
    env: dict[str, str], cwd: Path, *args: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", "reconcile", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
def env(
    database_url: str, tmp_path: Path, fake_slack: FakeSlack, fake_stripe: FakeStripe
) -> dict[str, str]:
    return serve_env(database_url, tmp_path, fake_slack.api_url, fake_stripe.url)


def dashboard(fake_stripe: FakeStripe) -> stripe.StripeClient:
    return stripe.StripeClient(
        fake_stripe.api_key,
        base_addresses={"api": fake_stripe.url},
        http_client=stripe.HTTPXClient(timeout=5, allow_sync_methods=True),
        max_network_retries=0,
    )


def unapproved_posts(fake_slack: FakeSlack) -> list[str]:
    texts = [str(m.get("text", "")) for m in fake_slack.messages(NOTIFY_CHANNEL)]
    return [text for text in texts if "Not approved here" in text]


def test_a_clean_account_is_ok(
    env: dict[str, str], tmp_path: Path, fake_slack: FakeSlack, fake_stripe: FakeStripe
) -> None:
    result = empire_reconcile(env, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1, result.stdout
    assert lines[0].startswith("OK: 0 objects in Stripe since ")
    assert lines[0].endswith("0 without an approved request (0 new)")
    assert fake_slack.messages(NOTIFY_CHANNEL) == []


def test_a_dashboard_refund_is_printed_posted_once_and_fails_the_command(
    bot: ServeProcess,
    env: dict[str, str],
    tmp_path: Path,
    fake_slack: FakeSlack,
    fake_stripe: FakeStripe,
) -> None:
    invoice_id = invoice_paid(bot, fake_slack, fake_stripe, amount="$800")
    fake_stripe.wait_for_deliveries()
    bot.stop()  # from here on only the command posts to Slack

    approved_only = empire_reconcile(env, tmp_path, "--days", "2")
    assert approved_only.returncode == 0, approved_only.stdout + approved_only.stderr
    assert approved_only.stdout.startswith("OK: 1 object in Stripe since ")

    client = dashboard(fake_stripe)
    payments = client.v1.invoice_payments.list(params={"invoice": invoice_id, "status": "paid"})
    intent = payments.data[0].payment.payment_intent
    assert isinstance(intent, str)
    refund = client.v1.refunds.create(params={"payment_intent": intent, "amount": 12_500})
    customer = str(fake_stripe.get(invoice_id)["customer"])

    first = empire_reconcile(env, tmp_path)
    assert first.returncode == 1, first.stdout + first.stderr
    lines = first.stdout.strip().splitlines()
    assert len(lines) == 2, first.stdout
    assert lines[0].startswith(f"Refund made without an approved request: {refund.id} · $125.00")
    assert f"customer {customer}" in lines[0]
    assert lines[1].startswith("DIFFERENCES: 2 objects in Stripe since ")
    assert lines[1].endswith("1 without an approved request (1 new)")
    posts = unapproved_posts(fake_slack)
    assert len(posts) == 1, posts
    assert "<!here>" in posts[0]
    assert refund.id in posts[0]
    assert "$125.00" in posts[0]

    second = empire_reconcile(env, tmp_path)
    assert second.returncode == 1
    assert second.stdout.strip().splitlines()[0] == lines[0]
    assert "1 without an approved request (0 new)" in second.stdout
    assert len(unapproved_posts(fake_slack)) == 1


def test_without_a_stripe_key_it_stops_with_one_line(
    env: dict[str, str], tmp_path: Path, fake_stripe: FakeStripe
) -> None:
    del env["STRIPE_API_KEY"]
    result = empire_reconcile(env, tmp_path)
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "STRIPE_API_KEY" in lines[0]
    assert fake_stripe.calls() == []


def test_a_stripe_outage_stops_with_one_line_and_code_two(
    env: dict[str, str], tmp_path: Path, fake_slack: FakeSlack, fake_stripe: FakeStripe
) -> None:
    fake_stripe.fail_next("GET", "/v1/refunds", status=500, times=10)
    result = empire_reconcile(env, tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert lines == ["empire: Stripe: Stripe could not list recent refunds just now (HTTP 500)."]
    assert fake_slack.messages(NOTIFY_CHANNEL) == []


def test_a_post_slack_refused_is_made_by_the_next_run(
    env: dict[str, str], tmp_path: Path, fake_slack: FakeSlack, fake_stripe: FakeStripe
) -> None:
    client = dashboard(fake_stripe)
    customer = client.v1.customers.create(params={"email": "bea@example.com"})
    invoice = client.v1.invoices.create(
        params={"customer": customer.id, "collection_method": "send_invoice", "days_until_due": 7}
    )
    fake_slack.fail_next("chat.postMessage", error="internal_error", status=500, times=1)
    first = empire_reconcile(env, tmp_path)
    assert first.returncode == 1, first.stdout + first.stderr
    assert f"Invoice created without an approved request: {invoice.id}" in first.stdout
    assert "(1 new)" in first.stdout
    assert unapproved_posts(fake_slack) == []

    time.sleep(1.1)  # the outbox's first back-off
    second = empire_reconcile(env, tmp_path)
    assert second.returncode == 1
    assert "(0 new)" in second.stdout
    posts = unapproved_posts(fake_slack)
    assert len(posts) == 1, posts
    assert invoice.id in posts[0]
