"""Per-organization rate limits on `limits`, shared through Redis when configured.

Two buckets per organization: GET requests and everything else, each with its own
per-minute allowance (organization setting, else the server default). The headers
are the de-facto `X-RateLimit-*` trio plus the IETF draft `RateLimit-Policy`/`RateLimit`.
"""

import math
import time
from functools import lru_cache

from limits import RateLimitItemPerMinute
from limits.aio.storage import MemoryStorage, RedisStorage
from limits.aio.strategies import FixedWindowRateLimiter

from trunkline.kit.errors import ApiError


@lru_cache(maxsize=1024)
def _item(per_minute: int) -> RateLimitItemPerMinute:
    return RateLimitItemPerMinute(per_minute)


class RateLimiter:
    def __init__(self, redis_url: str | None = None) -> None:
        storage = (
            RedisStorage(redis_url.replace("redis://", "async+redis://", 1), implementation="redispy")
            if redis_url
            else MemoryStorage()
        )
        self.limiter = FixedWindowRateLimiter(storage)

    async def check(self, state: dict, subject: str, method: str, per_minute: int, other_per_minute: int | None = None) -> None:
        """Count one request of `subject` (an organization, an endpoint, or a client address
        before login) in its bucket for `method`, and put the headers in the request state; 429
        when over. The GET bucket allows `per_minute`, the other `other_per_minute` (default the same)."""
        bucket = "get" if method in ("GET", "HEAD") else "other"
        if bucket == "other" and other_per_minute is not None:
            per_minute = other_per_minute
        item = _item(per_minute)
        key = f"{subject}:{bucket}"
        allowed = await self.limiter.hit(item, key)
        stats = await self.limiter.get_window_stats(item, key)
        reset_in = max(0, math.ceil(stats.reset_time - time.time()))
        headers = [
            (b"x-ratelimit-limit", str(per_minute).encode()),
            (b"x-ratelimit-remaining", str(stats.remaining).encode()),
            (b"x-ratelimit-reset", str(math.ceil(stats.reset_time)).encode()),
            (b"ratelimit-policy", f'"{bucket}";q={per_minute};w=60'.encode()),
            (b"ratelimit", f'"{bucket}";r={stats.remaining};t={reset_in}'.encode()),
        ]
        state["extra_headers"] = headers
        if not allowed:
            raise ApiError(
                429,
                f"Rate limit of {per_minute} {bucket.upper()} requests per minute exceeded; retry in {reset_in}s",
                headers={"Retry-After": str(max(1, reset_in))},
            )
