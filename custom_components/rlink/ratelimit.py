"""Logging that a chatty or broken device cannot turn into a flood."""

from __future__ import annotations

from typing import Any, Final

from .protocol.server.limits import LogThrottle

LOG_INTERVAL: Final = 300.0


class RateLimitedLog:
    """Log a problem once per key per interval."""

    def __init__(self, logger: Any, interval: float = LOG_INTERVAL) -> None:
        self._logger = logger
        self._due = LogThrottle(interval)  # its key table is bounded

    def warning(self, key: tuple[str, ...], text: str, *args: Any) -> None:
        if self._due(key):
            self._logger.warning(text, *args)
