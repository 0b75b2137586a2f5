"""`empire secrets …`: the vault from the command line.

Values are read from stdin when it is piped, else from a hidden prompt (asked twice);
never from the command's arguments, which other users of the machine can see. Every read
and change is access-logged as `cli:<os user>`.
"""

from __future__ import annotations

import getpass
import sys
from datetime import timedelta
from typing import Annotated

import typer
from pydantic import SecretStr
from sqlalchemy.orm import Session, sessionmaker

from bot.master_key import (
    KEY_FILE,
    PENDING_FILE,
    SETTING,
    MasterKeyError,
    configured_key,
    master_keys,
    pending_key,
    read_key_file,
    write_key_file,
)
from bot.settings import Settings
from governance.vault import MasterKey, SecretInfo, Vault, VaultError, VaultKeyError
from storage.types import utcnow

secrets_app = typer.Typer(
    help="The secrets vault: credentials encrypted under the master key.", no_args_is_help=True
)


def actor() -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"cli:{user}"


def _fail(message: str, code: int = 1) -> typer.Exit:
    from bot.cli import fail

    return fail(message, code)


def _settings() -> Settings:
    from bot.cli import load_settings

    return load_settings()


def _sessions(settings: Settings) -> sessionmaker[Session]:
    from storage.db import make_engine, make_session_factory, shown_url
    from storage.migrate import upgrade

    engine = make_engine(settings.DATABASE_URL)
    try:
        upgrade(engine)
    except Exception as exc:
        where = shown_url(settings.DATABASE_URL)
        raise _fail(f"DATABASE_URL: cannot migrate {where}: {type(exc).__name__}", 2) from None
    return make_session_factory(engine)


def _keys(settings: Settings) -> list[MasterKey]:
    try:
        return master_keys(settings)
    except MasterKeyError as exc:
        raise _fail(str(exc), 2) from None


def resolved(settings: Settings, sessions: sessionmaker[Session]) -> Settings:
    """The settings with their `vault:` references read, for commands that use them."""
    from bot.vault_settings import VaultSettingError, resolve

    try:
        return resolve(settings, sessions, actor())
    except VaultSettingError as exc:
        raise _fail(str(exc), 2) from None


def stdin_is_piped() -> bool:
    return not sys.stdin.isatty()


def read_value(what: str) -> SecretStr:
    """A value from piped stdin (one trailing newline dropped), else a hidden prompt."""
    if stdin_is_piped():
        text = sys.stdin.read()
        text = text[:-1] if text.endswith("\n") else text
        text = text[:-1] if text.endswith("\r") else text
        if not text:
            raise _fail(f"no {what} on stdin")
        return SecretStr(text)
    value = typer.prompt(what.capitalize(), hide_input=True, confirmation_prompt=True)
    return SecretStr(str(value))


def _ago(span: timedelta) -> str:
    days = span.days
    if days >= 1:
        return f"{days}d"
    return f"{max(0, int(span.total_seconds() // 3600))}h"


def _when(info: SecretInfo) -> str:
    due = f"{info.next_rotation:%Y-%m-%d}"
    return f"OVERDUE since {due}" if info.overdue else due


@secrets_app.command("set")
def secrets_set(
    name: Annotated[str, typer.Argument(help="The secret's name, e.g. stripe-api-key.")],
    owner: Annotated[str | None, typer.Option(help="Who answers for it (default: you).")] = None,
    rotate_every: Annotated[
        int | None,
        typer.Option(
            "--rotate-every", min=1, max=3650, help="Days between rotations (default 90)."
        ),
    ] = None,
) -> None:
    """Store a secret: the value from stdin when piped, else a hidden prompt.

    The first secret of a vault without a master key makes one in ./.empire-master-key
    (mode 0600): keep a copy of it somewhere safe.
    """
    settings = _settings()
    sessions = _sessions(settings)
    keys = _keys(settings)
    made = None
    if not keys:
        vault = Vault(sessions, [], utcnow)
        if vault.list():
            raise _fail(f"no master key: set {SETTING} or restore ./{KEY_FILE}", 2)
        made = MasterKey.generate()
        write_key_file(KEY_FILE, made)
        keys = [read_key_file(KEY_FILE)]
    value = read_value("value")
    try:
        info = Vault(sessions, keys, utcnow).set(
            name, value, actor(), owner=owner, rotate_every_days=rotate_every
        )
    except VaultError as exc:
        raise _fail(str(exc), 2) from None
    if made is not None:
        typer.echo(
            f"made a master key (key {made.key_id}) in ./{KEY_FILE}, mode 0600: "
            "keep a copy of it somewhere safe; without it the vault cannot be opened"
        )
    typer.echo(f"stored {info.name} (key {info.key_id}); next rotation {_when(info)}")


@secrets_app.command("list")
def secrets_list() -> None:
    """Names, owners, ages and next rotations (never values)."""
    settings = _settings()
    infos = Vault(_sessions(settings), [], utcnow).list()
    if not infos:
        typer.echo("the vault is empty")
        return
    width = max(len(info.name) for info in infos)
    owners = max(len(info.owner) for info in infos)
    typer.echo(f"{'NAME':<{width}}  {'OWNER':<{owners}}  AGE   NEXT ROTATION")
    for info in infos:
        typer.echo(
            f"{info.name:<{width}}  {info.owner:<{owners}}  {_ago(info.age):<4}  {_when(info)}"
        )


@secrets_app.command("rotate")
def secrets_rotate(
    name: Annotated[str, typer.Argument(help="The secret's name.")],
) -> None:
    """A new value for a secret (read like `set`); its rotation clock starts again."""
    settings = _settings()
    sessions = _sessions(settings)
    vault = Vault(sessions, _keys(settings), utcnow)
    try:
        vault.info(name)  # before asking for a value: the secret exists
        info = vault.rotate(name, read_value("new value"), actor())
    except VaultError as exc:
        raise _fail(str(exc), 2) from None
    typer.echo(f"rotated {info.name}; next rotation {_when(info)}")


@secrets_app.command("delete")
def secrets_delete(
    name: Annotated[str, typer.Argument(help="The secret's name.")],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete a secret (settings naming it will stop `empire serve` from starting)."""
    settings = _settings()
    vault = Vault(_sessions(settings), [], utcnow)
    if not yes and not stdin_is_piped():
        typer.confirm(f"Delete the secret {name}?", abort=True)
    try:
        vault.delete(name, actor())
    except VaultError as exc:
        raise _fail(str(exc), 2) from None
    typer.echo(f"deleted {name}")


@secrets_app.command("verify")
def secrets_verify() -> None:
    """Check that the master key opens every secret (each read is logged)."""
    settings = _settings()
    vault = Vault(_sessions(settings), _keys(settings), utcnow)
    try:
        count = vault.verify(actor())
    except VaultError as exc:
        raise _fail(str(exc), 2) from None
    typer.echo(f"OK: {count} secrets open with key {', '.join(vault.key_ids)}")


@secrets_app.command("remind")
def secrets_remind() -> None:
    """Post the rotation reminders now, as `empire serve` does daily (when Slack is set)."""
    from bot.bootstrap import deliver_notifications

    settings = _settings()
    sessions = _sessions(settings)
    result = Vault(sessions, [], utcnow).remind()
    if settings.SLACK_BOT_TOKEN and settings.notify_channel:
        deliver_notifications(resolved(settings, sessions), sessions)
    typer.echo(f"reminded: {result['soon']} due within a week, {result['overdue']} overdue")


@secrets_app.command("rotate-master-key")
def secrets_rotate_master_key() -> None:
    """Re-encrypt every secret under a new master key (generated, or piped on stdin).

    The new key is first written to ./.empire-master-key.next (0600); until every secret is
    re-encrypted both keys read. Interrupted, run the same command again: it takes the new
    key from that file and carries on where it stopped. When done, the new key replaces
    ./.empire-master-key (when the key came from that file) and is printed once: put it in
    EMPIRE_MASTER_KEY wherever that is set.
    """
    settings = _settings()
    sessions = _sessions(settings)
    try:
        configured = configured_key(settings)
        pending = pending_key()
    except MasterKeyError as exc:
        raise _fail(str(exc), 2) from None
    if configured is None:
        raise _fail(f"no master key: set {SETTING} or put it in ./{KEY_FILE}", 2)
    new_key = _new_key(pending)
    if new_key == configured.key:
        raise _fail("the new master key is the one in use", 2)
    if pending is not None and pending != new_key:
        raise _fail(
            f"a rotation to key {pending.key_id} is under way (./{PENDING_FILE}): "
            "run this command again without a key on stdin to finish it first",
            2,
        )
    if pending is None:
        write_key_file(PENDING_FILE, new_key)
    vault = Vault(sessions, [configured.key], utcnow)
    total = len(vault.list())
    try:
        with typer.progressbar(length=total, label="re-encrypting", file=sys.stderr) as bar:
            result = vault.reencrypt(new_key, actor(), bar.update)
    except VaultKeyError as exc:
        raise _fail(str(exc), 2) from None
    if configured.source == SETTING:
        PENDING_FILE.unlink()
        typer.echo(
            f"re-encrypted {result.reencrypted} secrets ({result.already} already were) under "
            f"key {new_key.key_id}. Put the new key in {SETTING} now (the old key no longer "
            f"opens the vault); it is shown once:\n{SETTING}={new_key.reveal()}"
        )
        return
    write_key_file(KEY_FILE, new_key, replace=True)
    PENDING_FILE.unlink()
    typer.echo(
        f"re-encrypted {result.reencrypted} secrets ({result.already} already were) under "
        f"key {new_key.key_id}; ./{KEY_FILE} now holds the new key (the old key no longer "
        f"opens the vault). Keep a copy somewhere safe; it is shown once:\n{new_key.reveal()}"
    )


def _new_key(pending: MasterKey | None) -> MasterKey:
    if stdin_is_piped():
        text = sys.stdin.read().strip()
        if text:
            try:
                return MasterKey(text)
            except VaultKeyError:
                raise _fail(
                    "the key on stdin is not a Fernet key (32 url-safe base64-encoded bytes)", 2
                ) from None
    return pending or MasterKey.generate()
