"""The modal that asks a denier for the reason (opened with `views.open`)."""

from __future__ import annotations

from typing import Any

from bot import messages
from bot.escape import MODAL_BUTTON_MAX, MODAL_TITLE_MAX, PRIVATE_METADATA_MAX, plain
from governance.actions.base import EditableField

DENY_CALLBACK_ID = "deny_reason"
EDIT_CALLBACK_ID = "edit_request"
EDIT_ACTION_ID = "value"
_LABEL_MAX = 2000
REASON_BLOCK_ID = "reason"
REASON_ACTION_ID = "reason"
DENY_REASON_MAX = 500  # Stripe's limit on a metadata value, where the reason may end up


def build_deny_modal(button_value: str, request_id: int) -> dict[str, Any]:
    """The view for `views.open`; the card's button value comes back as `private_metadata`."""
    reason = {
        "type": "input",
        "block_id": REASON_BLOCK_ID,
        "optional": False,
        "label": _plain_text(messages.DENY_LABEL),
        "element": {
            "type": "plain_text_input",
            "action_id": REASON_ACTION_ID,
            "multiline": True,
            "max_length": DENY_REASON_MAX,
            "placeholder": _plain_text(messages.DENY_PLACEHOLDER),
        },
    }
    return _modal(
        DENY_CALLBACK_ID,
        button_value,
        messages.DENY_TITLE.format(request_id=request_id),
        messages.DENY_SUBMIT,
        [
            {
                "type": "section",
                "text": _plain_text(messages.DENY_PROMPT.format(request_id=request_id)),
            },
            reason,
        ],
    )


def build_edit_modal(
    button_value: str, request_id: int, fields: list[EditableField]
) -> dict[str, Any]:
    """One input per editable field, filled with its current value; the card's button
    value comes back as `private_metadata`, so the edit applies to what was shown."""
    return _modal(
        EDIT_CALLBACK_ID,
        button_value,
        messages.EDIT_TITLE.format(request_id=request_id),
        messages.EDIT_SUBMIT,
        [
            {"type": "section", "text": _plain_text(messages.EDIT_PROMPT)},
            *(_input(field) for field in fields),
        ],
    )


def _modal(
    callback_id: str, button_value: str, title: str, submit: str, blocks: list[dict[str, Any]]
) -> dict[str, Any]:
    if not 0 < len(button_value) <= PRIVATE_METADATA_MAX:
        raise ValueError(f"button_value must be 1 to {PRIVATE_METADATA_MAX} characters")
    return {
        "type": "modal",
        "callback_id": callback_id,
        "private_metadata": button_value,
        "title": _plain_text(plain(title, MODAL_TITLE_MAX)),
        "submit": _plain_text(plain(submit, MODAL_BUTTON_MAX)),
        "close": _plain_text(plain(messages.DENY_CLOSE, MODAL_BUTTON_MAX)),
        "blocks": blocks,
    }


def _input(field: EditableField) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": EDIT_ACTION_ID,
        "multiline": field.multiline,
        "max_length": field.max_length,
    }
    if field.value:
        element["initial_value"] = field.value[: field.max_length]
    return {
        "type": "input",
        "block_id": field.name,
        "optional": True,
        "label": _plain_text(plain(field.label, _LABEL_MAX)),
        "element": element,
    }


def edited_values(view: dict[str, Any]) -> dict[str, str]:
    """The submitted text of each input, by field name (empty inputs as empty text)."""
    values = view.get("state", {}).get("values", {})
    return {
        block: str((actions.get(EDIT_ACTION_ID) or {}).get("value") or "")
        for block, actions in values.items()
        if isinstance(actions, dict)
    }


def _plain_text(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text}
