"""Webhooks: event subscriptions, a durable outbox, Standard Webhooks signatures, retries and replays."""
