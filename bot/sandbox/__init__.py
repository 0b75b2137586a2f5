"""`empire sandbox`: the whole product on one machine, against a local Slack and Stripe.

The bot runs exactly as `empire serve` runs it; only the platforms are local. A page at `/`
stands in for the Slack client: it shows the channels and their cards, and turns what a
person types and clicks into the signed requests Slack would send to `/slack/events`.
"""
