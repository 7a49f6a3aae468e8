"""Dialled-number normalisation, applied before any prefix match.

Rule, in this order:

1. remove every space, dash, dot and parenthesis (" -.()");
2. drop one leading "+", or else one leading international "00";
3. what remains must be a non-empty string of ASCII digits, otherwise the
   number is invalid (``None``) and the call is unrated.

So "+44 20-7946" -> "44207946", "0044 (0)20" -> "44020", "+0044" -> "0044"
(only one marker is dropped), "00", "+", "" and "44x1" are invalid. Tabs and
other whitespace are not separators: they make the number invalid, which keeps
the rule identical on the vectorised path (bulk.py) and free of locale surprises.
"""

_SEPARATORS = str.maketrans("", "", " -.()")


def normalize_number(raw: str) -> str | None:
    """The digits to match against prefixes, or None when the number is invalid."""
    number = raw.translate(_SEPARATORS)
    if number.startswith("+"):
        number = number[1:]
    elif number.startswith("00"):
        number = number[2:]
    if number and number.isascii() and number.isdigit():
        return number
    return None
