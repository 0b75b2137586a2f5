"""The key of the transaction signatures: EMPIRE_SIGNING_KEY, or a 0600 file made once.

It is kept outside the database on purpose: whoever can rewrite the database must not also
hold the key that signs what was executed.
"""

from __future__ import annotations

from pathlib import Path

from bot.key_files import KeyFileError, setting_or_file
from bot.settings import Settings, secret

KEY_FILE = Path(".empire-signing-key")


class SigningKeyError(KeyFileError):
    pass


def signing_key(settings: Settings, *, create: bool) -> bytes | None:
    """The key from the settings, else from the key file (made when `create` and missing)."""
    given = secret(settings.EMPIRE_SIGNING_KEY) if settings.EMPIRE_SIGNING_KEY else None
    try:
        return setting_or_file(given, KEY_FILE, "EMPIRE_SIGNING_KEY", create=create)
    except KeyFileError as exc:
        raise SigningKeyError(str(exc)) from None
