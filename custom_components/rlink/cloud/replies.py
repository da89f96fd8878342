"""Replies the cloud sends as notifications, handed to the requests waiting for them."""

from __future__ import annotations

import asyncio

from ..protocol.codes import AppNotification as Note
from ..protocol.messages import JsonObject

type Waiter = asyncio.Future[JsonObject]


class PendingReplies:
    """The requests of one account waiting for a notification, oldest first."""

    def __init__(self) -> None:
        self._waiters: dict[tuple[Note, str], list[Waiter]] = {}

    def expect(self, code: Note, key: str) -> Waiter:
        waiter: Waiter = asyncio.get_running_loop().create_future()
        self._waiters.setdefault((code, key), []).append(waiter)
        return waiter

    def resolve(self, code: Note, key: str, data: JsonObject) -> bool:
        """Hand a notification to the longest waiting request for it; False when none waits.

        A reply notification carries no request id: one notification answers one request,
        in the order they were sent, so two alike commands each get their own answer.
        """
        waiting = [w for w in self._waiters.get((code, key), []) if not w.done()]
        if not waiting:
            self._waiters.pop((code, key), None)
            return False
        first, rest = waiting[0], waiting[1:]
        first.set_result(data)
        if rest:
            self._waiters[(code, key)] = rest
        else:
            self._waiters.pop((code, key), None)
        return True

    def forget(self, code: Note, key: str, waiter: Waiter) -> None:
        waiting = self._waiters.get((code, key), [])
        if waiter in waiting:
            waiting.remove(waiter)
        if not waiting:
            self._waiters.pop((code, key), None)
