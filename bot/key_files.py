"""Secrets kept beside the database, never in it: a setting, or a 0600 file made once.

The file is created with its final mode in one step (never readable by others, not even
for a moment), and one readable by others is refused rather than trusted.
"""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path

MIN_LENGTH = 32


class KeyFileError(Exception):
    """The secret cannot be trusted or read; said in one line naming its setting."""


def setting_or_file(value: str | None, path: Path, setting: str, *, create: bool) -> bytes | None:
    """`value` when the setting is given, else the file's secret (made when `create`)."""
    if value is not None:
        if len(value) < MIN_LENGTH:
            raise KeyFileError(f"{setting}: at least {MIN_LENGTH} characters are needed")
        return value.encode("utf-8")
    if not path.exists():
        if not create:
            return None
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process made it meanwhile: read theirs
            return read_private(path, setting)
        with os.fdopen(descriptor, "w", encoding="utf-8") as secret_file:
            secret_file.write(secrets.token_hex(32) + "\n")
    return read_private(path, setting)


def read_private(path: Path, setting: str) -> bytes:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise KeyFileError(f"{setting}: {path} is readable by others (mode {mode:o}); chmod 600 it")
    value = path.read_text(encoding="utf-8").strip()
    if len(value) < MIN_LENGTH:
        raise KeyFileError(f"{setting}: {path} holds no usable secret")
    return value.encode("utf-8")
