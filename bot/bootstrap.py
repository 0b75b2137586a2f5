"""The composition root: one Settings object in, the running parts out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from starlette.applications import Starlette
from starlette.types import ASGIApp

from bot.api.app import CALLBACKS, ApiDeps, build_api
from bot.api.callbacks import CallbackSender
from bot.foreground import Foreground
from bot.listeners import ListenerDeps
from bot.policy_holder import PolicyHolder
from bot.replies import Replies
from bot.revenue_desk import RevenueDesk
from bot.settings import Settings, secret
from bot.slack_app import build_bolt_app
from bot.slack_directory import SlackDirectory
from bot.slack_sync import SlackSync
from bot.web import Endpoint, build_web_app
from bot.workers import EXECUTE, EXPIRE, PREPARE, SLACK, Loop, Workers
from governance import audit_witness, vault
from governance.executor import Executor, process_owner
from governance.policy import Policy, load_policy
from governance.ports import PaymentGateway
from governance.reconcile import reconcile
from governance.schedule import Job, daily_at
from governance.service import Governance
from governance.timers import Timers
from integrations.stripe_gateway import StripeGateway
from integrations.unconfigured import UnconfiguredGateway
from storage.db import checkpoint, make_engine, make_session_factory, read_only
from storage.types import utcnow

RECONCILE = "reconcile"
GROUPS_REFRESH = 300.0  # seconds between lookups of the Slack user groups the policy names
# The first daily run looks back this far; later runs from the previous run, with overlap.
FIRST_LOOK_BACK = timedelta(days=7)
OVERLAP = timedelta(hours=1)


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
    policy: PolicyHolder


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
    settings: Settings,
    policy: Policy | None = None,
    signing_key: bytes | None = None,
    api_pepper: bytes | None = None,
) -> Container:
    """The running parts; the REST API is served only when `api_pepper` is given."""
    engine = make_engine(settings.DATABASE_URL)
    sessions = make_session_factory(engine)
    policy = policy or load_policy(settings.EMPIRE_POLICY_FILE)
    client = slack_client(settings)
    directory = SlackDirectory(client)
    holder = PolicyHolder(
        settings.EMPIRE_POLICY_FILE, policy, sessions, directory, settings.EMPIRE_CURRENCY
    )
    governance = Governance(sessions, holder, directory=directory)
    gateway = payment_gateway(settings)
    foreground = Foreground()
    give_way = foreground.give_way
    executor = Executor(sessions, gateway, give_way=give_way, signing_key=signing_key)
    approvals = settings.EMPIRE_APPROVALS_CHANNEL or ""
    # The Slack loop is made below, and needs the desk's charts; the desk wakes it.
    desk = RevenueDesk(sessions, lambda: slack_loop.wake(), utcnow)
    sync = SlackSync(
        sessions, client, approvals, settings.notify_channel or approvals, give_way, desk.charts
    )

    reconciliation = Job(
        sessions,
        RECONCILE,
        lambda last_run: reconcile_since(sessions, gateway, last_run),
        daily_at(settings.EMPIRE_RECONCILE_HOUR),
        process_owner(),
        clock=utcnow,
    )

    checkpoints = Job(
        sessions,
        audit_witness.JOB,
        lambda _last_run: audit_witness.take_checkpoint(sessions, utcnow),
        audit_witness.every(settings.EMPIRE_AUDIT_CHECKPOINT_EVERY),
        process_owner(),
        clock=utcnow,
    )

    rotation_reminders = Job(
        sessions,
        vault.JOB,
        lambda _last_run: vault.Vault(sessions, [], utcnow).remind(),
        daily_at(settings.EMPIRE_RECONCILE_HOUR),
        process_owner(),
        clock=utcnow,
    )

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
            Loop(EXPIRE, Timers(sessions, utcnow).run, 5.0, slack_loop.wake, give_way),
            Loop("checkpoint", lambda: checkpoint(engine), 2.0, give_way=give_way),
            Loop(RECONCILE, reconciliation.run_if_due, 60.0, slack_loop.wake, give_way),
            Loop("policy", holder.check, 5.0, slack_loop.wake, give_way),
            Loop("user-groups", holder.refresh_groups, GROUPS_REFRESH, give_way=give_way),
            Loop(
                audit_witness.JOB,
                checkpoints.run_if_due,
                min(60.0, settings.EMPIRE_AUDIT_CHECKPOINT_EVERY.total_seconds()),
                slack_loop.wake,
                give_way,
            ),
            Loop(vault.JOB, rotation_reminders.run_if_due, 60.0, slack_loop.wake, give_way),
            slack_loop,
        ]
        + (
            [Loop(CALLBACKS, CallbackSender(sessions, api_pepper).run_once, 2.0)]
            if api_pepper
            else []
        )
    )
    deps = ListenerDeps(
        governance=governance,
        replies=Replies(sessions, workers.wake),
        wake=workers.wake,
        currency=settings.EMPIRE_CURRENCY,
        approvals_channel=approvals,
        reads=read_only(sessions),
        revenue=desk,
        clock=utcnow,
        policy=holder,
        directory=directory,
    )
    bolt = build_bolt_app(client, secret(settings.SLACK_SIGNING_SECRET), deps)
    api = None
    if api_pepper:
        pepper = api_pepper

        def api(webhook: Endpoint) -> ASGIApp:
            deps = ApiDeps(
                sessions,
                governance,
                pepper,
                settings.EMPIRE_CURRENCY,
                workers.wake,
                stripe_webhook=webhook,
                foreground=foreground,
            )
            return build_api(deps)

    web = build_web_app(
        bolt, sessions, secret(settings.STRIPE_WEBHOOK_SECRET), gateway, workers, foreground, api
    )
    return Container(settings, engine, sessions, governance, workers, client, bolt, web, holder)


def reconcile_since(
    sessions: sessionmaker[Session], gateway: PaymentGateway, last_run: datetime | None
) -> dict[str, Any]:
    since = last_run - OVERLAP if last_run else utcnow() - FIRST_LOOK_BACK
    result = reconcile(sessions, gateway, since=since)
    return {"checked": result.checked, "findings": len(result.findings), "new": len(result.new)}


def deliver_notifications(settings: Settings, sessions: sessionmaker[Session]) -> None:
    """Post what the outbox holds now, for commands that run without `empire serve`."""
    approvals = settings.EMPIRE_APPROVALS_CHANNEL or ""
    sync = SlackSync(sessions, slack_client(settings), approvals, settings.notify_channel or "")
    while sync.deliver_outbox():
        pass
