"""From a stored request to what its card shows."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from bot.blocks.cards import CardView, Edit
from governance.actions import kind_of
from governance.requests import approvers_so_far
from storage.models import ActionRequest


def button_value(request: ActionRequest) -> str:
    """Buttons carry the payload hash, so a click decides exactly what the card showed."""
    return f"{request.id}:{request.payload_hash}"


def parse_button_value(value: str) -> tuple[int, str]:
    request_id, _, shown_hash = value.partition(":")
    if not request_id.isdigit() or len(shown_hash) != 64:
        raise ValueError("not a card button value")
    return int(request_id), shown_hash


def card_view(session: Session, request: ActionRequest) -> CardView:
    kind = kind_of(request.action)
    assert request.expires_at is not None
    return CardView(
        request_id=request.id,
        title=kind.title,
        state=request.state,
        fields=tuple(kind.fields(request.payload)),
        requester=request.requester,
        rule_name=request.rule_name or "defaults",
        approvals_required=request.approvals_required,
        approved_by=tuple(approvers_so_far(session, request)),
        approver_hint=request.approver_hint,
        expires_at=request.expires_at,
        button_value=button_value(request),
        denied_by=request.decided_by,
        deny_reason=request.decision_note,
        result_lines=_result_lines(request.result),
        failure_reason=request.failure_reason,
        editable=request.editable and bool(kind.editable(request.payload)),
        edits=tuple(_edit(edit) for edit in request.edits),
        api_client=_api_client(request.origin),
    )


def _api_client(origin: dict[str, Any] | None) -> str | None:
    """The token's name when the request came over the REST API."""
    if origin and origin.get("via") == "api":
        return str(origin.get("token_name") or "unnamed")
    return None


def _edit(edit: dict[str, Any]) -> Edit:
    return Edit(
        str(edit["by"]),
        tuple((str(c["field"]), str(c["from"]), str(c["to"])) for c in edit["changes"]),
    )


def _result_lines(result: dict[str, Any]) -> tuple[str, ...]:
    if not result:
        return ()
    lines = [str(result["summary"])]
    if result.get("hosted_invoice_url"):
        lines.append(f"<{result['hosted_invoice_url']}|Hosted invoice>")
    if result.get("invoice_pdf"):
        lines.append(f"<{result['invoice_pdf']}|PDF>")
    return tuple(lines)
