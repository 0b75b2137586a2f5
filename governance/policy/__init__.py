"""The policy file: who must approve which actions, and how many of them.

`load_policy("policy.yml").decide("payments.refund", amount)` gives the `Requirement`
of the first matching rule, e.g. `2 approvals from finance`; a file that cannot be
followed raises `PolicyFileError` listing every problem with its line.
"""

from governance.policy.durations import format_duration, parse_duration
from governance.policy.issues import PolicyFileError, PolicyIssue
from governance.policy.loader import load_policy, parse_policy
from governance.policy.model import DEFAULTS_NAME, AmountOver, Policy, Requirement, Rule

__all__ = [
    "DEFAULTS_NAME",
    "AmountOver",
    "Policy",
    "PolicyFileError",
    "PolicyIssue",
    "Requirement",
    "Rule",
    "format_duration",
    "load_policy",
    "parse_duration",
    "parse_policy",
]
