"""Snowflake ids, written in the API as base64 of their decimal string.

64-bit: 41 bits of milliseconds since 2024-01-01, 10 bits of worker id, 12 bits
of sequence, so workers with distinct ids never collide. A process's worker id is leased from
the database (`trunkline.leases`); a generator whose lease has run out refuses to make ids, as
another process may hold its worker id by then.
"""

import base64
import binascii
import os
import threading
import time

EPOCH_MS = 1_704_067_200_000
_WORKER_BITS = 10
_SEQUENCE_BITS = 12
_MAX_SEQUENCE = (1 << _SEQUENCE_BITS) - 1


class LeaseExpired(RuntimeError):
    """The worker id's lease ran out before it was renewed (the database was out of reach)."""


class Snowflake:
    """Thread-safe generator of time-ordered 63-bit ids."""

    def __init__(self, worker_id: int | None = None, valid_until: float | None = None) -> None:
        self.worker_id = (os.getpid() if worker_id is None else worker_id) % (1 << _WORKER_BITS)
        self.valid_until = valid_until  # time.monotonic() deadline of the lease; None: not leased
        self._lock = threading.Lock()
        self._last_ms = 0
        self._sequence = 0

    def _check(self) -> None:
        if self.valid_until is not None and time.monotonic() >= self.valid_until:
            raise LeaseExpired(f"worker id {self.worker_id}: lease not renewed in time")

    def next(self) -> int:
        self._check()
        with self._lock:
            now = max(int(time.time() * 1000), self._last_ms)
            if now == self._last_ms:
                self._sequence = (self._sequence + 1) & _MAX_SEQUENCE
                if self._sequence == 0:  # 4096 ids this millisecond: borrow the next one
                    now += 1
            else:
                self._sequence = 0
            self._last_ms = now
            return ((now - EPOCH_MS) << (_WORKER_BITS + _SEQUENCE_BITS)) | (
                self.worker_id << _SEQUENCE_BITS
            ) | self._sequence

    def many(self, count: int) -> list[int]:
        """`count` ids in one go (a deck import takes 300,000): whole runs of sequence
        numbers, carrying on into the following milliseconds as `next` does when one fills."""
        if count <= 0:
            return []
        self._check()
        with self._lock:
            now = max(int(time.time() * 1000), self._last_ms)
            sequence = self._sequence + 1 if now == self._last_ms else 0
            if sequence > _MAX_SEQUENCE:
                now, sequence = now + 1, 0
            result: list[int] = []
            while True:
                take = min(count - len(result), _MAX_SEQUENCE + 1 - sequence)
                base = ((now - EPOCH_MS) << (_WORKER_BITS + _SEQUENCE_BITS)) | (self.worker_id << _SEQUENCE_BITS)
                result.extend(range(base + sequence, base + sequence + take))
                if len(result) == count:
                    self._last_ms, self._sequence = now, sequence + take - 1
                    return result
                now, sequence = now + 1, 0


def encode(value: int) -> str:
    return base64.b64encode(str(value).encode()).decode()


def decode(text: str) -> int | None:
    """The integer behind an API id, or None when the text is not one."""
    if not text or len(text) > 40:
        return None
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None
    if not raw.isdigit() or (len(raw) > 1 and raw[0:1] == b"0"):
        return None
    value = int(raw)
    return value if value < 1 << 63 else None


generator = Snowflake()
_leased: dict[int, Snowflake] = {}  # one generator per worker id, so its sequence state is kept


def configure(worker_id: int | None, valid_until: float | None = None) -> None:
    """Make ids as `worker_id` (None: from the pid) until `valid_until`. Configuring a worker id
    again (a renewal) goes on with the same generator, so it never repeats an id."""
    global generator
    if worker_id is None:
        generator = Snowflake()
        return
    generator = _leased.setdefault(worker_id, Snowflake(worker_id))
    generator.valid_until = valid_until


def new_id() -> int:
    return generator.next()
