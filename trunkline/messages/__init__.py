"""SMS: sending (A2P), encoding and segments, delivery states, inbound messages and opt-outs."""
