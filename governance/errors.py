"""Errors of the governance core; `bot/` turns each into a message for the person.

GovernanceError
 ├── InvalidAmount          text that is not a positive amount
 ├── PolicyError            the policy file is unusable (see governance.policy)
 │    ├── PolicyFileError   every problem found in a file, each with its line
 │    └── InvalidDuration   text that is not a duration like `24h`
 ├── RequestNotFound
 ├── ActionRefused          the request may not go ahead (forbidden, nothing to refund)
 └── ClickRefused           a decision that changes nothing
      ├── NotAnApprover
      ├── SelfApproval
      ├── AlreadyDecided    the request is no longer pending
      ├── StaleCard         the card shows a payload that has since changed
      └── RequestExpired
"""


class GovernanceError(Exception):
    """Base of every error the core raises on purpose."""


class InvalidAmount(GovernanceError, ValueError):
    pass


class PolicyError(GovernanceError):
    pass


class InvalidDuration(PolicyError, ValueError):
    pass


class RequestNotFound(GovernanceError):
    pass


class ActionRefused(GovernanceError):
    pass


class ClickRefused(GovernanceError):
    pass


class NotAnApprover(ClickRefused):
    pass


class SelfApproval(ClickRefused):
    pass


class AlreadyDecided(ClickRefused):
    pass


class StaleCard(ClickRefused):
    pass


class RequestExpired(ClickRefused):
    pass
