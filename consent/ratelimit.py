"""A fixed-window count per client address, in the shared cache (Redis in production)."""

from __future__ import annotations

from django.conf import settings
from django.core.cache import cache


def _key(scope: str, client: str) -> str:
    return f"dcr:ratelimit:{scope}:{client}"


def rate_limit_hit(*, scope: str, client: str | None) -> bool:
    """Count one attempt; True if the client is now over the limit for this window."""
    limit = settings.DCR_OPT_OUT_RATE_LIMIT
    window = settings.DCR_OPT_OUT_RATE_WINDOW_SECONDS
    key = _key(scope, client or "unknown")
    # add() starts the window only if none is open; incr() is atomic in Redis and in locmem.
    cache.add(key, 0, timeout=window)
    try:
        count = cache.incr(key)
    except ValueError:  # the window closed between add and incr
        cache.add(key, 1, timeout=window)
        count = 1
    return count > limit
