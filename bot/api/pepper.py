"""The API tokens' pepper: EMPIRE_API_PEPPER (best kept in the vault, as
`EMPIRE_API_PEPPER=vault:api-token-pepper`), or a 0600 file made once.

Tokens are stored as HMAC-SHA256(pepper, token): a copy of the database alone lets nobody
check a guessed token.
"""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path

from bot.settings import Settings, secret

PEPPER_FILE = Path(".empire-api-pepper")
MIN_LENGTH = 32


class PepperError(Exception):
    """The pepper cannot be trusted or read; said in one line."""


def api_pepper(settings: Settings, *, create: bool) -> bytes | None:
    """The pepper from the settings, else from the pepper file (made when `create`)."""
    if settings.EMPIRE_API_PEPPER is not None:
        value = secret(settings.EMPIRE_API_PEPPER)
        if len(value) < MIN_LENGTH:
            raise PepperError(f"EMPIRE_API_PEPPER: at least {MIN_LENGTH} characters are needed")
        return value.encode("utf-8")
    if not PEPPER_FILE.exists():
        if not create:
            return None
        try:
            descriptor = os.open(PEPPER_FILE, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process made it meanwhile: read theirs
            return _read(PEPPER_FILE)
        with os.fdopen(descriptor, "w", encoding="utf-8") as pepper_file:
            pepper_file.write(secrets.token_hex(32) + "\n")
    return _read(PEPPER_FILE)


def _read(path: Path) -> bytes:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise PepperError(
            f"EMPIRE_API_PEPPER: {path} is readable by others (mode {mode:o}); chmod 600 it"
        )
    value = path.read_text(encoding="utf-8").strip()
    if len(value) < MIN_LENGTH:
        raise PepperError(f"EMPIRE_API_PEPPER: {path} holds no usable pepper")
    return value.encode("utf-8")
