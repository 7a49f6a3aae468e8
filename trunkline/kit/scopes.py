"""Scopes: `<resource>.<action>`, `<resource>.*` and `*`.

The kit knows no resource: each domain's route module names the resources it guards
(`SCOPES`), and the application declares them when it mounts the routes.
"""

ACTIONS = ("read", "create", "update", "delete")

DESCRIPTIONS = {"*": "Everything the organization may do"}


def declare(*resources: str) -> None:
    """Make `<resource>.<action>` and `<resource>.*` known, in declaration order (idempotent)."""
    for resource in resources:
        for action in (*ACTIONS, "*"):
            DESCRIPTIONS.setdefault(f"{resource}.{action}", f"{action.capitalize()} {resource.replace('_', ' ')}")


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
