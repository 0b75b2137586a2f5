"""Readers for the values a policy file holds: user IDs, approvers, durations, amounts.

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
from governance.policy.nodes import NodeReader, text_of

# Slack user IDs: `U…`, or `W…` on Enterprise Grid.
USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
GROUP_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]*$")
USER_ID_EXAMPLE = "U0123ABCD"


def is_user_id(text: str) -> bool:
    return USER_ID.match(text) is not None


@dataclass
class Groups:
    members: dict[str, frozenset[str]] = field(default_factory=dict)
    # Groups written with errors: their names still resolve, so one mistake is not
    # reported again at every place the group is used.
    broken: set[str] = field(default_factory=set)

    def knows(self, name: str) -> bool:
        return name in self.members or name in self.broken


@dataclass(frozen=True)
class Approvers:
    labels: tuple[str, ...]  # as written: group names and user IDs
    user_ids: frozenset[str]


def read_group_name(reader: NodeReader, key_node: Node, name: str) -> bool:
    if is_user_id(name):
        reader.error(key_node, f"group name `{name}` looks like a Slack user ID; use lower case")
    elif GROUP_NAME.match(name) is None:
        reader.error(key_node, f"group name `{name}` may hold only letters, digits, `-`, `_`, `.`")
    else:
        return True
    return False


def read_members(reader: NodeReader, node: Node, path: str) -> frozenset[str] | None:
    items = reader.items(node, path, f"[{USER_ID_EXAMPLE}]")
    if items is None:
        return None
    members: set[str] = set()
    valid = True
    for index, item in enumerate(items):
        text = text_of(item)
        if text is not None and is_user_id(text):
            members.add(text)
        else:
            valid = False
            shown = "this entry" if text is None else f"`{text}`"
            reader.error(
                item, f"{path}[{index}]: {shown} is not a Slack user ID like {USER_ID_EXAMPLE}"
            )
    return frozenset(members) if valid else None


def read_approvers(reader: NodeReader, node: Node, path: str, groups: Groups) -> Approvers | None:
    items = reader.items(node, path, "[finance] or [finance, U0123ABCD]")
    if items is None:
        return None
    if not items:
        reader.error(node, f"{path} must name at least one group or user ID")
        return None
    labels: list[str] = []
    user_ids: set[str] = set()
    valid = True
    for index, item in enumerate(items):
        label = text_of(item)
        if label is not None and label in groups.members:
            user_ids |= groups.members[label]
        elif label is not None and is_user_id(label):
            user_ids.add(label)
        elif label is not None and label in groups.broken:
            valid = False  # already reported where the group is defined
        else:
            valid = False
            reader.error(item, f"{path}[{index}]: {_neither(label, groups)}")
        if label is not None and label not in labels:
            labels.append(label)
    return Approvers(tuple(labels), frozenset(user_ids)) if valid else None


def _neither(label: str | None, groups: Groups) -> str:
    known = ", ".join(sorted({*groups.members, *groups.broken})) or "none defined"
    shown = "this entry" if label is None else f"`{label}`"
    return (
        f"{shown} names neither a group (groups: {known}) "
        f"nor a Slack user ID like {USER_ID_EXAMPLE}"
    )


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
