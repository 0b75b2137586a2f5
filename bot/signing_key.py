"""The key of the transaction signatures: EMPIRE_SIGNING_KEY, or a 0600 file made once.

It is kept outside the database on purpose: whoever can rewrite the database must not also
hold the key that signs what was executed.
"""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path

from bot.settings import Settings, secret

KEY_FILE = Path(".empire-signing-key")


class SigningKeyError(Exception):
    """The key file cannot be trusted or read; said in one line."""


def signing_key(settings: Settings, *, create: bool) -> bytes | None:
    """The key from the settings, else from the key file (made when `create` and missing)."""
    if settings.EMPIRE_SIGNING_KEY is not None:
        return secret(settings.EMPIRE_SIGNING_KEY).encode("utf-8")
    if KEY_FILE.exists():
        return _read(KEY_FILE)
    if not create:
        return None
    descriptor = os.open(KEY_FILE, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as key_file:
        key_file.write(secrets.token_hex(32) + "\n")
    return _read(KEY_FILE)


def _read(path: Path) -> bytes:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise SigningKeyError(
            f"EMPIRE_SIGNING_KEY: {path} is readable by others (mode {mode:o}); chmod 600 it"
        )
    key = path.read_text(encoding="utf-8").strip()
    if len(key) < 32:
        raise SigningKeyError(f"EMPIRE_SIGNING_KEY: {path} holds no usable key")
    return key.encode("utf-8")
