"""Rates and the rate deck: longest-prefix match over normalised numbers."""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

MAX_PREFIX_DIGITS = 64

_COUNTS = ("id", "free_seconds", "grace_period", "interval_1", "interval_n")
_MONEY = ("connect_fee", "postcall_surcharge", "price_1", "price_n")


@dataclass(frozen=True, slots=True)
class Rate:
    """One deck row. Money fields are integer units (10⁻⁵); `postcall_surcharge`
    is a fraction in the same units (1000 = 1 %).

    Validated on construction so pricing never meets a float, a negative amount
    (half-up rounding is only unambiguous for non-negative costs) or a zero
    `interval_n` (it divides the remaining seconds).
    """

    id: int
    prefix: str
    type: str
    free_seconds: int
    grace_period: int
    interval_1: int
    interval_n: int
    connect_fee: int
    postcall_surcharge: int
    price_1: int
    price_n: int

    def __post_init__(self) -> None:
        prefix = self.prefix
        if not (
            isinstance(prefix, str)
            and 0 < len(prefix) <= MAX_PREFIX_DIGITS
            and prefix.isascii()
            and prefix.isdigit()
        ):
            raise ValueError(f"prefix must be 1 to {MAX_PREFIX_DIGITS} digits, got {prefix!r}")
        if not isinstance(self.type, str):
            raise TypeError(f"type must be a str, got {self.type!r}")
        for name in _COUNTS + _MONEY:
            value = getattr(self, name)
            if type(value) is not int:
                raise TypeError(f"{name} must be an int, got {value!r}")
            if value < 0:
                raise ValueError(f"{name} must not be negative, got {value}")
        if self.interval_n == 0:
            raise ValueError("interval_n must be at least 1")


class Deck:
    """Rates indexed for longest-prefix match.

    A dict keyed by prefix plus the distinct prefix lengths, longest first: a
    match probes at most one key per distinct length (≤ 64), and building is one
    pass over the rates (300k rates in well under a second).
    """

    __slots__ = ("rates", "_positions", "_lengths")

    def __init__(self, rates: Iterable[Rate]) -> None:
        self.rates: tuple[Rate, ...] = tuple(rates)
        positions: dict[str, int] = {}
        for position, rate in enumerate(self.rates):
            if rate.prefix in positions:
                raise ValueError(f"duplicate prefix {rate.prefix!r} in deck")
            positions[rate.prefix] = position
        self._positions = positions
        self._lengths = sorted({len(prefix) for prefix in positions}, reverse=True)

    def __len__(self) -> int:
        return len(self.rates)

    def __iter__(self) -> Iterator[Rate]:
        return iter(self.rates)

    def index(self, prefix: str) -> int:
        """Position in `rates` of the rate with exactly this prefix (KeyError if none)."""
        return self._positions[prefix]

    def match(self, number: str) -> Rate | None:
        """The rate with the longest prefix of `number` (already normalised), if any."""
        get = self._positions.get
        size = len(number)
        for length in self._lengths:
            if length <= size:
                position = get(number[:length])
                if position is not None:
                    return self.rates[position]
        return None
