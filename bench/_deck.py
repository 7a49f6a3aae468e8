"""Synthetic rate decks and CDRs for benchmarks (deterministic per seed).

The deck looks like a wholesale one: ~200 prefix-free country codes, each
carrying area and mobile ranges 1 to 8 digits deeper (so ranges nest, up to
11 digits), big countries holding most of them. CDR numbers extend a random
deck prefix to 9–14 digits (some land on deeper ranges, a few match nothing),
30 % written "+…" and 10 % "00…"; a quarter of the calls have billsec 0.
"""

import numpy as np

from trunkline.rating import Rate

WIDTH = 24  # CDR numbers are fixed-width bytes, dtype "S24"

_INTERVALS = np.array([(60, 60), (60, 6), (30, 6), (1, 1), (6, 6), (60, 1), (0, 60)])
_TYPES = ("fixed", "mobile", "premium", "special")


def country_codes(rng: np.random.Generator, count: int = 200) -> list[str]:
    """Prefix-free codes of 1 to 3 digits, like E.164's."""
    codes = ["1", "7"]
    codes += [str(v) for v in rng.choice([v for v in range(20, 100) if v // 10 != 7], 40, replace=False)]
    taken = {c[:2] for c in codes if len(c) == 2}
    threes = [str(v) for v in range(200, 1000) if str(v)[0] not in "17" and str(v)[:2] not in taken]
    codes += [str(v) for v in rng.choice(threes, count - len(codes), replace=False)]
    return codes


def make_prefixes(count: int, seed: int = 1) -> list[str]:
    """`count` unique digit prefixes shaped like a wholesale deck, sorted."""
    rng = np.random.default_rng(seed)
    codes = country_codes(rng)
    if count <= len(codes):
        return sorted(codes[:count])
    weight = 1 / np.arange(1, len(codes) + 1) ** 0.9
    wanted = count - len(codes)
    deeper: set[str] = set()
    while len(deeper) < wanted:
        need = wanted - len(deeper) + 16
        country = rng.choice(len(codes), need, p=weight / weight.sum())
        depth = rng.choice(np.arange(1, 9), need, p=[0.05, 0.1, 0.2, 0.2, 0.2, 0.15, 0.06, 0.04])
        tail = rng.integers(0, 10**8, need)
        picks = zip(country.tolist(), depth.tolist(), tail.tolist())
        deeper.update(codes[c] + str(t).zfill(8)[:d] for c, d, t in picks)
        deeper.difference_update(codes)
    pool = sorted(deeper)
    keep = rng.choice(len(pool), wanted, replace=False)
    return sorted(codes + [pool[i] for i in keep.tolist()])


def make_rates(prefixes: list[str], seed: int = 2) -> list[Rate]:
    """One rate per prefix with varied intervals, fees, grace and surcharge."""
    rng = np.random.default_rng(seed)
    n = len(prefixes)
    interval_1, interval_n = _INTERVALS[rng.integers(0, len(_INTERVALS), n)].T
    price_1 = rng.integers(50, 300_000, n)
    price_n = np.where(rng.random(n) < 0.7, price_1, rng.integers(50, 300_000, n))
    grace = rng.choice([0, 0, 0, 3, 5], n)
    free = np.where(rng.random(n) < 0.05, rng.choice([30, 60, 120], n), 0)
    connect = np.where(rng.random(n) < 0.2, rng.integers(0, 10_000, n), 0)
    surcharge = np.where(rng.random(n) < 0.2, rng.choice([1000, 2500, 15000], n), 0)
    kind = [_TYPES[k] for k in rng.integers(0, len(_TYPES), n).tolist()]
    columns = (free, grace, interval_1, interval_n, connect, surcharge, price_1, price_n)
    return [
        Rate(i, prefix, k, *values)
        for i, prefix, k, *values in zip(range(1, n + 1), prefixes, kind, *(c.tolist() for c in columns))
    ]


def make_cdrs(prefixes: list[str], count: int, seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """`count` CDRs as (numbers "S24", billsec int64)."""
    rng = np.random.default_rng(seed)
    body_width = 16  # longest number 14 digits; room to spare
    deck = np.array(prefixes, dtype=f"S{body_width}").view(np.uint8).reshape(-1, body_width)
    deck_len = np.array([len(p) for p in prefixes])
    pick = rng.integers(0, len(prefixes), count)
    own = np.where(rng.random(count) < 0.03, 0, deck_len[pick])  # 3 % random digits: some match nothing
    length = np.maximum(rng.integers(9, 15, count), own)
    column = np.arange(body_width)
    body = rng.integers(ord("0"), ord("9") + 1, (count, body_width), dtype=np.uint8)
    body = np.where(column < own[:, None], deck[pick], body)
    body[column >= length[:, None]] = 0

    marker = rng.choice(3, count, p=[0.6, 0.3, 0.1])  # "", "+" or "00" in front
    chars = np.zeros((count, WIDTH), np.uint8)
    for shift, lead in ((0, b""), (1, b"+"), (2, b"00")):
        rows = np.flatnonzero(marker == shift)
        chars[rows, shift : shift + body_width] = body[rows]
        chars[rows, :shift] = np.frombuffer(lead, np.uint8)
    numbers = chars.view(f"S{WIDTH}").ravel()

    talk = rng.exponential(150, count).astype(np.int64) + 1
    billsec = np.where(rng.random(count) < 0.25, 0, talk)
    return numbers, billsec
