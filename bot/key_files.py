"""Secrets kept beside the database, never in it: a setting, or a 0600 file made once.

The file is created with its final mode in one step (never readable by others, not even
for a moment), and one readable by others is refused rather than trusted.
"""

from __future__ import annotations

import contextlib
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
        # Another process may make it meanwhile: then read theirs.
        with contextlib.suppress(FileExistsError):
            write_private(path, secrets.token_hex(32))
    return read_private(path, setting)


def write_private(path: Path, text: str, *, replace: bool = False) -> None:
    """Write `text` with mode 0600 (never readable by others, not even for a moment).

    Without `replace` an existing file is an error (FileExistsError); with it, the file is
    swapped whole.
    """
    target = path.with_name(path.name + ".tmp") if replace else path
    if replace and target.exists():
        target.unlink()
    descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as private_file:
        private_file.write(text + "\n")
    if replace:
        os.replace(target, path)


def private_text(path: Path, setting: str) -> str:
    """The file's text, unless others may read it."""
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise KeyFileError(f"{setting}: {path} is readable by others (mode {mode:o}); chmod 600 it")
    return path.read_text(encoding="utf-8").strip()


def read_private(path: Path, setting: str) -> bytes:
    value = private_text(path, setting)
    if len(value) < MIN_LENGTH:
        raise KeyFileError(f"{setting}: {path} holds no usable secret")
    return value.encode("utf-8")
