"""`empire sandbox`: start the local Slack and Stripe, then serve the bot against them.

The bot is `empire serve` itself (same checks, migrations, workers and routes) with the
sandbox page added to its HTTP server. Each start begins afresh: the local Stripe keeps
nothing, so the sandbox database is made new to match; the policy file is kept, so a
team can try its changes.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from importlib import resources
from pathlib import Path

import httpx
from pydantic import SecretStr

from bot import serve
from bot.bootstrap import Container
from bot.sandbox import people
from bot.sandbox.relay import SlackRelay
from bot.sandbox.routes import Sandbox, routes
from bot.sandbox.seed import seed
from bot.settings import Settings
from integrations.local.server import BackgroundServer
from integrations.local.slack import workspace as ws
from integrations.local.slack.server import FakeSlack
from integrations.local.stripe.server import FakeStripe

log = logging.getLogger(__name__)
DATABASE = "sandbox.db"
STARTUP_SECONDS = 30.0
LOOPBACK = ("127.0.0.1", "localhost", "::1")


def local_url(host: str, port: int) -> str:
    """Where this machine reaches a server listening on `host`."""
    if host in ("::", "::1"):
        return f"http://[::1]:{port}"
    if host in ("0.0.0.0", "localhost", "127.0.0.1"):  # noqa: S104 (a comparison)
        return f"http://127.0.0.1:{port}"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def sample_policy() -> str:
    return (resources.files("bot") / "templates" / "sandbox-policy.yml").read_text("utf-8")


def run(folder: Path, host: str, port: int, policy: Path | None = None) -> None:
    if host not in LOOPBACK:
        # The page lets whoever reaches it act as anyone in the sample workspace.
        log.warning("the sandbox is listening on %s: anyone who can reach it can use it", host)
    folder.mkdir(parents=True, exist_ok=True)
    if policy is None:
        policy = folder / "policy.yml"
        if not policy.exists():
            policy.write_text(sample_policy(), encoding="utf-8")
    for stale in folder.glob(f"{DATABASE}*"):  # the database, its WAL and journal
        stale.unlink()
    slack = FakeSlack(users=people.slack_users(), channels=people.CHANNELS)
    slack_server = BackgroundServer(slack.app).start()
    slack.url = slack_server.url
    stripe = FakeStripe().start()
    webhook_secret = "whsec_" + secrets.token_hex(16)
    own = local_url(host, port)  # the bot, as the local platforms reach it
    stripe.add_webhook_endpoint(f"{own}/stripe/webhook", webhook_secret)
    relay = SlackRelay(slack, f"{own}/slack/events", ws.SIGNING_SECRET)
    settings = Settings(
        _env_file=None,  # a real .env must not leak in
        DATABASE_URL=f"sqlite:///{(folder / DATABASE).resolve()}",
        SLACK_BOT_TOKEN=SecretStr(ws.BOT_TOKEN),
        SLACK_SIGNING_SECRET=SecretStr(ws.SIGNING_SECRET),
        SLACK_APP_TOKEN=None,
        SLACK_API_URL=slack.api_url,
        EMPIRE_APPROVALS_CHANNEL=people.APPROVALS,
        EMPIRE_NOTIFY_CHANNEL=people.NOTIFICATIONS,
        EMPIRE_POLICY_FILE=policy,
        STRIPE_API_KEY=SecretStr(stripe.api_key),
        STRIPE_API_BASE=stripe.url,
        STRIPE_WEBHOOK_SECRET=SecretStr(webhook_secret),
        EMPIRE_SIGNING_KEY=SecretStr(secrets.token_hex(32)),
        EMPIRE_API_PEPPER=SecretStr(secrets.token_hex(32)),
    )

    def extend(container: Container) -> None:
        sandbox = Sandbox(slack, stripe, relay, container.sessions)
        container.web.router.routes[0:0] = routes(sandbox)
        threading.Thread(target=_seed_when_up, args=(own, sandbox), daemon=True).start()

    try:
        serve.run(settings, host, port, extend)
    finally:
        relay.close()
        stripe.stop()
        slack_server.stop()


def _seed_when_up(own: str, sandbox: Sandbox) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{own}/healthz", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    try:
        seed(sandbox.slack, sandbox.stripe, sandbox.relay)
    except Exception as exc:  # the sandbox still serves: say why the history is short
        log.error("the sample history stopped: %s", exc)
    finally:
        sandbox.ready.set()  # the page works either way
    log.info("sandbox ready: open %s/ in a browser", own)
