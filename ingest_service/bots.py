"""Known crawlers and bots, recognised by their user agent.

The patterns are the community-maintained list of the `crawler-user-agents` package (pinned in
pyproject.toml; upgrading it brings new crawlers). Matching one user agent against ~1,500
patterns takes a few hundred microseconds, and visitors' user agents repeat a lot, so answers
are cached.
"""

from __future__ import annotations

from functools import lru_cache

import crawleruseragents


@lru_cache(maxsize=8192)
def is_bot(user_agent: str | None) -> bool:
    """True when `user_agent` is a known crawler's. A missing user agent is not evidence."""
    if not user_agent:
        return False
    return crawleruseragents.is_crawler(user_agent)
