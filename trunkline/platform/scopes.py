"""Scopes: `<resource>.<action>`, `<resource>.*` and `*`."""

RESOURCES = (
    "organizations",
    "users",
    "tokens",
    "requests",
    "call_rates",
    "calls",
    "accounts",
    "reports",
    "endpoints",
    "cdr_quarantine",
    "products",
    "voice",
)
ACTIONS = ("read", "create", "update", "delete")

DESCRIPTIONS = {"*": "Everything the organization may do"} | {
    f"{resource}.{action}": f"{action.capitalize()} {resource.replace('_', ' ')}"
    for resource in RESOURCES
    for action in (*ACTIONS, "*")
}


def is_known(scope: str) -> bool:
    return scope in DESCRIPTIONS


def grants(held: frozenset[str], wanted: str) -> bool:
    """Whether the held scopes include `wanted` (an exact `<resource>.<action>` or wildcard)."""
    if "*" in held or wanted in held:
        return True
    resource, _, action = wanted.partition(".")
    if f"{resource}.*" in held:
        return True
    return action == "*" and all(f"{resource}.{a}" in held for a in ACTIONS)


def covers(held: frozenset[str], wanted: frozenset[str]) -> bool:
    """Whether a credential holding `held` may hand out `wanted` (no escalation)."""
    return all(grants(held, scope) for scope in wanted)
