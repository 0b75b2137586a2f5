"""`payments.subscription` and `payments.cancel_subscription`: recurring revenue, governed.

Both are prepared before the card: the card shows who is billed how (card on file or
invoice), and what the change does to MRR, read from Stripe and the ledger beforehand.
"""

from __future__ import annotations

from governance.actions import editing
from governance.actions.base import (
    EditableField,
    Outcome,
    Payload,
    StepRunner,
    money_from_json,
    money_to_json,
)
from governance.errors import ActionRefused
from governance.money import Money
from governance.ports import CallScope, NotFoundError, PaymentGateway, Subscription
from governance.revenue import monthly, round_half_up

SUBSCRIPTION_DUE_DAYS = 30
# Subscriptions Stripe has ended or never started: nothing to cancel.
_ENDED = ("canceled", "incomplete_expired")


def subscription_payload(
    client_email: str, amount: Money, interval: str, plan: str, mrr_before: Money | None
) -> Payload:
    return {
        "client_email": client_email,
        "amount": money_to_json(amount),
        "interval": interval,
        "plan": plan,
        "due_days": SUBSCRIPTION_DUE_DAYS,
        "mrr_before": money_to_json(mrr_before) if mrr_before else None,
    }


def cancel_payload(subscription_id: str, now: bool, mrr_before: Money | None) -> Payload:
    return {
        "subscription_id": subscription_id,
        "now": now,
        "mrr_before": money_to_json(mrr_before) if mrr_before else None,
    }


def monthly_money(amount: Money, interval: str) -> Money:
    return Money(round_half_up(monthly(amount.minor, interval)), amount.currency)


def mrr_line(change: Money, before_json: Payload | None) -> str:
    """`+$500.00 a month (from $2,000.00 to $2,500.00)`: the card's MRR effect."""
    sign = "+" if change.minor >= 0 else "−"
    text = f"{sign}{Money(abs(change.minor), change.currency).format()} a month"
    before = money_from_json(before_json) if before_json else None
    if before is not None and before.currency == change.currency:
        after = Money(before.minor + change.minor, change.currency)
        text += f" (from {before.format()} to {after.format()})"
    return text


class SubscriptionAction:
    name = "payments.subscription"
    title = "Subscription"
    needs_preparation = True

    def amount(self, payload: Payload) -> Money:
        return money_from_json(payload["amount"])

    def fields(self, payload: Payload) -> list[tuple[str, str]]:
        amount = self.amount(payload)
        fields = [
            ("Client", payload["client_email"]),
            ("Plan", payload["plan"]),
            ("Price", f"{amount.format()} a {payload['interval']}"),
        ]
        if "charge_automatically" in payload:
            billed = (
                "charged to the card on file"
                if payload["charge_automatically"]
                else f"invoiced, due {payload['due_days']} days after each invoice"
            )
            fields.append(("Billing", billed))
        fields.append(
            ("MRR", mrr_line(monthly_money(amount, payload["interval"]), payload["mrr_before"]))
        )
        return fields

    def prepare(self, payload: Payload, gateway: PaymentGateway) -> Payload:
        email = payload["client_email"]
        customer = gateway.find_customer(email)
        if customer is None:
            raise ActionRefused(
                f"{email} is not a client: no Stripe customer has that address. "
                "Send them an invoice first, or check `/empire clients`."
            )
        customer = gateway.get_customer(customer.id)
        return {
            **payload,
            "customer": customer.id,
            "charge_automatically": customer.default_payment_method is not None,
        }

    def editable(self, payload: Payload) -> list[EditableField]:
        return [
            EditableField(
                "amount", f"Price a {payload['interval']}", self.amount(payload).format()
            ),
            EditableField("plan", "Plan", payload["plan"], max_length=200),
        ]

    def edited(self, payload: Payload, values: dict[str, str], currency: str) -> Payload:
        before = money_from_json(payload["mrr_before"]) if payload["mrr_before"] else None
        return subscription_payload(
            payload["client_email"],
            editing.amount(values, "amount", currency),
            payload["interval"],
            editing.text(values, "plan", "plan name"),
            before,
        )

    def execute(self, payload: Payload, gateway: PaymentGateway, step: StepRunner) -> Outcome:
        amount = self.amount(payload)
        interval, plan, customer_id = payload["interval"], payload["plan"], payload["customer"]

        def product(scope: CallScope) -> Payload:
            return {"id": gateway.find_product(plan) or gateway.create_product(plan, scope)}

        product_id = step("product", product)["id"]

        def price(scope: CallScope) -> Payload:
            found = gateway.find_price(product_id, amount, interval) or gateway.create_price(
                product_id, amount, interval, scope
            )
            return {"id": found.id}

        price_id = step("price", price)["id"]

        def subscribe(scope: CallScope) -> Payload:
            # After Stripe has forgotten the key (24 h), the metadata still finds it.
            found = gateway.find_subscription_for_action(customer_id, scope.action_id)
            created = found or gateway.create_subscription(
                customer_id,
                price_id,
                scope,
                charge_automatically=payload["charge_automatically"],
                due_days=payload["due_days"],
            )
            return _subscription_json(created)

        made = step("subscription", subscribe)
        return Outcome(
            summary=f"Subscription {made['id']} · {amount.format()} a {interval}",
            object_id=made["id"],
            details={
                "subscription": made["id"],
                "status": made["status"],
                "latest_invoice": made["latest_invoice"],
                "customer": customer_id,
                "price": price_id,
            },
        )


class CancelSubscriptionAction:
    name = "payments.cancel_subscription"
    title = "Cancel subscription"
    needs_preparation = True

    def amount(self, payload: Payload) -> Money | None:
        # What the business stops earning each interval: thresholds apply to it.
        return money_from_json(payload["amount"]) if payload.get("amount") else None

    def fields(self, payload: Payload) -> list[tuple[str, str]]:
        fields = [("Subscription", payload["subscription_id"])]
        if "plan" in payload:
            amount = money_from_json(payload["amount"])
            fields += [
                ("Client", payload["client_email"] or payload["customer"]),
                ("Plan", payload["plan"]),
                ("Price", f"{amount.format()} a {payload['interval']}"),
            ]
            loss = monthly_money(amount, payload["interval"])
            fields.append(
                ("MRR", mrr_line(Money(-loss.minor, loss.currency), payload["mrr_before"]))
            )
        fields.append(("When", "now" if payload["now"] else _period_end_text(payload)))
        return fields

    def prepare(self, payload: Payload, gateway: PaymentGateway) -> Payload:
        sub_id = payload["subscription_id"]
        try:
            subscription = gateway.get_subscription(sub_id)
        except NotFoundError:
            raise ActionRefused(f"There is no subscription {sub_id}.") from None
        if subscription.status in _ENDED:
            raise ActionRefused(f"Subscription {sub_id} is already cancelled.")
        if subscription.cancel_at_period_end and not payload["now"]:
            raise ActionRefused(
                f"Subscription {sub_id} already ends at the end of its period; "
                "use `now` to end it at once."
            )
        customer = gateway.get_customer(subscription.customer)
        return {
            **payload,
            "customer": subscription.customer,
            "client_email": customer.email,
            "plan": _plan_name(subscription),
            "amount": money_to_json(subscription.amount),
            "interval": subscription.interval,
            "period_end": (
                subscription.current_period_end.isoformat()
                if subscription.current_period_end
                else None
            ),
        }

    def editable(self, payload: Payload) -> list[EditableField]:
        return []

    def edited(self, payload: Payload, values: dict[str, str], currency: str) -> Payload:
        return payload

    def execute(self, payload: Payload, gateway: PaymentGateway, step: StepRunner) -> Outcome:
        sub_id, now = payload["subscription_id"], payload["now"]

        def cancel(scope: CallScope) -> Payload:
            current = gateway.get_subscription(sub_id)
            done = current.status in _ENDED or (current.cancel_at_period_end and not now)
            if not done:
                current = gateway.cancel_subscription(sub_id, scope, at_period_end=not now)
            return _subscription_json(current)

        cancelled = step("cancel", cancel)
        when = "now" if now else _period_end_text(payload)
        return Outcome(
            summary=f"Subscription {sub_id} cancelled, ending {when}",
            object_id=sub_id,
            details={"subscription": sub_id, "status": cancelled["status"], "ends": when},
        )


def _plan_name(subscription: Subscription) -> str:
    return subscription.plan or subscription.product


def _period_end_text(payload: Payload) -> str:
    end = payload.get("period_end")
    return f"at the end of the period ({end[:10]})" if end else "at the end of the period"


def _subscription_json(subscription: Subscription) -> Payload:
    return {
        "id": subscription.id,
        "status": subscription.status,
        "latest_invoice": subscription.latest_invoice,
        "cancel_at_period_end": subscription.cancel_at_period_end,
    }
