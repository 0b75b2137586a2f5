"""Errors of the governance core; `bot/` turns each into a message for the person.

GovernanceError
 ├── InvalidAmount          text that is not a positive amount
 ├── PolicyError            the policy file is unusable (see governance.policy)
 │    ├── PolicyFileError   every problem found in a file, each with its line
 │    └── InvalidDuration   text that is not a duration like `24h`
 ├── RequestNotFound
 ├── ActionRefused          the request may not go ahead (forbidden, nothing to refund)
 ├── InvalidEdit            an edited value that cannot stand (names the field)
 └── ClickRefused           a decision that changes nothing
      ├── NotAnApprover
      ├── SelfApproval
      ├── AlreadyDecided    the request is no longer pending
      ├── StaleCard         the card shows a payload that has since changed
      ├── NotEditable       the policy does not let this request be edited (or the edit)
      ├── NotTheRequester   only the requester may withdraw a request
      ├── OverApproverLimit the approver's daily limit would be passed
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


class InvalidEdit(GovernanceError, ValueError):
    """An edited value that cannot stand; `field` names it for the modal."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


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


class NotEditable(ClickRefused):
    pass


class NotTheRequester(ClickRefused):
    pass


class OverApproverLimit(ClickRefused):
    pass


class RequestExpired(ClickRefused):
    pass
