"""What a batch of calls takes from the accounts they are charged to.

The batch moves each account's balance once, with one ledger entry per account
(`accounts.repository.apply`).
"""

from dataclasses import dataclass


@dataclass(slots=True)
class Charge:
    """One account's change: `amount` in units (added: a charge is negative), the calls it
    covers (None for a top-up) and the call's row id when it covers exactly one."""

    amount: int
    calls: int | None = None
    call_ref: int | None = None


def charges(columns: dict[str, list]) -> dict[int, Charge]:
    """What a batch (the `calls` columns) takes from each account row id."""
    found: dict[int, Charge] = {}
    for ref, cost, call in zip(columns["account_ref"], columns["cost"], columns["id"]):
        if ref is not None and cost:  # unrated (None) and free calls take nothing
            charge = found.get(ref)
            if charge is None:
                found[ref] = Charge(-cost, 1, call)
            else:
                charge.amount -= cost
                charge.calls += 1
                charge.call_ref = None
    return found
