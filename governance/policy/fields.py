"""Readers for the values a policy file holds: user IDs, handles, approvers, durations,
amounts, flags and globs.

Each takes the node and its path (`rules[0].approvers`), records any problem on the
reader, and returns None when the value cannot be used.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta

from yaml.nodes import Node, SequenceNode

from governance.errors import InvalidAmount, InvalidDuration
from governance.money import Money, parse_amount
from governance.policy.durations import EXAMPLES, parse_duration
from governance.policy.model import AmountOver
from governance.policy.nodes import NodeReader, text_of, value_of

# Slack user IDs: `U…`, or `W…` on Enterprise Grid.
USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
# Slack user-group handles, as people type them in Slack: `@finance-team`.
HANDLE = re.compile(r"^@[a-z0-9][a-z0-9._-]*$")
GROUP_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]*$")
USER_ID_EXAMPLE = "U0123ABCD"
HANDLE_EXAMPLE = '"@finance-team"'


def is_user_id(text: str) -> bool:
    return USER_ID.match(text) is not None


def is_handle(text: str) -> bool:
    return HANDLE.match(text) is not None


@dataclass
class Groups:
    members: dict[str, frozenset[str]] = field(default_factory=dict)  # user IDs only
    handles: dict[str, tuple[str, ...]] = field(default_factory=dict)
    lines: dict[str, int] = field(default_factory=dict)
    # Groups written with errors: their names still resolve, so one mistake is not
    # reported again at every place the group is used.
    broken: set[str] = field(default_factory=set)

    def knows(self, name: str) -> bool:
        return name in self.members or name in self.broken


@dataclass(frozen=True)
class Approvers:
    labels: tuple[str, ...]  # as written: group names, user IDs and `@handles`
    user_ids: frozenset[str]  # the user IDs written, groups resolved
    # Whether a Slack user group is among them: who it holds is known only when asked.
    has_handles: bool = False


def read_group_name(reader: NodeReader, key_node: Node, name: str) -> bool:
    if is_user_id(name):
        reader.error(key_node, f"group name `{name}` looks like a Slack user ID; use lower case")
    elif GROUP_NAME.match(name) is None:
        reader.error(key_node, f"group name `{name}` may hold only letters, digits, `-`, `_`, `.`")
    else:
        return True
    return False


def read_members(
    reader: NodeReader, node: Node, path: str
) -> tuple[frozenset[str], tuple[str, ...]] | None:
    """A group's user IDs and Slack user-group handles."""
    items = reader.items(node, path, f"[{USER_ID_EXAMPLE}, {HANDLE_EXAMPLE}]")
    if items is None:
        return None
    members: set[str] = set()
    handles: list[str] = []
    valid = True
    for index, item in enumerate(items):
        text = text_of(item)
        if text is not None and is_user_id(text):
            members.add(text)
        elif text is not None and is_handle(text):
            if text not in handles:
                handles.append(text)
        else:
            valid = False
            reader.error(item, f"{path}[{index}]: {_not_a_member(text)}")
    return (frozenset(members), tuple(handles)) if valid else None


def _not_a_member(text: str | None) -> str:
    shown = "this entry" if text is None else f"`{text}`"
    if text is not None and text.startswith("@"):
        return f"{shown} is not a Slack user-group handle like {HANDLE_EXAMPLE} (lower case)"
    return (
        f"{shown} is not a Slack user ID like {USER_ID_EXAMPLE} "
        f"or a Slack user-group handle like {HANDLE_EXAMPLE}"
    )


def read_approvers(
    reader: NodeReader,
    node: Node,
    path: str,
    groups: Groups,
    example: str = "[finance] or [finance, U0123ABCD]",
) -> Approvers | None:
    """A list of group names, user IDs and `@handles` (approvers, escalate_to, requester)."""
    items = reader.items(node, path, example)
    if items is None:
        return None
    if not items:
        reader.error(node, f"{path} must name at least one group or user ID")
        return None
    labels: list[str] = []
    user_ids: set[str] = set()
    has_handles = False
    valid = True
    for index, item in enumerate(items):
        label = text_of(item)
        if label is not None and label in groups.members:
            user_ids |= groups.members[label]
            has_handles = has_handles or bool(groups.handles.get(label))
        elif label is not None and is_user_id(label):
            user_ids.add(label)
        elif label is not None and is_handle(label):
            has_handles = True
        elif label is not None and label in groups.broken:
            valid = False  # already reported where the group is defined
        else:
            valid = False
            reader.error(item, f"{path}[{index}]: {_neither(label, groups)}")
        if label is not None and label not in labels:
            labels.append(label)
    return Approvers(tuple(labels), frozenset(user_ids), has_handles) if valid else None


def _neither(label: str | None, groups: Groups) -> str:
    known = ", ".join(sorted({*groups.members, *groups.broken})) or "none defined"
    shown = "this entry" if label is None else f"`{label}`"
    return (
        f"{shown} names neither a group (groups: {known}), a Slack user ID like "
        f"{USER_ID_EXAMPLE}, nor a Slack user-group handle like {HANDLE_EXAMPLE}"
    )


def read_flag(reader: NodeReader, node: Node, path: str) -> bool | None:
    value = value_of(node)
    if isinstance(value, bool):
        return value
    reader.error(node, f"{path} must be true or false")
    return None


def read_glob(reader: NodeReader, node: Node, path: str) -> str | None:
    """A glob on an email, compared case-insensitively: kept lower-cased."""
    value = value_of(node)
    if isinstance(value, str) and value.strip():
        return value.strip().lower()
    reader.error(node, f'{path} must be a glob on the client\'s email, like "*@example.com"')
    return None


def read_duration(reader: NodeReader, node: Node, path: str) -> timedelta | None:
    text = text_of(node)
    if text is None:
        reader.error(node, f"{path} must be a duration like {EXAMPLES}")
        return None
    try:
        return parse_duration(text)
    except InvalidDuration as exc:
        reader.error(node, f"{path}: {exc}")
        return None


def read_amount_over(
    reader: NodeReader, node: Node, path: str, default_currency: str
) -> AmountOver | None:
    """`10000 USD`, or a list with at most one amount per currency: `[10000 USD, 9000 EUR]`."""
    items = list(node.value) if isinstance(node, SequenceNode) else [node]
    if not items:
        reader.error(node, f"{path} must name at least one amount")
        return None
    limits: list[Money] = []
    valid = True
    for item in items:
        limit = _read_amount(reader, item, path, default_currency)
        if limit is None:
            valid = False
        elif any(seen.currency == limit.currency for seen in limits):
            valid = False
            reader.error(item, f"{path} has two amounts in {limit.currency.upper()}")
        else:
            limits.append(limit)
    return AmountOver(tuple(limits)) if valid else None


def _read_amount(reader: NodeReader, node: Node, path: str, currency: str) -> Money | None:
    text = text_of(node)
    if text is None:
        reader.error(node, f"{path} must be an amount like `10000 USD`")
        return None
    try:
        return parse_amount(text, currency)
    except InvalidAmount as exc:
        reader.error(node, f"{path}: {exc}")
        return None
