"""Bounds on what clients may hold, and the bookkeeping that enforces them per address."""

from __future__ import annotations

import resource
import time
from dataclasses import dataclass, field
from typing import Final

_RESERVED_FILES: Final = 512  # descriptors left for the rest of the process


def default_max_connections() -> int:
    """1024, or fewer when the process may not open enough files for them (each client
    holds one; Home Assistant raises its own limit to 2048, which leaves room for 1024)."""
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return 1024
    return max(16, min(1024, soft - _RESERVED_FILES))


@dataclass(frozen=True, slots=True)
class Limits:
    """What one server allows; every figure bounds something a client can make it hold."""

    connect_timeout: float = 10.0
    """Seconds from accept to a complete CONNECT (and TLS handshake)."""
    max_packet_size: int = 1 << 20
    """Largest remaining length accepted: the spec's largest messages (maps, models) fit."""
    max_connect_size: int = 64 << 10
    """Largest packet before login (the CONNECT, will included): a stranger buffers little."""
    max_connections: int = field(default_factory=default_max_connections)
    max_pending_per_address: int = 16
    """Connections from one address that have not logged in yet."""
    max_pending: int = 256
    """Connections from all addresses that have not logged in yet."""
    failed_logins_allowed: int = 5
    """Failed logins from one address before it must wait."""
    backoff_first: float = 2.0
    backoff_max: float = 300.0
    max_subscriptions: int = 32
    max_inflight: int = 32
    """Outgoing QoS 1/2 messages a client has not acknowledged yet."""
    max_queued: int = 1000
    """Messages waiting for a client (offline with a persistent session, or slow)."""
    max_awaiting_release: int = 64
    """Incoming QoS 2 messages a client has not released yet."""
    max_write_buffer: int = 8 << 20
    """Bytes waiting to be written to a client that does not read; past this it is dropped."""
    packets_per_turn: int = 64
    """Packets handled from one client before the others get a turn."""


class AddressBook:
    """Per-address counts of unauthenticated connections and failed logins, bounded."""

    MAX_ADDRESSES: Final = 4096

    def __init__(self, limits: Limits) -> None:
        self._limits = limits
        self.pending: dict[str, int] = {}
        self._pending_total = 0
        self._failures: dict[str, tuple[int, float]] = {}
        """address -> (failed logins in a row, refused until this monotonic time)."""

    def may_connect(self, address: str) -> str | None:
        """Why a new connection from `address` is refused, or None."""
        if self.pending.get(address, 0) >= self._limits.max_pending_per_address:
            return "too many connections from it that have not logged in"
        if self.pending_total >= self._limits.max_pending:
            return "too many connections that have not logged in"
        _count, until = self._failures.get(address, (0, 0.0))
        if until > time.monotonic():
            return "too many failed logins, waiting"
        return None

    @property
    def pending_total(self) -> int:
        return self._pending_total

    def opened(self, address: str) -> None:
        self.pending[address] = self.pending.get(address, 0) + 1
        self._pending_total += 1

    def settled(self, address: str) -> None:
        """A pending connection logged in or went away."""
        self._pending_total -= 1
        left = self.pending.get(address, 0) - 1
        if left > 0:
            self.pending[address] = left
        else:
            self.pending.pop(address, None)

    def failed(self, address: str) -> float:
        """Count a failed login; returns how long the address must now wait (0 = not yet)."""
        count, _until = self._failures.get(address, (0, 0.0))
        count += 1
        wait = 0.0
        if count >= self._limits.failed_logins_allowed:
            excess = count - self._limits.failed_logins_allowed
            wait = min(
                self._limits.backoff_max, self._limits.backoff_first * 2.0 ** min(excess, 16)
            )
        if address not in self._failures and len(self._failures) >= self.MAX_ADDRESSES:
            self._failures.pop(next(iter(self._failures)))  # the oldest entry
        self._failures[address] = (count, time.monotonic() + wait)
        return wait

    def succeeded(self, address: str) -> None:
        self._failures.pop(address, None)


class LogThrottle:
    """True at most once per `interval` per key; the key table is bounded."""

    MAX_KEYS: Final = 1024

    def __init__(self, interval: float) -> None:
        self._interval = interval
        self._last: dict[object, float] = {}

    def __call__(self, key: object) -> bool:
        now = time.monotonic()
        if now - self._last.get(key, -self._interval) < self._interval:
            return False
        if len(self._last) >= self.MAX_KEYS:
            self._last = {k: t for k, t in self._last.items() if now - t < self._interval}
            if len(self._last) >= self.MAX_KEYS:
                self._last.clear()
        self._last[key] = now
        return True
