"""The policy in force: read again when its file changes, each change announced once.

Every `empire serve` process watches the file; the database decides which of them
announces a new version (the audit head's lock makes the check-and-record one step), so a
change is posted to the notify channel and audited once, with what changed in words.
A file that no longer loads leaves the previous policy in force, and says so.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.slack_directory import SlackDirectory
from governance import audit
from governance.policy import Policy, PolicyFileError, describe_changes, load_policy, parse_policy
from storage import outbox
from storage.models import AuditHead, PolicyVersion
from storage.types import utcnow

log = logging.getLogger(__name__)


class PolicyHolder:
    def __init__(
        self,
        path: Path,
        policy: Policy,
        sessions: sessionmaker[Session],
        directory: SlackDirectory | None,
        currency: str,
    ) -> None:
        self._path = path
        self._current = policy
        self._sessions = sessions
        self._directory = directory
        self._currency = currency
        self._lock = threading.Lock()
        self._refused: str | None = None  # digest of a broken file already reported

    def __call__(self) -> Policy:
        with self._lock:
            return self._current

    def start(self) -> None:
        """Record the policy the process starts with (announced if it is new), then groups."""
        self._adopt(self._current)
        self.refresh_groups()

    def check(self) -> int:
        """The watcher's tick: 1 when a new policy came into force."""
        try:
            data = self._path.read_bytes()
        except OSError as exc:
            log.warning("policy file %s cannot be read: %s", self._path, exc)
            return 0
        digest = hashlib.sha256(data).hexdigest()
        if digest == self().digest or digest == self._refused:
            return 0
        try:
            policy = load_policy(self._path, default_currency=self._currency)
        except PolicyFileError as exc:
            self._refused = digest
            self._report_refusal(digest, exc)
            return 0
        self._refused = None
        with self._lock:
            self._current = policy
        self._adopt(policy)
        self.refresh_groups()
        return 1

    def refresh_groups(self) -> int:
        if self._directory is None:
            return 0
        return self._directory.refresh(policy_handles(self()))

    def _adopt(self, policy: Policy) -> None:
        text = self._path.read_text(encoding="utf-8-sig") if self._path.exists() else ""
        with self._sessions.begin() as session:
            session.execute(select(AuditHead).with_for_update()).scalar_one()
            latest = session.execute(
                select(PolicyVersion).order_by(PolicyVersion.seen_at.desc()).limit(1)
            ).scalar_one_or_none()
            if latest is not None and latest.digest == policy.digest:
                return  # another process announced it, or nothing changed
            known = session.get(PolicyVersion, policy.digest)
            if known is None:
                session.add(PolicyVersion(digest=policy.digest, text=text, seen_at=utcnow()))
            else:
                known.seen_at = utcnow()
            changes = _changes_since(latest, policy, self._currency)
            facts = {
                "digest": policy.digest,
                "previous": latest.digest if latest else None,
                "changes": changes,
                "file": str(self._path),
            }
            if latest is None:
                return  # the first policy this database has seen: nothing changed yet
            audit.append(session, "policy.changed", "empire", facts)
            outbox.enqueue(session, outbox.NOTIFY, {"event": "policy.changed", "facts": facts})

    def _report_refusal(self, digest: str, error: PolicyFileError) -> None:
        problems = [str(issue) for issue in error.issues][:10]
        log.warning(
            "policy file %s is invalid; the previous policy stays: %s", self._path, problems
        )
        with self._sessions.begin() as session:
            facts = {"digest": digest, "problems": problems, "file": str(self._path)}
            audit.append(session, "policy.refused", "empire", facts)
            outbox.enqueue(
                session, outbox.NOTIFY, {"event": "policy.refused", "facts": facts, "loud": True}
            )


def _changes_since(latest: PolicyVersion | None, policy: Policy, currency: str) -> list[str]:
    if latest is None:
        return []
    try:
        before = parse_policy(latest.text, default_currency=currency)
    except PolicyFileError:
        return ["the previous policy can no longer be read; compare the files"]
    return describe_changes(before, policy) or ["only comments or layout changed"]


def policy_handles(policy: Policy) -> set[str]:
    """Every Slack user group the policy names, in groups or directly in rules."""
    handles = {h for group in policy.group_definitions().values() for h in group.handles}
    for terms in (policy.defaults, *(rule.requirement for rule in policy.rules)):
        handles |= {label for label in terms.approver_labels if label.startswith("@")}
        handles |= {label for label in terms.escalate_to_labels if label.startswith("@")}
    for rule in policy.rules:
        handles |= {label for label in rule.requester or () if label.startswith("@")}
    return handles
