"""`empire serve`: check settings and policy, migrate, start the workers, serve HTTP."""

from __future__ import annotations

import logging
import signal
from collections.abc import Callable
from types import FrameType

import uvicorn

from bot.api.pepper import PepperError, api_pepper
from bot.bootstrap import Container, build
from bot.settings import Settings, secret
from bot.signing_key import SigningKeyError, signing_key
from bot.vault_settings import VaultSettingError, resolve
from governance.policy import PolicyFileError, load_policy
from storage.db import make_engine, make_session_factory
from storage.migrate import upgrade

log = logging.getLogger(__name__)
ACTOR = "empire serve"  # who reads the vault secrets the settings name


class ServeError(Exception):
    """A reason not to start, said in one line."""


def run(
    settings: Settings, host: str, port: int, extend: Callable[[Container], None] | None = None
) -> None:
    """`extend`, given the built container before it serves, adds to it (the sandbox's
    page and local platforms)."""
    missing = settings.missing_for_serve()
    if missing:
        raise ServeError(f"missing settings: {', '.join(missing)}")
    policy_path = settings.EMPIRE_POLICY_FILE
    if not policy_path.exists():
        raise ServeError(
            f"EMPIRE_POLICY_FILE: {policy_path} not found (`empire init` writes a starter)"
        )
    try:
        policy = load_policy(policy_path)
    except PolicyFileError as exc:
        more = f" (and {len(exc.issues) - 1} more)" if len(exc.issues) > 1 else ""
        raise ServeError(f"EMPIRE_POLICY_FILE: {exc.issues[0]}{more}") from None
    try:
        engine = make_engine(settings.DATABASE_URL)
        upgrade(engine)
    except Exception as exc:
        # One line, and never the URL itself: it may hold a password.
        raise ServeError(f"DATABASE_URL: cannot open the database: {type(exc).__name__}") from None
    try:  # settings naming a vault secret (`vault:<name>`) get its value
        settings = resolve(settings, make_session_factory(engine), ACTOR)
    except VaultSettingError as exc:
        raise ServeError(str(exc)) from None
    finally:
        engine.dispose()
    try:
        key = signing_key(settings, create=True)
        pepper = api_pepper(settings, create=True)
    except (SigningKeyError, PepperError, OSError) as exc:
        raise ServeError(str(exc)) from None
    container = build(settings, policy, key, pepper)
    if extend is not None:
        extend(container)
    container.policy.start()  # recorded (a change since the last run announced), groups read
    container.workers.start()
    socket_mode = None
    if settings.SLACK_APP_TOKEN is not None:
        from slack_bolt.adapter.socket_mode import SocketModeHandler

        socket_mode = SocketModeHandler(
            container.bolt, secret(settings.SLACK_APP_TOKEN), web_client=container.client
        )
        socket_mode.connect()  # type: ignore[no-untyped-call]
        log.info("Slack Socket Mode connected")
    # uvicorn stops on SIGTERM and then raises the signal again; ending with SystemExit
    # instead lets the workers below finish their step and stop.
    signal.signal(signal.SIGTERM, _exit_cleanly)
    try:
        uvicorn.run(container.web, host=host, port=port, log_level="warning", lifespan="off")
    finally:
        if socket_mode is not None:
            socket_mode.close()  # type: ignore[no-untyped-call]
        container.workers.stop()


def _exit_cleanly(_signal: int, _frame: FrameType | None) -> None:
    raise SystemExit(0)
