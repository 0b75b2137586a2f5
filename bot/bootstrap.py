"""The composition root: one Settings object in, the running parts out."""

from __future__ import annotations

from dataclasses import dataclass

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from starlette.applications import Starlette

from bot.foreground import Foreground
from bot.listeners import ListenerDeps
from bot.replies import Replies
from bot.settings import Settings, secret
from bot.slack_app import build_bolt_app
from bot.slack_sync import SlackSync
from bot.web import build_web_app
from bot.workers import EXECUTE, EXPIRE, PREPARE, SLACK, Loop, Workers
from governance.executor import Executor
from governance.policy import Policy, load_policy
from governance.ports import PaymentGateway
from governance.service import Governance
from integrations.stripe_gateway import StripeGateway
from integrations.unconfigured import UnconfiguredGateway
from storage.db import checkpoint, make_engine, make_session_factory


@dataclass
class Container:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    governance: Governance
    workers: Workers
    client: WebClient
    bolt: App
    web: Starlette


def slack_client(settings: Settings) -> WebClient:
    client = WebClient(token=secret(settings.SLACK_BOT_TOKEN), base_url=settings.SLACK_API_URL)
    # No retry on Slack's 5xx: chat.postMessage may have posted before failing, and the
    # workers try again on their next pass anyway. A rate limit refused the call: retry.
    client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=2))
    return client


def payment_gateway(settings: Settings) -> PaymentGateway:
    if settings.STRIPE_API_KEY is None:
        return UnconfiguredGateway()
    return StripeGateway(secret(settings.STRIPE_API_KEY), settings.STRIPE_API_BASE)


def build(
    settings: Settings, policy: Policy | None = None, signing_key: bytes | None = None
) -> Container:
    engine = make_engine(settings.DATABASE_URL)
    sessions = make_session_factory(engine)
    policy = policy or load_policy(settings.EMPIRE_POLICY_FILE)
    governance = Governance(sessions, lambda: policy)
    gateway = payment_gateway(settings)
    foreground = Foreground()
    give_way = foreground.give_way
    executor = Executor(sessions, gateway, give_way=give_way, signing_key=signing_key)
    client = slack_client(settings)
    approvals = settings.EMPIRE_APPROVALS_CHANNEL or ""
    sync = SlackSync(sessions, client, approvals, settings.notify_channel or approvals, give_way)

    def prepare_all() -> int:
        waiting = governance.awaiting_preparation()
        for request_id in waiting:
            governance.prepare(request_id, gateway)
        return len(waiting)

    slack_loop = Loop(SLACK, sync.run_once, 2.0, give_way=give_way)
    # Loops that change requests wake the Slack loop, so cards follow at once.
    workers = Workers(
        [
            Loop(PREPARE, prepare_all, 1.0, slack_loop.wake, give_way),
            Loop(EXECUTE, executor.run_ready, 1.0, slack_loop.wake, give_way),
            Loop(EXPIRE, lambda: len(governance.expire_due()), 5.0, slack_loop.wake, give_way),
            Loop("checkpoint", lambda: checkpoint(engine), 2.0, give_way=give_way),
            slack_loop,
        ]
    )
    deps = ListenerDeps(
        governance=governance,
        replies=Replies(sessions, workers.wake),
        wake=workers.wake,
        currency=settings.EMPIRE_CURRENCY,
        approvals_channel=approvals,
    )
    bolt = build_bolt_app(client, secret(settings.SLACK_SIGNING_SECRET), deps)
    web = build_web_app(bolt, sessions, secret(settings.STRIPE_WEBHOOK_SECRET), workers, foreground)
    return Container(settings, engine, sessions, governance, workers, client, bolt, web)
