"""The policy file: who must approve which actions, and how many of them.

`load_policy("policy.yml").decide(Asked("payments.refund", amount, requester, client),
totals, directory)` gives the `Decision` of the first matching rule, e.g.
`2 approvals from finance`, with who may approve, reminders, escalation and any refusal;
`explain` says why, rule by rule; `describe_changes` says what an edit changed. A file
that cannot be followed raises `PolicyFileError` listing every problem with its line.
"""

from governance.policy.changes import describe_changes
from governance.policy.checks import DirectoryReport, check_directory
from governance.policy.durations import format_duration, parse_duration
from governance.policy.explain import Explanation, RuleVerdict, explain, format_explanation
from governance.policy.issues import PolicyFileError, PolicyIssue
from governance.policy.loader import load_policy, parse_policy
from governance.policy.model import Check, Group, Policy, Rule
from governance.policy.terms import (
    DEFAULTS_NAME,
    AmountOver,
    Asked,
    Decision,
    Directory,
    Requirement,
    Totals,
    approver_limit_refusal,
)

__all__ = [
    "DEFAULTS_NAME",
    "AmountOver",
    "Asked",
    "Check",
    "Decision",
    "Directory",
    "DirectoryReport",
    "Explanation",
    "Group",
    "Policy",
    "PolicyFileError",
    "PolicyIssue",
    "Requirement",
    "Rule",
    "RuleVerdict",
    "Totals",
    "approver_limit_refusal",
    "check_directory",
    "describe_changes",
    "explain",
    "format_duration",
    "format_explanation",
    "load_policy",
    "parse_duration",
    "parse_policy",
]
