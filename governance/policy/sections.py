"""Reading `groups` and `defaults`, and the approval terms that defaults and rules share.

The keys each part accepts are listed here; a new key is added to its tuple and read
in the matching function.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from yaml.nodes import Node

from governance.policy.durations import format_duration
from governance.policy.fields import (
    Approvers,
    Groups,
    is_handle,
    read_amount_over,
    read_approvers,
    read_duration,
    read_flag,
    read_group_name,
    read_members,
)
from governance.policy.model import DEFAULTS_NAME, AmountOver, Requirement
from governance.policy.nodes import NodeReader, is_null, line_of

APPROVER_KEYS = ("approvers", "approvals")
TIMING_KEYS = ("expires_after", "remind_after", "escalate_after", "escalate_to")
REQUIREMENT_KEYS = (*APPROVER_KEYS, *TIMING_KEYS, "fresh_for", "editable", "approver_daily_limit")
DEFAULTS_KEYS = REQUIREMENT_KEYS
# What `defaults` means when it leaves a key out (`approvers` it may not leave out).
FALLBACK = Requirement(DEFAULTS_NAME, 1, frozenset(), timedelta(hours=24))
ESCALATE_EXAMPLE = "[owners] or [owners, U0123ABCD]"


def read_groups(reader: NodeReader, node: Node | None) -> Groups:
    groups = Groups()
    if node is None or is_null(node):
        return groups
    for entry in reader.entries(node, "groups") or []:
        if not read_group_name(reader, entry.key_node, entry.key):
            continue
        groups.lines[entry.key] = line_of(entry.key_node)
        members = read_members(reader, entry.value, f"groups.{entry.key}")
        if members is None:
            groups.broken.add(entry.key)
        else:
            groups.members[entry.key], groups.handles[entry.key] = members
    return groups


def read_defaults(
    reader: NodeReader, node: Node | None, groups: Groups, default_currency: str = "usd"
) -> Requirement | None:
    if node is None:
        reader.error(1, "missing `defaults`: who approves when no rule matches")
        return None
    fields = reader.fields(node, "defaults", DEFAULTS_KEYS)
    if fields is None:
        return None
    if "approvers" not in fields:
        reader.error(node, "defaults is missing `approvers`")
    return read_requirement(
        reader, fields, node, "defaults", DEFAULTS_NAME, FALLBACK, groups, default_currency
    )


@dataclass
class _Terms:
    """Requirement terms as they are read: None where unknown or broken."""

    approvers: Approvers | None = None
    approvals: int | None = None
    expires_after: timedelta | None = None
    remind_after: timedelta | None = None
    escalate_after: timedelta | None = None
    escalate_to: Approvers | None = None
    fresh_for: timedelta | None = None
    editable: bool = False
    approver_daily_limit: AmountOver | None = None


def _inherit(inherited: Requirement, groups: Groups) -> _Terms:
    return _Terms(
        approvers=Approvers(
            inherited.approver_labels,
            inherited.approvers,
            _has_handles(inherited.approver_labels, groups),
        ),
        approvals=inherited.approvals_required,
        expires_after=inherited.expires_after,
        remind_after=inherited.remind_after,
        escalate_after=inherited.escalate_after,
        escalate_to=(
            Approvers(
                inherited.escalate_to_labels,
                inherited.escalate_to,
                _has_handles(inherited.escalate_to_labels, groups),
            )
            if inherited.escalate_to_labels
            else None
        ),
        fresh_for=inherited.fresh_for,
        editable=inherited.editable,
        approver_daily_limit=inherited.approver_daily_limit,
    )


def _has_handles(labels: tuple[str, ...], groups: Groups) -> bool:
    return any(is_handle(label) or groups.handles.get(label) for label in labels)


def read_requirement(
    reader: NodeReader,
    fields: dict[str, Node],
    owner: Node,
    path: str,
    name: str,
    inherited: Requirement | None,
    groups: Groups,
    default_currency: str = "usd",
    *,
    forbid: bool = False,
) -> Requirement | None:
    """`inherited` with what `fields` overrides; None when a part is broken or unknown."""
    terms = _Terms() if inherited is None else _inherit(inherited, groups)
    broken = False

    def read(key: str, value: object) -> None:
        nonlocal broken
        if value is None:
            broken = True
        else:
            setattr(terms, key, value)

    if "approvers" in fields:
        terms.approvers = read_approvers(reader, fields["approvers"], f"{path}.approvers", groups)
    if "approvals" in fields:
        terms.approvals = reader.positive_int(fields["approvals"], f"{path}.approvals")
    if "expires_after" in fields:
        terms.expires_after = read_duration(
            reader, fields["expires_after"], f"{path}.expires_after"
        )
    for key in ("remind_after", "escalate_after", "fresh_for"):
        if key in fields:
            read(key, read_duration(reader, fields[key], f"{path}.{key}"))
    if "escalate_to" in fields:
        at = f"{path}.escalate_to"
        read(
            "escalate_to",
            read_approvers(reader, fields["escalate_to"], at, groups, ESCALATE_EXAMPLE),
        )
    if "editable" in fields:
        read("editable", read_flag(reader, fields["editable"], f"{path}.editable"))
    if "approver_daily_limit" in fields:
        at = f"{path}.approver_daily_limit"
        read(
            "approver_daily_limit",
            read_amount_over(reader, fields["approver_daily_limit"], at, default_currency),
        )
    if not forbid:  # a rule that forbids needs nobody to approve, nor any timing
        if "approvals" in fields or "approvers" in fields:  # else checked where they were set
            _check_quorum(reader, terms.approvals, terms.approvers, fields, owner, path)
        if not broken and any(key in fields for key in TIMING_KEYS):
            _check_timing(reader, terms, fields, owner, path)
    approvers = terms.approvers
    if approvers is None or not approvers.labels or broken:
        return None
    if terms.approvals is None or terms.expires_after is None:
        return None
    escalate_to = terms.escalate_to
    return Requirement(
        rule_name=name,
        approvals_required=terms.approvals,
        approvers=approvers.user_ids,
        expires_after=terms.expires_after,
        approver_labels=approvers.labels,
        remind_after=terms.remind_after,
        escalate_after=terms.escalate_after,
        escalate_to=frozenset() if escalate_to is None else escalate_to.user_ids,
        escalate_to_labels=() if escalate_to is None else escalate_to.labels,
        fresh_for=terms.fresh_for,
        editable=terms.editable,
        approver_daily_limit=terms.approver_daily_limit,
    )


def _check_quorum(
    reader: NodeReader,
    needed: int | None,
    approvers: Approvers | None,
    fields: dict[str, Node],
    owner: Node,
    path: str,
) -> None:
    """Terms that need more people than could ever approve would block every request.

    Only user IDs can be counted here: who a Slack user group holds is known when a
    request is decided (which then refuses it, naming the group), or when `explain`
    or `check_directory` is given a directory.
    """
    if needed is None or approvers is None or not approvers.labels:
        return  # a part is broken and already reported, or unknown
    if approvers.has_handles:
        return
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


def _check_timing(
    reader: NodeReader, terms: _Terms, fields: dict[str, Node], owner: Node, path: str
) -> None:
    """Reminders before escalation, escalation with someone to ask, both before expiry."""

    def shown(key: str, value: timedelta) -> str:
        return format_duration(value) + ("" if key in fields else ", from defaults")

    def at(*keys: str) -> Node:
        return next((fields[key] for key in keys if key in fields), owner)

    remind, escalate, expires = terms.remind_after, terms.escalate_after, terms.expires_after
    if escalate is not None and terms.escalate_to is None:
        reader.error(
            at("escalate_after"), f"{path}.escalate_after needs escalate_to: whom to ask then"
        )
    if escalate is None and terms.escalate_to is not None:
        reader.error(
            at("escalate_to"), f"{path}.escalate_to needs escalate_after: when to ask them"
        )
    if remind is not None and escalate is not None and escalate <= remind:
        reader.error(
            at("escalate_after", "remind_after"),
            f"{path}: escalate_after ({shown('escalate_after', escalate)}) must be after "
            f"remind_after ({shown('remind_after', remind)})",
        )
    escalate_to = terms.escalate_to
    if (
        "escalate_to" in fields
        and escalate_to is not None
        and not escalate_to.user_ids
        and not escalate_to.has_handles
    ):
        who = ", ".join(escalate_to.labels)
        reader.error(fields["escalate_to"], f"{path}.escalate_to: nobody could be asked ({who})")
    if expires is None:
        return
    for key, value, what in (
        ("remind_after", remind, "anyone is reminded"),
        ("escalate_after", escalate, "anyone is asked"),
    ):
        if value is not None and value >= expires:
            reader.warn(
                at(key, "expires_after"),
                f"{path}: {key} ({shown(key, value)}) is not before expires_after "
                f"({shown('expires_after', expires)}): the request expires before {what}",
            )


def _people(count: int) -> str:
    if count == 0:
        return "nobody"
    return f"only {count} {'person' if count == 1 else 'people'}"
