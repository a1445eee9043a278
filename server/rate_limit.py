"""Writes per client: a token bucket per client address, refilled at a steady rate.

A client may write `per_minute` times in a burst, then once every 60/per_minute seconds.
Buckets live in memory, per process (several workers each count on their own).
"""

from __future__ import annotations

import time

MAX_CLIENTS = 10_000


class WriteRateLimiter:
    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._interval = 60.0 / per_minute
        self._buckets: dict[str, tuple[float, float]] = {}  # client -> (tokens, at)

    def take(self, client: str, now: float | None = None) -> float | None:
        """Spend one write for `client`: None if allowed, else the seconds until the next."""
        now = time.monotonic() if now is None else now
        tokens, at = self._buckets.get(client, (float(self.per_minute), now))
        tokens = min(float(self.per_minute), tokens + (now - at) / self._interval)
        if tokens < 1.0:
            self._buckets[client] = (tokens, now)
            return (1.0 - tokens) * self._interval
        if len(self._buckets) >= MAX_CLIENTS and client not in self._buckets:
            self._forget_full(now)
        self._buckets[client] = (tokens - 1.0, now)
        return None

    def _forget_full(self, now: float) -> None:
        """Drop clients whose bucket has refilled (they would start full anyway)."""
        for client, (tokens, at) in list(self._buckets.items()):
            if tokens + (now - at) / self._interval >= self.per_minute:
                del self._buckets[client]
        if len(self._buckets) >= MAX_CLIENTS:  # all busy: drop the oldest half
            for client, _ in sorted(self._buckets.items(), key=lambda i: i[1][1])[:MAX_CLIENTS // 2]:
                del self._buckets[client]
