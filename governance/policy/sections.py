"""Reading `groups` and `defaults`, and the approval terms that defaults and rules share.

The keys each part accepts are listed here; a new key is added to its tuple and read
in the matching function.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from yaml.nodes import Node

from governance.policy.fields import (
    Approvers,
    Groups,
    read_approvers,
    read_duration,
    read_group_name,
    read_members,
)
from governance.policy.model import DEFAULTS_NAME, Requirement
from governance.policy.nodes import NodeReader, is_null

REQUIREMENT_KEYS = ("approvers", "approvals", "expires_after")
DEFAULTS_KEYS = REQUIREMENT_KEYS
# What `defaults` means when it leaves a key out (`approvers` it may not leave out).
FALLBACK = Requirement(DEFAULTS_NAME, 1, frozenset(), timedelta(hours=24))


def read_groups(reader: NodeReader, node: Node | None) -> Groups:
    groups = Groups()
    if node is None or is_null(node):
        return groups
    for entry in reader.entries(node, "groups") or []:
        if not read_group_name(reader, entry.key_node, entry.key):
            continue
        members = read_members(reader, entry.value, f"groups.{entry.key}")
        if members is None:
            groups.broken.add(entry.key)
        else:
            groups.members[entry.key] = members
    return groups


def read_defaults(reader: NodeReader, node: Node | None, groups: Groups) -> Requirement | None:
    if node is None:
        reader.error(1, "missing `defaults`: who approves when no rule matches")
        return None
    fields = reader.fields(node, "defaults", DEFAULTS_KEYS)
    if fields is None:
        return None
    if "approvers" not in fields:
        reader.error(node, "defaults is missing `approvers`")
    return read_requirement(reader, fields, node, "defaults", DEFAULTS_NAME, FALLBACK, groups)


def read_requirement(
    reader: NodeReader,
    fields: dict[str, Node],
    owner: Node,
    path: str,
    name: str,
    inherited: Requirement | None,
    groups: Groups,
) -> Requirement | None:
    """`inherited` with what `fields` overrides; None when a part is broken or unknown."""
    approvers = approvals = expires_after = None
    if inherited is not None:
        approvers = Approvers(inherited.approver_labels, inherited.approvers)
        approvals, expires_after = inherited.approvals_required, inherited.expires_after
    if "approvers" in fields:
        approvers = read_approvers(reader, fields["approvers"], f"{path}.approvers", groups)
    if "approvals" in fields:
        approvals = reader.positive_int(fields["approvals"], f"{path}.approvals")
    if "expires_after" in fields:
        expires_after = read_duration(reader, fields["expires_after"], f"{path}.expires_after")
    if "approvals" in fields or "approvers" in fields:  # else checked where they were set
        _check_quorum(reader, approvals, approvers, fields, owner, path)
    if approvers is None or not approvers.labels or approvals is None or expires_after is None:
        return None
    return replace(
        FALLBACK,
        rule_name=name,
        approvals_required=approvals,
        approvers=approvers.user_ids,
        approver_labels=approvers.labels,
        expires_after=expires_after,
    )


def _check_quorum(
    reader: NodeReader,
    needed: int | None,
    approvers: Approvers | None,
    fields: dict[str, Node],
    owner: Node,
    path: str,
) -> None:
    """Terms that need more people than could ever approve would block every request."""
    if needed is None or approvers is None or not approvers.labels:
        return  # a part is broken and already reported, or unknown
    able = len(approvers.user_ids)
    at = fields.get("approvals") or fields.get("approvers") or owner
    if "approvals" in fields:
        asks = f"{path}.approvals is {needed}"
    else:
        asks = f"{path} needs {needed} approval{'s' if needed > 1 else ''} (from defaults)"
    if needed > able:
        who = ", ".join(approvers.labels)
        reader.error(at, f"{asks}, but {_people(able)} could ever approve ({who})")
    elif needed == able:
        # The requester may not approve their own request, so one short of the quorum.
        reader.warn(at, f"{asks}: a request made by one of its approvers can never be approved")


def _people(count: int) -> str:
    if count == 0:
        return "nobody"
    return f"only {count} {'person' if count == 1 else 'people'}"
