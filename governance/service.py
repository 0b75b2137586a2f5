"""The service layer: every way a request changes, one transaction and one audit entry each.

`bot/` and the REST API call these; nothing here knows about Slack or Stripe.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from governance import audit
from governance.actions import kind_of
from governance.actions.base import Payload
from governance.canonical import canonical_json, sha256_hex
from governance.errors import (
    ActionRefused,
    AlreadyDecided,
    ClickRefused,
    NotAnApprover,
    RequestExpired,
    RequestNotFound,
    SelfApproval,
    StaleCard,
)
from governance.policy import Policy
from governance.ports import ExternalError, PaymentGateway, TransientError
from governance.requests import State, transition
from storage import outbox
from storage.db import read_only
from storage.models import ActionRequest, Approval, table_of
from storage.types import utcnow

Clock = Callable[[], datetime]
# How long a request may wait for the outside world before it is refused.
PREPARE_PATIENCE = timedelta(minutes=10)
PREPARE_PATIENCE_TEXT = "10 minutes"
# Built once: both run while Slack waits for its answer.
_INSERT_REQUEST = insert(table_of(ActionRequest)).returning(table_of(ActionRequest).c.id)
_INSERT_APPROVAL = insert(table_of(Approval))


def payload_hash(action: str, payload: Payload) -> str:
    """What an approval is bound to: the action and exactly the payload the card shows."""
    return sha256_hex(canonical_json({"action": action, "payload": payload}))


@dataclass(frozen=True)
class Submitted:
    request_id: int
    state: State
    approvals_required: int
    approver_hint: str
    reason: str | None = None


@dataclass(frozen=True)
class _Opening:
    columns: dict[str, Any]
    audit: dict[str, Any]


@dataclass(frozen=True)
class ApprovalOutcome:
    approved: bool
    approvals: int
    required: int


class Governance:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        policy: Callable[[], Policy],
        *,
        clock: Clock = utcnow,
    ) -> None:
        self._sessions = sessions
        self._reads = read_only(sessions)
        self._engine: Engine = sessions.kw["bind"]
        self._policy = policy
        self._now = clock

    # -- asking -------------------------------------------------------------------------

    def submit(
        self, action: str, payload: Payload, requester: str, origin: dict[str, Any]
    ) -> Submitted:
        """Record what was asked; apply the policy now unless the outside world must be read."""
        kind = kind_of(action)
        now = self._now()
        columns: dict[str, Any] = {
            "uid": f"act_{uuid.uuid4().hex}",
            "action": action,
            "state": State.RECEIVED.value,
            "requester": requester,
            "origin": origin,
            "payload": payload,
            "payload_hash": payload_hash(action, payload),
            "created_at": now,
            "updated_at": now,
            "card_version": 0,
        }
        records = [
            audit.Record(
                "request.submitted",
                requester,
                {"action": action, "payload": payload, "origin": _origin_for_audit(origin)},
            )
        ]
        if not kind.needs_preparation:
            opening = self._apply_policy(action, payload, requester)
            if isinstance(opening, str):
                columns.update(state=State.REJECTED.value, failure_reason=opening)
                records.append(audit.Record("request.rejected", "empire", {"reason": opening}))
            else:
                columns.update(state=State.PENDING.value, card_version=1, **opening.columns)
                records.append(audit.Record("request.pending", "empire", opening.audit))
        # Slack waits for this answer: a Core connection, without the ORM session's work.
        with self._engine.begin() as connection:
            request_id = connection.execute(_INSERT_REQUEST, columns).scalar_one()
            audit.append_many(connection, [replace(r, request_id=request_id) for r in records])
        return Submitted(
            request_id,
            State(columns["state"]),
            columns.get("approvals_required", 0),
            columns.get("approver_hint", ""),
            columns.get("failure_reason"),
        )

    def awaiting_preparation(self) -> list[int]:
        with self._reads.begin() as session:
            return list(
                session.execute(
                    select(ActionRequest.id)
                    .where(ActionRequest.state == State.RECEIVED.value)
                    .order_by(ActionRequest.id)
                ).scalars()
            )

    def prepare(self, request_id: int, gateway: PaymentGateway) -> None:
        """Read from the outside world what the card must show, then open it for approval."""
        with self._reads.begin() as session:
            request = _load(session, request_id)
            if request.state != State.RECEIVED.value:
                return
            action, payload, requester = request.action, dict(request.payload), request.requester
            received_at = request.created_at
        try:
            opening: _Opening | str = self._apply_policy(
                action, kind_of(action).prepare(payload, gateway), requester
            )
        except TransientError as exc:
            if self._now() - received_at < PREPARE_PATIENCE:
                return  # the next pass asks again
            opening = f"Stripe did not answer for {PREPARE_PATIENCE_TEXT}: {exc.reason}"
        except (ActionRefused, ExternalError) as exc:
            opening = exc.reason if isinstance(exc, ExternalError) else str(exc)
        with self._sessions.begin() as session:
            request = _lock(session, request_id)
            if request.state != State.RECEIVED.value:
                return
            if isinstance(opening, str):
                self._reject(session, request, opening)
                return
            transition(
                session,
                request,
                State.PENDING,
                card_version=ActionRequest.card_version + 1,
                **opening.columns,
            )
            outbox.reply(
                session,
                request.origin,
                f"Request #{request.id} is waiting for {opening.columns['approver_hint']}.",
            )
            audit.append(session, "request.pending", "empire", opening.audit, request.id)

    def _apply_policy(self, action: str, payload: Payload, requester: str) -> _Opening | str:
        """The columns that open a request for approval, or why it cannot be opened."""
        kind = kind_of(action)
        policy = self._policy()
        amount = kind.amount(payload)
        requirement = policy.decide(action, amount)
        eligible = sorted(requirement.approvers - {requester})
        if len(eligible) < requirement.approvals_required:
            return (
                f"Rule “{requirement.rule_name}” needs {requirement.describe()}, "
                "and not enough people other than you may approve."
            )
        shown_hash = payload_hash(action, payload)
        expires_at = self._now() + requirement.expires_after
        columns = {
            "payload": payload,
            "payload_hash": shown_hash,
            "amount_minor": amount.minor if amount else None,
            "currency": amount.currency if amount else None,
            "rule_name": requirement.rule_name,
            "approvals_required": requirement.approvals_required,
            "approvers": eligible,
            "approver_hint": requirement.describe(),
            "policy_digest": policy.digest,
            "expires_at": expires_at,
        }
        return _Opening(
            columns,
            {
                "payload_hash": shown_hash,
                "payload": payload,
                "rule": requirement.rule_name,
                "approvals_required": requirement.approvals_required,
                "approvers": eligible,
                "policy_digest": policy.digest,
                "expires_at": expires_at.isoformat(),
            },
        )

    def _reject(self, session: Session, request: ActionRequest, reason: str) -> None:
        """Refuse a prepared request; it never had a card, so only the requester is told."""
        transition(session, request, State.REJECTED, failure_reason=reason)
        outbox.reply(
            session,
            request.origin,
            f"Request #{request.id} was refused: {reason}",
            usage_for=request.action,
        )
        audit.append(session, "request.rejected", "empire", {"reason": reason}, request.id)

    # -- deciding -----------------------------------------------------------------------

    def check_can_decide(self, request_id: int, user_id: str, shown_hash: str) -> None:
        """Raise ClickRefused (audited) when `user_id` may not decide this request now."""
        self._decide(request_id, user_id, shown_hash, "check", lambda session, request: None)

    def approve(self, request_id: int, user_id: str, shown_hash: str) -> ApprovalOutcome:
        outcome: list[ApprovalOutcome] = []

        def record(session: Session, request: ActionRequest) -> None:
            given = set(
                session.execute(
                    select(Approval.user_id).where(
                        Approval.request_id == request.id,
                        Approval.payload_hash == request.payload_hash,
                    )
                ).scalars()
            )
            if user_id in given:
                raise AlreadyDecided("You have already approved this request.")
            session.execute(
                _INSERT_APPROVAL,
                {
                    "request_id": request.id,
                    "user_id": user_id,
                    "payload_hash": request.payload_hash,
                    "created_at": self._now(),
                },
            )
            count = len((given | {user_id}) & set(request.approvers))
            required = request.approvals_required
            records = [
                audit.Record(
                    "approval.given", user_id, {"payload_hash": request.payload_hash}, request.id
                )
            ]
            if count >= required:
                transition(
                    session, request, State.APPROVED, card_version=ActionRequest.card_version + 1
                )
                records.append(
                    audit.Record("request.approved", user_id, {"approvals": count}, request.id)
                )
            else:
                _bump_card(session, request)
            audit.append_many(session, records)
            outcome.append(ApprovalOutcome(count >= required, count, required))

        self._decide(request_id, user_id, shown_hash, "approve", record)
        return outcome[0]

    def deny(self, request_id: int, user_id: str, shown_hash: str, reason: str) -> None:
        def record(session: Session, request: ActionRequest) -> None:
            transition(
                session,
                request,
                State.DENIED,
                decided_by=user_id,
                decision_note=reason,
                card_version=ActionRequest.card_version + 1,
            )
            audit.append(session, "request.denied", user_id, {"reason": reason}, request.id)

        self._decide(request_id, user_id, shown_hash, "deny", record)

    def _decide(
        self,
        request_id: int,
        user_id: str,
        shown_hash: str,
        verb: str,
        record: Callable[[Session, ActionRequest], None],
    ) -> None:
        def act(session: Session, request: ActionRequest) -> None:
            self._ensure_may_decide(session, request, user_id, shown_hash)
            record(session, request)

        self._on_click(request_id, user_id, verb, act, shown_hash)

    def _on_click(
        self,
        request_id: int,
        user_id: str,
        verb: str,
        act: Callable[[Session, ActionRequest], None],
        shown_hash: str | None = None,
    ) -> None:
        """Run a click on the locked request; a refusal changes nothing but the audit log."""
        refusal: ClickRefused | None = None
        with self._sessions.begin() as session:
            request = _lock(session, request_id)
            try:
                act(session, request)
            except ClickRefused as exc:
                refusal = exc
                audit.append(
                    session,
                    "click.refused",
                    user_id,
                    {"verb": verb, "reason": str(exc), "shown_hash": shown_hash},
                    request.id,
                )
        if refusal is not None:
            raise refusal

    def _ensure_may_decide(
        self, session: Session, request: ActionRequest, user_id: str, shown_hash: str
    ) -> None:
        if request.state != State.PENDING.value:
            raise AlreadyDecided(f"Request #{request.id} {_NO_LONGER_PENDING[request.state]}.")
        if user_id == request.requester:
            raise SelfApproval(f"You asked for request #{request.id}; someone else must decide.")
        if user_id not in request.approvers:
            raise NotAnApprover(
                f"Rule “{request.rule_name}” does not let you decide request #{request.id}."
            )
        # Only someone who may decide gets this far: nobody else's click changes anything.
        if request.expires_at is not None and self._now() >= request.expires_at:
            self._expire(session, request)
            raise RequestExpired(f"Request #{request.id} has expired.")
        if shown_hash != request.payload_hash:
            raise StaleCard(
                f"Request #{request.id} has changed since this card was shown; "
                "decide on the current card."
            )

    def retry(self, request_id: int, user_id: str) -> None:
        """Run a failed request again; completed steps are not repeated."""

        def act(session: Session, request: ActionRequest) -> None:
            if request.state != State.FAILED.value:
                raise AlreadyDecided(f"Request #{request.id} is {request.state}, not failed.")
            if user_id not in request.approvers:
                raise NotAnApprover(f"Only an approver of #{request.id} may retry it.")
            transition(
                session,
                request,
                State.APPROVED,
                attempt=ActionRequest.attempt + 1,
                failure_reason=None,
                card_version=ActionRequest.card_version + 1,
            )
            audit.append(session, "request.retried", user_id, {}, request.id)

        self._on_click(request_id, user_id, "retry", act)

    # -- time ---------------------------------------------------------------------------

    def expire_due(self) -> list[int]:
        with self._reads.begin() as session:
            due = list(
                session.execute(
                    select(ActionRequest.id).where(
                        ActionRequest.state == State.PENDING.value,
                        ActionRequest.expires_at <= self._now(),
                    )
                ).scalars()
            )
        expired = []
        for request_id in due:
            with self._sessions.begin() as session:
                request = _lock(session, request_id)
                if request.state == State.PENDING.value:
                    self._expire(session, request)
                    expired.append(request_id)
        return expired

    def _expire(self, session: Session, request: ActionRequest) -> None:
        transition(session, request, State.EXPIRED, card_version=ActionRequest.card_version + 1)
        audit.append(session, "request.expired", "empire", {}, request.id)
        outbox.reply(session, request.origin, f"Request #{request.id} expired without a decision.")


_NO_LONGER_PENDING = {
    State.RECEIVED.value: "is not open for approval yet",
    State.APPROVED.value: "is already approved",
    State.EXECUTING.value: "is already approved and executing",
    State.SUCCEEDED.value: "has already been executed",
    State.FAILED.value: "was approved; its execution failed",
    State.DENIED.value: "has already been denied",
    State.EXPIRED.value: "has expired",
    State.CANCELLED.value: "was cancelled",
    State.REJECTED.value: "was refused",
}


def _load(session: Session, request_id: int) -> ActionRequest:
    request = session.get(ActionRequest, request_id)
    if request is None:
        raise RequestNotFound(f"There is no request #{request_id}.")
    return request


def _lock(session: Session, request_id: int) -> ActionRequest:
    """Load the request and hold its row until commit: decisions on it queue up."""
    request = session.execute(
        select(ActionRequest).where(ActionRequest.id == request_id).with_for_update()
    ).scalar_one_or_none()
    if request is None:
        raise RequestNotFound(f"There is no request #{request_id}.")
    return request


def approvers_so_far(session: Session, request: ActionRequest) -> list[str]:
    return list(
        session.execute(
            select(Approval.user_id)
            .where(
                Approval.request_id == request.id,
                Approval.payload_hash == request.payload_hash,
            )
            .order_by(Approval.id)
        ).scalars()
    )


def _bump_card(session: Session, request: ActionRequest) -> None:
    session.execute(
        update(ActionRequest)
        .where(ActionRequest.id == request.id)
        .values(card_version=ActionRequest.card_version + 1)
        .execution_options(synchronize_session=False)
    )


def _origin_for_audit(origin: dict[str, Any]) -> dict[str, Any]:
    # A response_url is a short-lived credential to answer in Slack; it stays out of the log.
    return {key: value for key, value in origin.items() if key != "response_url"}
