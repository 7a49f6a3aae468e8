"""SMPP 3.4 addresses: the type of number (TON) and numbering plan (NPI) an SMSC expects with each
address, and the address as it goes on the wire.

An SMSC checks the source TON/NPI against the sender's form, and many reject or rewrite a
mismatch (an alphanumeric sender sent as TON 1 arrives as digits, or not at all). So unless a
connection pins them, the source TON/NPI follow each message's sender:

| sender | example | TON/NPI |
| --- | --- | --- |
| alphanumeric (not digits only) | `Trunkline` | 5/0 (alphanumeric, unknown plan) |
| short code: 3 to 8 digits | `72345` | 3/0 (network specific) |
| number: `+` or 9 to 15 digits | `+447700900123` | 1/1 (international, E.164) |
"""

TONS = range(7)  # 0 unknown … 6 abbreviated (SMPP 3.4, 5.2.5)
NPIS = (0, 1, 3, 4, 6, 8, 9, 10, 14, 18)  # unknown, E.164, X.121, telex, E.212, national, private, ERMES, internet, WAP (5.2.6)

ALPHANUMERIC = (5, 0)
SHORT_CODE = (3, 0)
INTERNATIONAL = (1, 1)
SHORT_CODE_DIGITS = range(3, 9)


def sender_type(sender: str) -> tuple[int, int]:
    """The (TON, NPI) that fits the form of `sender` (see the module's table)."""
    digits = sender.removeprefix("+")
    if not digits.isdigit():
        return ALPHANUMERIC
    if not sender.startswith("+") and len(digits) in SHORT_CODE_DIGITS:
        return SHORT_CODE
    return INTERNATIONAL


def on_wire(address: str) -> str:
    """The address as SMPP carries it: an international number without its `+`."""
    return address.removeprefix("+")
