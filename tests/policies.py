"""Policies used across tests."""

from __future__ import annotations

from governance.policy import Policy, parse_policy

STANDARD = """\
version: 1
groups:
  finance: [U0FIN1, U0FIN2, U0FIN3]
  sales: [U0SALES1]
defaults:
  approvers: [finance]
  approvals: 1
  expires_after: 24h
rules:
  - name: parliament
    action: payments.refund
    amount_over: 10000 USD
    approvals: 2
    approvers: [finance]
  - name: invoices
    action: payments.*
    approvers: [finance, sales]
"""


def standard_policy() -> Policy:
    return parse_policy(STANDARD)
