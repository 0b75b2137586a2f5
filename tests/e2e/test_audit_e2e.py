"""The audit log as people use it: checkpoints posted by `empire serve`, `/empire audit`,
and `empire audit export`, `verify --checkpoint` and `checkpoint` run as processes.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select, update

from integrations.local.slack.server import FakeSlack
from integrations.local.stripe.server import FakeStripe
from storage.db import make_engine
from storage.models import AuditCheckpoint, AuditEntry, AuditHead
from tests.audit_tamper import unguarded
from tests.e2e.flows import ask, card_saying, click
from tests.e2e.harness import NOTIFY_CHANNEL, REPO, ServeProcess, serve_env, wait_for

pytestmark = pytest.mark.e2e

POSTED = re.compile(r"Audit checkpoint: ([\d,]+) entries, head #(\d+) `([0-9a-f]{64})`")


def empire(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def checkpoints_posted(fake_slack: FakeSlack) -> list[tuple[int, str]]:
    found = []
    for message in fake_slack.messages(NOTIFY_CHANNEL):
        match = POSTED.search(str(message.get("text", "")))
        if match:
            assert match.group(1).replace(",", "") == match.group(2)
            found.append((int(match.group(2)), match.group(3)))
    return found


def readme_checker() -> str:
    """The export checker the README gives, as written there."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    block = re.search(r"check\.py`\):\n  ```python\n(.*?)\n  ```", readme, re.DOTALL)
    assert block, "the README's export checker"
    return "\n".join(line.removeprefix("  ") for line in block.group(1).splitlines())


def rewrite_from(database_url: str, seq: int) -> None:
    """Edit entry `seq` and recompute every hash after it, and the head: a careful forger."""
    from governance.audit import entry_hash

    engine = make_engine(database_url)
    try:
        with engine.begin() as connection, unguarded(connection):
            rows = connection.execute(
                select(AuditEntry.__table__).where(AuditEntry.seq >= seq).order_by(AuditEntry.seq)
            ).all()
            prev = rows[0].prev_hash
            for row in rows:
                actor = "U0FORGER" if row.seq == seq else row.actor
                digest = entry_hash(
                    prev, row.seq, row.created_at, actor, row.kind, row.request_id, row.payload
                )
                connection.execute(
                    update(AuditEntry)
                    .where(AuditEntry.seq == row.seq)
                    .values(actor=actor, prev_hash=prev, hash=digest)
                )
                prev = digest
            connection.execute(update(AuditHead).values(hash=prev))
    finally:
        engine.dispose()


@pytest.fixture
def witnessed(serve_factory: type) -> ServeProcess:
    """`empire serve` taking a checkpoint every second (when anything changed)."""
    process: ServeProcess = serve_factory.start(EMPIRE_AUDIT_CHECKPOINT_EVERY="1s")  # type: ignore[attr-defined]
    return process


def test_checkpoints_are_posted_and_the_log_extends_them_until_rewritten(
    witnessed: ServeProcess,
    fake_slack: FakeSlack,
    fake_stripe: FakeStripe,
    database_url: str,
    tmp_path: Path,
) -> None:
    request_id = ask(witnessed, fake_slack, "invoice acme@example.com $1,500 Website")
    click(witnessed, fake_slack, request_id, "approve", "U0FIN1")
    card_saying(fake_slack, request_id, "Executed")
    wait_for(lambda: checkpoints_posted(fake_slack), what="a checkpoint in the notify channel")
    fake_stripe.wait_for_deliveries(timeout=10)
    witnessed.stop()

    posted = checkpoints_posted(fake_slack)
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            recorded = [
                (int(seq), str(digest))
                for seq, digest in connection.execute(
                    select(AuditCheckpoint.seq, AuditCheckpoint.hash).order_by(AuditCheckpoint.seq)
                )
            ]
            kinds = dict(connection.execute(select(AuditEntry.seq, AuditEntry.kind)).all())
    finally:
        engine.dispose()
    assert posted == recorded  # each posted once, each recorded
    assert len({seq for seq, _ in posted}) == len(posted)
    assert all(kinds[seq] == "audit.checkpoint" for seq, _ in posted)
    seq, digest = posted[0]

    exported = empire(witnessed.env, tmp_path, "audit", "export")
    assert exported.returncode == 0, exported.stderr
    lines = exported.stdout.splitlines()
    assert [json.loads(line)["seq"] for line in lines] == list(range(1, len(lines) + 1))
    assert json.loads(lines[seq - 1])["hash"] == digest
    checked = subprocess.run(
        [sys.executable, "-c", readme_checker()],
        input=exported.stdout,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout.strip() == f"head {json.loads(lines[-1])['hash']}"

    for form in (digest, f"{seq}:{digest}"):
        result = empire(witnessed.env, tmp_path, "audit", "verify", "--checkpoint", form)
        assert result.returncode == 0, result.stdout + result.stderr
        assert result.stdout.strip() == (
            f"OK: {len(lines)} entries, 1 transaction signatures; extends checkpoint #{seq}"
        )

    rewrite_from(database_url, 2)
    plain = empire(witnessed.env, tmp_path, "audit", "verify")
    assert plain.returncode == 0, plain.stdout  # a careful rewrite verifies on its own
    result = empire(witnessed.env, tmp_path, "audit", "verify", "--checkpoint", digest)
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stdout.strip() == (
        f"FAILED: checkpoint {digest}: no entry has this hash: the chain was rewritten after "
        "the checkpoint was posted, or the hash is not from this log"
    )
    unknown = empire(witnessed.env, tmp_path, "audit", "verify", "--checkpoint", "f" * 64)
    assert unknown.returncode == 1
    assert "no entry has this hash" in unknown.stdout


def test_audit_recent_and_verify_in_slack(
    bot: ServeProcess, fake_slack: FakeSlack, database_url: str
) -> None:
    request_id = ask(bot, fake_slack, "invoice acme@example.com $900 Logo")

    recent = bot.command("audit", "U0OUTSIDER")
    assert bot.command("audit recent", "U0OUTSIDER") == recent
    lines = recent.splitlines()
    assert re.fullmatch(r"\*Audit log\* — the last \d+ of \d+ entries:", lines[0]), recent
    assert any(
        re.fullmatch(
            rf"• `\d+` \d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d UTC — <@U0REQ> `request\.submitted` "
            rf"· request #{request_id}",
            line,
        )
        for line in lines
    ), recent
    assert lines[-1] == "`/empire audit verify` checks the whole chain."

    click(bot, fake_slack, request_id, "approve", "U0FIN1")
    card_saying(fake_slack, request_id, "Executed")
    verified = bot.command("audit verify", "U0FIN2")
    assert verified.startswith(":white_check_mark: *The audit log verifies*: "), verified
    assert "No checkpoint has been posted yet." in verified

    refused = bot.command("audit everything", "U0REQ")
    assert "`everything` is not something `audit` does" in refused
    assert "Usage: `/empire audit [recent|verify]`" in refused

    engine = make_engine(database_url)
    try:
        with engine.begin() as connection, unguarded(connection):
            connection.execute(
                update(AuditEntry).where(AuditEntry.seq == 2).values(actor="U0FORGER")
            )
    finally:
        engine.dispose()
    broken = bot.command("audit verify", "U0FIN2")
    assert broken.startswith(
        ":rotating_light: *The audit log does not verify*: entry 2: "
        "its content does not match its hash."
    ), broken


def test_empire_audit_checkpoint_posts_once_per_change(
    database_url: str, tmp_path: Path, fake_slack: FakeSlack, fake_stripe: FakeStripe
) -> None:
    env = serve_env(database_url, tmp_path, fake_slack.api_url, fake_stripe.url)
    empty = empire(env, tmp_path, "audit", "checkpoint")
    assert empty.returncode == 0, empty.stderr
    assert empty.stdout.strip() == "Nothing new since the last checkpoint: none taken"

    from governance import audit
    from storage.db import make_session_factory

    engine = make_engine(database_url)
    try:
        with make_session_factory(engine).begin() as session:
            audit.append(session, "test.entry", "U0TEST", {"n": 1})
    finally:
        engine.dispose()
    first = empire(env, tmp_path, "audit", "checkpoint")
    assert first.returncode == 0, first.stderr
    assert re.fullmatch(r"Audit checkpoint: 2 entries, head #2 [0-9a-f]{64}", first.stdout.strip())
    digest = first.stdout.split()[-1]
    assert checkpoints_posted(fake_slack) == [(2, digest)]

    again = empire(env, tmp_path, "audit", "checkpoint")
    assert again.stdout.strip() == "Nothing new since the last checkpoint #2: none taken"
    assert checkpoints_posted(fake_slack) == [(2, digest)]
