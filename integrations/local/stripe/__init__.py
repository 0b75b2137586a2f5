"""A local Stripe: the stateful API server the sandbox and the tests run against."""
