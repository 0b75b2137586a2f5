"""Errors of the Stripe adapter, placed in the ports' tree so the executor knows what to retry.

    ExternalError                      (governance.ports)
     ├── TransientError                the same call may succeed later
     │    ├── RateLimited              Stripe answered 429
     │    └── StripeUnavailable        5xx, 409 key in use, timeout, network error
     └── RejectedError                 Stripe said no; the same call will fail again
          ├── PaymentDeclined          a card error (402)
          ├── InvalidStripeRequest     400: bad parameters, or the object's state forbids it
          ├── StripeAccessDenied       401/403: the API key is wrong or lacks permission
          └── NotFoundError            (governance.ports)
               └── StripeObjectNotFound   no such customer, invoice, payment …

Every `reason` is safe to show a person: it never holds the API key.
"""

from __future__ import annotations

from governance.ports import NotFoundError, RejectedError, TransientError


class RateLimited(TransientError):
    pass


class StripeUnavailable(TransientError):
    pass


class PaymentDeclined(RejectedError):
    pass


class InvalidStripeRequest(RejectedError):
    pass


class StripeAccessDenied(RejectedError):
    pass


class StripeObjectNotFound(NotFoundError):
    pass
