"""Per-organization rate limits on `limits`, shared through Redis when configured.

Two buckets per organization: GET requests and everything else, each with its own
per-minute allowance (organization setting, else the server default). The headers
are the de-facto `X-RateLimit-*` trio plus the IETF draft `RateLimit-Policy`/`RateLimit`.

A request costs one storage call: the fixed window's count from `incr` (what
`FixedWindowRateLimiter.hit` does), and the window's end remembered from the call that opened it.
`hit` and then `get_window_stats` cost three calls, three Redis round trips, on every request.
"""

import math
import time
from functools import lru_cache

from limits import RateLimitItemPerMinute
from limits.aio.storage import MemoryStorage, RedisStorage

from trunkline.kit.errors import ApiError


@lru_cache(maxsize=1024)
def _item(per_minute: int) -> RateLimitItemPerMinute:
    return RateLimitItemPerMinute(per_minute)


class RateLimiter:
    def __init__(self, redis_url: str | None = None) -> None:
        self.storage = (
            RedisStorage(redis_url.replace("redis://", "async+redis://", 1), implementation="redispy")
            if redis_url
            else MemoryStorage()
        )
        self._ends: dict[str, float] = {}  # window key -> when it ends (time.time()), as far as this process knows

    async def _count(self, item: RateLimitItemPerMinute, key: str) -> tuple[int, float]:
        """This request counted in its fixed window: (the window's count, when the window ends)."""
        key = item.key_for(key)
        expiry = item.get_expiry()
        count = await self.storage.incr(key, expiry)
        now = time.time()
        if count == 1:  # this call opened the window
            end = now + expiry
        else:
            end = self._ends.get(key, 0.0)
            if end <= now:  # another process opened it, or this one has forgotten it
                end = await self.storage.get_expiry(key)
        if len(self._ends) > 100_000:  # login keys per client address come and go
            self._ends.clear()
        self._ends[key] = end
        return count, end

    async def check(self, state: dict, subject: str, method: str, per_minute: int, other_per_minute: int | None = None) -> None:
        """Count one request of `subject` (an organization, an endpoint, or a client address
        before login) in its bucket for `method`, and put the headers in the request state; 429
        when over. The GET bucket allows `per_minute`, the other `other_per_minute` (default the same)."""
        bucket = "get" if method in ("GET", "HEAD") else "other"
        if bucket == "other" and other_per_minute is not None:
            per_minute = other_per_minute
        item = _item(per_minute)
        key = f"{subject}:{bucket}"
        count, end = await self._count(item, key)
        remaining = max(0, per_minute - count)
        reset_in = max(0, math.ceil(end - time.time()))
        headers = [
            (b"x-ratelimit-limit", str(per_minute).encode()),
            (b"x-ratelimit-remaining", str(remaining).encode()),
            (b"x-ratelimit-reset", str(math.ceil(end)).encode()),
            (b"ratelimit-policy", f'"{bucket}";q={per_minute};w=60'.encode()),
            (b"ratelimit", f'"{bucket}";r={remaining};t={reset_in}'.encode()),
        ]
        state["extra_headers"] = headers
        if count > per_minute:
            raise ApiError(
                429,
                f"Rate limit of {per_minute} {bucket.upper()} requests per minute exceeded; retry in {reset_in}s",
                headers={"Retry-After": str(max(1, reset_in))},
            )
