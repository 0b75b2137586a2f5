"""The local ledger: what Stripe says happened to invoices, refunds, disputes, subscriptions.

Kept from webhook events (and repaired by reconciliation); revenue and `/empire status`
read it. Each row keeps the Stripe time of the snapshot it holds (`as_of`), so an event
delivered late never overwrites a newer state.
"""
