"""Stripe's error answers, raised inside the fake and rendered as Stripe renders them.

`saved` follows Stripe's idempotency rule: an answer is kept for replay only once the
endpoint has started executing, so failed validation (and 429s) can be retried with
the same key while a refused operation (declined card, nothing left to refund) replays.
"""

from __future__ import annotations

from typing import Any


class StripeFailure(Exception):
    def __init__(
        self,
        status: int,
        message: str,
        *,
        type_: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
        saved: bool = True,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type_
        self.code = code
        self.param = param
        self.saved = saved
        self.extra = extra or {}

    def body(self, request_id: str) -> dict[str, Any]:
        error: dict[str, Any] = {"message": self.message, "type": self.type}
        if self.code:
            error["code"] = self.code
            error["doc_url"] = f"https://stripe.com/docs/error-codes/{self.code.replace('_', '-')}"
        if self.param:
            error["param"] = self.param
        error["request_log_url"] = f"https://dashboard.stripe.com/test/logs/{request_id}"
        error.update(self.extra)
        return {"error": error}


def missing(param: str) -> StripeFailure:
    return StripeFailure(
        400, f"Missing required param: {param}.", code="parameter_missing", param=param, saved=False
    )


def unknown(param: str) -> StripeFailure:
    return StripeFailure(
        400,
        f"Received unknown parameter: {param}",
        code="parameter_unknown",
        param=param,
        saved=False,
    )


def invalid(param: str, message: str, code: str | None = None) -> StripeFailure:
    return StripeFailure(400, message, code=code, param=param, saved=False)


def no_such(kind: str, object_id: str, *, param: str = "id") -> StripeFailure:
    # An id in the path is a 404; an id given as a parameter is a 400 naming that parameter.
    status = 404 if param == "id" else 400
    return StripeFailure(
        status,
        f"No such {kind}: '{object_id}'",
        code="resource_missing",
        param=param,
        saved=False,
    )


def refused(message: str, *, code: str | None = None, param: str | None = None) -> StripeFailure:
    """The request was valid but the object's state does not allow it."""
    return StripeFailure(400, message, code=code, param=param)


def card_declined(charge_id: str | None = None) -> StripeFailure:
    extra = {"decline_code": "generic_decline"}
    if charge_id:
        extra["charge"] = charge_id
    return StripeFailure(
        402, "Your card was declined.", type_="card_error", code="card_declined", extra=extra
    )


def unrecognized_url(method: str, path: str) -> StripeFailure:
    return StripeFailure(
        404,
        f"Unrecognized request URL ({method}: {path}). Please see https://stripe.com/docs "
        "or we can help at https://support.stripe.com/.",
        saved=False,
    )


def bad_api_key(given: str | None) -> StripeFailure:
    if not given:
        message = (
            "You did not provide an API key. You need to provide your API key in the "
            "Authorization header, using Bearer auth "
            "(e.g. 'Authorization: Bearer YOUR_SECRET_KEY')."
        )
    else:
        message = f"Invalid API Key provided: {given[:8]}{'*' * 8}{given[-4:]}"
    return StripeFailure(401, message, saved=False)


def idempotency_mismatch(key: str) -> StripeFailure:
    return StripeFailure(
        400,
        f"Keys for idempotent requests can only be used with the same parameters they were "
        f"first used with. Try using a key other than '{key}' if you meant to execute a "
        "different request.",
        type_="idempotency_error",
        saved=False,
    )


def idempotency_in_use(key: str) -> StripeFailure:
    return StripeFailure(
        409,
        f"There is currently another in-progress request using this Idempotent Key "
        f"(that probably means you submitted twice, and the other request is still going "
        f"through): {key}. Please try again later.",
        code="idempotency_key_in_use",
        saved=False,
    )


def injected(status: int, code: str | None = None, message: str | None = None) -> StripeFailure:
    """The error a test asked for: Stripe's usual answer for that status."""
    if status == 402:
        failure = card_declined()
    elif status == 429:
        failure = StripeFailure(
            429,
            "Request rate limit exceeded. Learn more about rate limits here "
            "https://stripe.com/docs/rate-limits.",
            code="rate_limit",
        )
    elif status >= 500:
        failure = StripeFailure(
            status,
            "An unknown error occurred on Stripe's end. Please retry the request.",
            type_="api_error",
        )
    else:
        failure = StripeFailure(status, "The request could not be processed.")
    failure.saved = False
    failure.code = code or failure.code
    failure.message = message or failure.message
    return failure
