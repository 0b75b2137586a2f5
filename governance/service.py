"""The service layer: every way a request changes, one transaction and one audit entry each.

`bot/` and the REST API call these; nothing here knows about Slack or Stripe.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from governance import audit, outcomes, timers
from governance.actions import kind_of
from governance.actions.base import EditableField, Payload
from governance.canonical import canonical_json, sha256_hex
from governance.errors import (
    ActionRefused,
    AlreadyDecided,
    ClickRefused,
    NotAnApprover,
    NotEditable,
    NotTheRequester,
    OverApproverLimit,
    RequestExpired,
    SelfApproval,
    StaleCard,
)
from governance.policy import Asked, Decision, Directory, Policy, approver_limit_refusal
from governance.ports import ExternalError, PaymentGateway, TransientError
from governance.requests import State, approvers_so_far, load_request, lock_request, transition
from governance.totals import RequestTotals
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
        directory: Directory | None = None,
    ) -> None:
        """`directory` resolves the Slack user groups the policy names (cached by the bot)."""
        self._directory = directory
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
            if columns["state"] == State.REJECTED.value:
                outcomes.on_rejected_at_submit(connection, ActionRequest(id=request_id, **columns))
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
            request = load_request(session, request_id)
            if request.state != State.RECEIVED.value:
                return
            action, payload, requester = request.action, dict(request.payload), request.requester
            received_at = request.created_at
        try:
            opening: _Opening | str = self._apply_policy(
                action, kind_of(action).prepare(payload, gateway), requester, excluding=request_id
            )
        except TransientError as exc:
            if self._now() - received_at < PREPARE_PATIENCE:
                return  # the next pass asks again
            opening = f"Stripe did not answer for {PREPARE_PATIENCE_TEXT}: {exc.reason}"
        except (ActionRefused, ExternalError) as exc:
            opening = exc.reason if isinstance(exc, ExternalError) else str(exc)
        with self._sessions.begin() as session:
            request = lock_request(session, request_id)
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

    def _apply_policy(
        self,
        action: str,
        payload: Payload,
        requester: str,
        *,
        session: Session | None = None,
        excluding: int | None = None,
    ) -> _Opening | str:
        """The columns that open a request for approval, or why it cannot be opened.

        `session` reads today's totals for rolling limits (a read-only one is opened when
        none is given); `excluding` is the request itself when it is stored already.
        """
        policy = self._policy()
        decision = self._decide_with(policy, action, payload, requester, session, excluding)
        if decision.refusal is not None:
            return decision.refusal
        now = self._now()
        amount = kind_of(action).amount(payload)
        eligible = sorted(decision.eligible(requester))
        shown_hash = payload_hash(action, payload)
        expires_at = now + decision.expires_after
        columns = {
            "payload": payload,
            "payload_hash": shown_hash,
            "amount_minor": amount.minor if amount else None,
            "currency": amount.currency if amount else None,
            "rule_name": decision.rule_name,
            "approvals_required": decision.approvals_required,
            "approvers": eligible,
            "approver_hint": decision.describe(),
            "policy_digest": policy.digest,
            "expires_at": expires_at,
            "editable": decision.editable,
            "fresh_for_seconds": _seconds(decision.fresh_for),
            "remind_at": now + decision.remind_after if decision.remind_after else None,
            "escalate_at": now + decision.escalate_after if decision.escalate_after else None,
            "escalate_to": sorted(set(decision.escalate_to) - {requester}),
            "escalation_hint": _one_of(decision.escalate_to_labels),
            "approvals_since": None,
        }
        return _Opening(
            columns,
            {
                "payload_hash": shown_hash,
                "payload": payload,
                "rule": decision.rule_name,
                "approvals_required": decision.approvals_required,
                "approvers": eligible,
                "policy_digest": policy.digest,
                "expires_at": expires_at.isoformat(),
            },
        )

    def _decide_with(
        self,
        policy: Policy,
        action: str,
        payload: Payload,
        requester: str,
        session: Session | None,
        excluding: int | None,
    ) -> Decision:
        asked = Asked(action, kind_of(action).amount(payload), requester, _client_of(payload))
        if session is not None:
            totals = RequestTotals(session, self._now(), excluding=excluding)
            return policy.decide(asked, totals, self._directory)
        with self._reads.begin() as reading:
            totals = RequestTotals(reading, self._now(), excluding=excluding)
            return policy.decide(asked, totals, self._directory)

    def _eligible_now(self, session: Session, request: ActionRequest) -> set[str]:
        """Who may decide this request under the policy and groups in force now.

        Never more than the card named: someone removed from a group since cannot
        finish an approval, and a policy change adds nobody to a request under way.
        """
        decision = self._decide_with(
            self._policy(), request.action, request.payload, request.requester, session, request.id
        )
        now = set(decision.eligible(request.requester))
        if request.escalate_at is None and request.escalate_to:  # escalated already
            now |= set(decision.escalate_to)
        return now & set(request.approvers)

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
        self._decide(request_id, user_id, shown_hash, "check", lambda *_: None)

    def approve(self, request_id: int, user_id: str, shown_hash: str) -> ApprovalOutcome:
        outcome: list[ApprovalOutcome] = []

        def record(session: Session, request: ActionRequest, eligible: set[str]) -> None:
            given = set(approvers_so_far(session, request))
            if user_id in given:
                raise AlreadyDecided("You have already approved this request.")
            self._ensure_within_limit(session, request, user_id)
            session.execute(
                _INSERT_APPROVAL,
                {
                    "request_id": request.id,
                    "user_id": user_id,
                    "payload_hash": request.payload_hash,
                    "created_at": self._now(),
                },
            )
            count = len((given | {user_id}) & eligible)
            required = request.approvals_required
            records = [
                audit.Record(
                    "approval.given",
                    user_id,
                    {"payload_hash": request.payload_hash, "policy_digest": self._policy().digest},
                    request.id,
                )
            ]
            if count >= required:
                transition(
                    session,
                    request,
                    State.APPROVED,
                    approved_at=self._now(),
                    card_version=ActionRequest.card_version + 1,
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
        def record(session: Session, request: ActionRequest, _: set[str]) -> None:
            transition(
                session,
                request,
                State.DENIED,
                decided_by=user_id,
                decision_note=reason,
                card_version=ActionRequest.card_version + 1,
            )
            audit.append(
                session,
                "request.denied",
                user_id,
                {"reason": reason, "policy_digest": self._policy().digest},
                request.id,
            )

        self._decide(request_id, user_id, shown_hash, "deny", record)

    def _decide(
        self,
        request_id: int,
        user_id: str,
        shown_hash: str,
        verb: str,
        record: Callable[[Session, ActionRequest, set[str]], None],
    ) -> None:
        """`record` gets who may decide now, as checked: the policy is decided once a click."""

        def act(session: Session, request: ActionRequest) -> None:
            record(session, request, self._ensure_may_decide(session, request, user_id, shown_hash))

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
            request = lock_request(session, request_id)
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
    ) -> set[str]:
        """Who may decide the request now, when `user_id` is one of them; else a refusal."""
        if request.state != State.PENDING.value:
            raise AlreadyDecided(f"Request #{request.id} {_NO_LONGER_PENDING[request.state]}.")
        if user_id == request.requester:
            raise SelfApproval(f"You asked for request #{request.id}; someone else must decide.")
        # The card's list first: an outsider's click costs no policy decision.
        eligible = self._eligible_now(session, request) if user_id in request.approvers else set()
        if user_id not in eligible:
            raise NotAnApprover(
                f"Rule “{request.rule_name}” does not let you decide request #{request.id}."
            )
        # Only someone who may decide gets this far: nobody else's click changes anything.
        if request.expires_at is not None and self._now() >= request.expires_at:
            timers.expire(session, request)
            raise RequestExpired(f"Request #{request.id} has expired.")
        if shown_hash != request.payload_hash:
            raise StaleCard(
                f"Request #{request.id} has changed since this card was shown; "
                "decide on the current card."
            )
        return eligible

    def _ensure_within_limit(self, session: Session, request: ActionRequest, user_id: str) -> None:
        limit = self._policy().approver_daily_limit(request.rule_name or "")
        if limit is None:
            return
        amount = kind_of(request.action).amount(request.payload)
        so_far = (
            RequestTotals(session, self._now()).approved_today(user_id, amount.currency)
            if amount
            else 0
        )
        reason = approver_limit_refusal(limit, amount, so_far)
        if reason is not None:
            raise OverApproverLimit(reason)

    def retry(self, request_id: int, user_id: str) -> None:
        """Run a failed request again; completed steps are not repeated."""

        def act(session: Session, request: ActionRequest) -> None:
            if request.state != State.FAILED.value:
                raise AlreadyDecided(f"Request #{request.id} is {request.state}, not failed.")
            if user_id not in request.approvers:
                raise NotAnApprover(f"Only an approver of #{request.id} may retry it.")
            if timers.lapsed(request, self._now()):
                timers.ask_again(session, request, self._now(), attempt=ActionRequest.attempt + 1)
                return
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

    # -- changing what was asked ----------------------------------------------------------

    def edit(
        self,
        request_id: int,
        user_id: str,
        shown_hash: str,
        values: dict[str, str],
        currency: str,
    ) -> State:
        """Change a pending request as the Edit modal says; approvals given so far are void.

        Raises InvalidEdit (nothing recorded) for a value that cannot stand, ClickRefused
        (audited) when this person may not edit it now. Returns the request's new state:
        RECEIVED when Stripe must check the edited request before its card reopens.
        """
        states: list[State] = []

        def act(session: Session, request: ActionRequest) -> None:
            self._ensure_may_change(request, user_id, shown_hash)
            kind = kind_of(request.action)
            if not request.editable or not kind.editable(request.payload):
                raise NotEditable(f"Request #{request.id} cannot be edited.")
            payload = kind.edited(request.payload, values, currency)
            changes = [
                {"field": label, "from": before, "to": after}
                for (label, before), (_, after) in zip(
                    kind.fields(request.payload), kind.fields(payload), strict=False
                )
                if before != after
            ]
            if not changes:
                states.append(State.PENDING)
                return
            edit = {"by": user_id, "at": self._now().isoformat(), "changes": changes}
            common: dict[str, Any] = {
                "edits": [*request.edits, edit],
                "card_version": ActionRequest.card_version + 1,
            }
            if kind.needs_preparation:
                transition(
                    session,
                    request,
                    State.RECEIVED,
                    payload=payload,
                    payload_hash=payload_hash(request.action, payload),
                    **common,
                )
            else:
                opening = self._apply_policy(
                    request.action,
                    payload,
                    request.requester,
                    session=session,
                    excluding=request.id,
                )
                if isinstance(opening, str):
                    raise NotEditable(f"That change cannot be approved: {opening}")
                transition(session, request, State.PENDING, **opening.columns, **common)
            audit.append(
                session,
                "request.edited",
                user_id,
                {"changes": changes, "payload": payload, "payload_hash": request.payload_hash},
                request.id,
            )
            states.append(State(request.state))

        self._on_click(request_id, user_id, "edit", act, shown_hash)
        return states[0]

    def edit_form(self, request_id: int, user_id: str, shown_hash: str) -> list[EditableField]:
        """What the Edit modal offers this person now; ClickRefused (audited) otherwise."""
        fields: list[EditableField] = []

        def act(session: Session, request: ActionRequest) -> None:
            self._ensure_may_change(request, user_id, shown_hash)
            offered = kind_of(request.action).editable(request.payload)
            if not request.editable or not offered:
                raise NotEditable(f"Request #{request.id} cannot be edited.")
            fields.extend(offered)

        self._on_click(request_id, user_id, "edit", act, shown_hash)
        return fields

    def withdraw(self, request_id: int, user_id: str) -> None:
        """The requester takes back a request nobody has decided yet."""

        def act(session: Session, request: ActionRequest) -> None:
            if user_id != request.requester:
                raise NotTheRequester(f"Only the person who asked may withdraw #{request.id}.")
            if request.state not in (State.PENDING.value, State.RECEIVED.value):
                raise AlreadyDecided(f"Request #{request.id} {_NO_LONGER_PENDING[request.state]}.")
            transition(
                session,
                request,
                State.CANCELLED,
                decided_by=user_id,
                card_version=ActionRequest.card_version + 1,
            )
            audit.append(session, "request.withdrawn", user_id, {}, request.id)
            outbox.reply(session, request.origin, f"Request #{request.id} was withdrawn.")

        self._on_click(request_id, user_id, "withdraw", act)

    def _ensure_may_change(self, request: ActionRequest, user_id: str, shown_hash: str) -> None:
        if request.state != State.PENDING.value:
            raise AlreadyDecided(f"Request #{request.id} {_NO_LONGER_PENDING[request.state]}.")
        if user_id != request.requester and user_id not in request.approvers:
            raise NotAnApprover(f"Only the requester or an approver may edit #{request.id}.")
        if shown_hash != request.payload_hash:
            raise StaleCard(
                f"Request #{request.id} has changed since this card was shown; "
                "edit the current card."
            )


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


def _client_of(payload: Payload) -> str | None:
    """The client's email, where the request names one (refunds and payments once prepared)."""
    email = payload.get("client_email")
    return str(email) if email else None


def _seconds(duration: timedelta | None) -> int | None:
    return int(duration.total_seconds()) if duration else None


def _one_of(labels: Sequence[str]) -> str:
    if len(labels) <= 1:
        return "".join(labels)
    return ", ".join(labels[:-1]) + " or " + labels[-1]
