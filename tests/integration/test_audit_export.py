"""`empire audit export` and `verify --checkpoint` on real databases, run in-process.

The export is checked by an independent reader: the chain is recomputed from the JSON lines
alone, with `hashlib` and `json`, exactly as the README tells anyone to.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from bot.cli import app
from governance import audit, audit_witness
from storage.types import utcnow
from tests.audit_tamper import unguarded

TRICKY: list[dict[str, Any]] = [
    {"text": 'ünïcode — 😀 \u2028 "quoted" \\ back\tslash', "n": 1},
    {"floats": [0.1, 1e100, -0.0, 2.5e-7], "big": 2**70, "neg": -3},
    {"nested": {"b": [1, {"z": None, "a": True}], "a": {}}, "empty": [], "none": None},
    {"control": "\x00\x1f", "<!channel>": "<@U123>"},
]


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, database_url: str) -> CliRunner:
    monkeypatch.chdir(tmp_path)  # no .env, no signing key file around
    for name in ("EMPIRE_SIGNING_KEY", "SLACK_BOT_TOKEN", "EMPIRE_NOTIFY_CHANNEL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", database_url)
    return CliRunner()


def run(cli: CliRunner, *args: str) -> tuple[int, str, str]:
    result = cli.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def fill(sessions: sessionmaker[Session]) -> None:
    for number, payload in enumerate(TRICKY * 3):
        with sessions.begin() as session:
            audit.append(session, f"test.kind{number % 2}", f"U0ACTOR{number % 3}", payload)
    with sessions.begin() as session:
        audit.append_many(
            session,
            [audit.Record("test.many", "stripe", {"i": i}, request_id=i) for i in range(2500)],
        )


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def recompute(lines: list[str]) -> str:
    """The head hash of the chain in `lines`, each hash checked on the way."""
    prev = "0" * 64
    for number, line in enumerate(lines, start=1):
        entry = json.loads(line)
        assert entry["seq"] == number
        assert entry["prev_hash"] == prev
        body = canonical(
            {
                "seq": entry["seq"],
                "at": entry["created_at"],
                "actor": entry["actor"],
                "kind": entry["kind"],
                "request": entry["request_id"],
                "payload": canonical(entry["payload"]),
            }
        )
        prev = hashlib.sha256((prev + body).encode("utf-8")).hexdigest()
        assert prev == entry["hash"], f"entry {number}"
    return prev


def test_the_export_recomputes_to_the_head(cli: CliRunner, sessions: sessionmaker[Session]) -> None:
    fill(sessions)
    code, out, err = run(cli, "audit", "export")
    assert (code, err) == (0, "")
    assert out.isascii()
    lines = out.splitlines()
    assert len(lines) == len(TRICKY) * 3 + 2500
    first = json.loads(lines[0])
    assert list(first) == [
        "seq",
        "created_at",
        "actor",
        "kind",
        "request_id",
        "payload",
        "prev_hash",
        "hash",
    ]
    assert first["payload"] == TRICKY[0]
    assert first["created_at"].endswith("+00:00")
    assert json.loads(lines[-1])["request_id"] == 2499
    with sessions() as session:
        head = audit.head_of(session)
    assert head is not None
    assert recompute(lines) == head.hash


def test_an_empty_log_exports_nothing(cli: CliRunner) -> None:
    assert run(cli, "audit", "export") == (0, "", "")


def test_an_export_shows_an_edit_to_whoever_recomputes_it(
    cli: CliRunner, sessions: sessionmaker[Session]
) -> None:
    fill(sessions)
    lines = run(cli, "audit", "export")[1].splitlines()
    edited = json.loads(lines[4])
    edited["payload"]["n"] = 2
    lines[4] = json.dumps(edited)
    with pytest.raises(AssertionError, match="entry 5"):
        recompute(lines)


def test_verify_through_checkpoints(cli: CliRunner, sessions: sessionmaker[Session]) -> None:
    fill(sessions)
    with sessions.begin() as session:
        checkpoint = audit_witness.take(session, utcnow())
    assert checkpoint is not None
    with sessions.begin() as session:
        audit.append(session, "test.after", "U0X", {})
    total = checkpoint.seq + 1
    unchecked = " (no signing key here: transaction signatures not checked)"
    expected = f"OK: {total} entries{unchecked}; extends checkpoint #{checkpoint.seq}\n"
    for form in (checkpoint.hash, f"{checkpoint.seq}:{checkpoint.hash}", checkpoint.hash.upper()):
        assert run(cli, "audit", "verify", "--checkpoint", form) == (0, expected, "")
    assert run(cli, "audit", "verify") == (0, f"OK: {total} entries{unchecked}\n", "")

    unknown = "0123456789abcdef" * 4
    code, out, _ = run(cli, "audit", "verify", "--checkpoint", unknown)
    assert code == 1
    assert out == (
        f"FAILED: checkpoint {unknown}: no entry has this hash: the chain was rewritten "
        "after the checkpoint was posted, or the hash is not from this log\n"
    )

    code, out, _ = run(cli, "audit", "verify", "--checkpoint", f"3:{checkpoint.hash}")
    assert code == 1
    assert out == (
        f"FAILED: checkpoint #3 {checkpoint.hash}: this hash is entry {checkpoint.seq}'s, "
        "not entry 3's: check the number\n"
    )

    code, _, err = run(cli, "audit", "verify", "--checkpoint", "abc")
    assert code == 2
    assert "is not a checkpoint" in err


def test_a_rewritten_chain_fails_verify_through_the_posted_checkpoint(
    cli: CliRunner, sessions: sessionmaker[Session]
) -> None:
    fill(sessions)
    with sessions.begin() as session:
        checkpoint = audit_witness.take(session, utcnow())
    assert checkpoint is not None
    lines = run(cli, "audit", "export")[1].splitlines()
    # Rewrite from the export: entry 2's actor changed, every later hash recomputed.
    from sqlalchemy import select, update

    from storage.models import AuditEntry, AuditHead

    with sessions.begin() as session, unguarded(session):
        prev = json.loads(lines[0])["hash"]
        for entry in session.execute(
            select(AuditEntry).where(AuditEntry.seq >= 2).order_by(AuditEntry.seq)
        ).scalars():
            if entry.seq == 2:
                entry.actor = "U0FORGER"
            entry.prev_hash = prev
            entry.hash = audit.entry_hash(
                prev,
                entry.seq,
                entry.created_at,
                entry.actor,
                entry.kind,
                entry.request_id,
                entry.payload,
            )
            prev = entry.hash
            session.flush()
        session.execute(update(AuditHead).values(hash=prev))

    assert run(cli, "audit", "verify")[0] == 0  # the forger did a careful job
    code, out, _ = run(cli, "audit", "verify", "--checkpoint", checkpoint.hash)
    assert code == 1
    assert out.startswith(f"FAILED: checkpoint {checkpoint.hash}: no entry has this hash")
    code, out, _ = run(
        cli, "audit", "verify", "--checkpoint", f"#{checkpoint.seq}:{checkpoint.hash}"
    )
    assert code == 1
    assert out.startswith(f"FAILED: entry {checkpoint.seq}: its hash is not the checkpoint's")
