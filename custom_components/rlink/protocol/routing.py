"""From a topic and its payload to a handler: decoding once, replies to their requests.

Shared by the MQTT session (external brokers, the cloud account) and the device server's
link (the local hub on its own server), so both route and match replies the same way.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from .errors import ProtocolError, UnknownCodeError
from .messages import Message, decode, refusal_of_unknown
from .server.limits import LogThrottle
from .topics import (
    PARSED_TOPICS,
    AppTopic,
    DeviceTopic,
    ProductTopic,
    Topic,
    device_topic,
    parse_topic,
    product_topic,
)

_LOGGER = logging.getLogger(__name__)
PARSE_LOG_INTERVAL: Final = 300.0  # seconds between two log lines about the same bad sender

type MessageHandler = Callable[[Topic, Message], None]
type RawSender = Callable[[str, bytes], None]
"""Sends a payload on a topic: how a router answers what no handler can be given."""


class LinkError(Exception):
    """Base of the errors of a link to devices (an MQTT session or the device server)."""


class NotConnected(LinkError):
    """The link is down: nothing was sent."""


class RequestTimeout(LinkError):
    """No reply arrived in time."""


@dataclass(slots=True)
class LinkStats:
    """Counters for diagnostics and benchmarks."""

    messages_in: int = 0
    messages_out: int = 0
    parse_errors: int = 0
    reconnects: int = 0
    unmatched_replies: int = 0
    """Replies no request waited for (late, or not ours); handlers still see them."""
    requests: int = 0
    request_seconds_total: float = 0.0
    request_seconds_max: float = 0.0

    @property
    def request_seconds_mean(self) -> float:
        return self.request_seconds_total / self.requests if self.requests else 0.0


@functools.lru_cache(maxsize=PARSED_TOPICS)
def route_keys(topic: Topic) -> tuple[str, ...]:
    """The subscription filters that can match `topic`, most specific first."""
    match topic:
        case DeviceTopic(kind, pid, uuid):
            return (
                str(topic),
                f"rlink/v2/{pid}/+/{kind}",
                f"rlink/v2/+/{uuid}/{kind}",
                f"rlink/v2/+/+/{kind}",
            )
        case ProductTopic(_, pid):
            return (str(topic), str(topic).replace(f"/{pid}/", "/+/", 1))
        case AppTopic(kind, _):
            return (str(topic), f"app/v2/+/{kind}")


def check_filter(topic_filter: str) -> None:
    """Accept only filters `route_keys` can find: `+` may stand for an id segment."""
    concrete = "/".join("_" if part == "+" else part for part in topic_filter.split("/"))
    try:
        routable = topic_filter in route_keys(parse_topic(concrete))
    except ProtocolError:
        routable = False
    if not routable:
        raise ProtocolError(f"{topic_filter!r} is not a routable filter", field="topic")


class MessageRouter:
    """Routes decoded messages to handlers and replies to the requests that wait for them."""

    def __init__(self, name: str, answer: RawSender | None = None) -> None:
        self.name = name
        self._answer = answer
        self.stats = LinkStats()
        self.routes: dict[str, MessageHandler] = {}
        self._pending: dict[tuple[str, str], asyncio.Future[Message]] = {}
        self._parse_log = LogThrottle(PARSE_LOG_INTERVAL)
        self._handler_log = LogThrottle(PARSE_LOG_INTERVAL)

    def add(self, topic_filter: str, handler: MessageHandler) -> Callable[[], bool]:
        """Route `topic_filter` to `handler`; the returned function undoes it (True if it did)."""
        check_filter(topic_filter)
        self.routes[topic_filter] = handler

        def remove() -> bool:
            if self.routes.get(topic_filter) is handler:
                del self.routes[topic_filter]
                return True
            return False

        return remove

    def dispatch(self, topic_name: str, payload: bytes) -> None:
        self.stats.messages_in += 1
        try:
            topic = parse_topic(topic_name)
            message = decode(topic.kind, payload)
        except UnknownCodeError as err:
            self._note_parse_error(topic_name, err)
            self._refuse_unknown(topic, err)
            return
        except ProtocolError as err:
            self._note_parse_error(topic_name, err)
            return
        if message.is_reply:
            waiter = self._pending.pop((message.id, str(message.code)), None)
            if waiter is not None:
                if not waiter.done():
                    waiter.set_result(message)
                return
            # Late, or not ours; a device still wants unsolicited ones such as a pushed `time`.
            self.stats.unmatched_replies += 1
        handler = next((h for key in route_keys(topic) if (h := self.routes.get(key))), None)
        if handler is None:
            return
        try:
            handler(topic, message)
        except Exception as err:  # the next message is served all the same
            self._note_handler_error(topic, err)

    async def request(
        self,
        send: Callable[[], None],
        message: Message,
        timeout: float,  # noqa: ASYNC109
    ) -> Message:
        """Call `send`, then wait for the reply with the request's id and code."""
        key = (message.id, str(message.code))
        waiter: asyncio.Future[Message] = asyncio.get_running_loop().create_future()
        self._pending[key] = waiter
        started = time.monotonic()
        try:
            send()
            async with asyncio.timeout(timeout):
                reply = await waiter
        except TimeoutError:
            raise RequestTimeout(
                f"{self.name}: no reply to {message.code} {message.id} within {timeout:g} s"
            ) from None
        finally:
            self._pending.pop(key, None)
        elapsed = time.monotonic() - started
        self.stats.requests += 1
        self.stats.request_seconds_total += elapsed
        self.stats.request_seconds_max = max(self.stats.request_seconds_max, elapsed)
        reply.raise_for_status()
        return reply

    def fail_pending(self, error: Exception) -> None:
        for waiter in self._pending.values():
            if not waiter.done():
                waiter.set_exception(error)
        self._pending.clear()

    def _refuse_unknown(self, topic: Topic, err: UnknownCodeError) -> None:
        """A request of a code nobody here serves, on a topic somebody does: its sender
        waits for an answer, so it gets a refusal rather than a timeout."""
        if not err.wants_reply or self._answer is None or not self._served(topic):
            return
        reply_kind, payload = refusal_of_unknown(err, topic.kind)
        match topic:
            case DeviceTopic(_, pid, uuid):
                self._answer(device_topic(reply_kind, pid, uuid), payload)
            case ProductTopic(_, pid):
                self._answer(product_topic(reply_kind, pid), payload)

    def _served(self, topic: Topic) -> bool:
        return any(key in self.routes for key in route_keys(topic))

    def _note_parse_error(self, topic: str, err: ProtocolError) -> None:
        self.stats.parse_errors += 1
        if self._parse_log((topic, type(err).__name__ + (err.field or ""))):
            _LOGGER.warning("%s: dropped a message on %s: %s", self.name, topic, err)

    def _note_handler_error(self, topic: Topic, err: Exception) -> None:
        """Once per topic kind and failure kind: a message that trips a handler tends to
        come again, and each time would otherwise print a traceback."""
        if self._handler_log((str(topic.kind), type(err).__name__)):
            _LOGGER.warning(
                "%s: handling a %s message failed (%s: %s); later ones like it are not logged "
                "for a while",
                self.name,
                topic.kind,
                type(err).__name__,
                err,
            )
            _LOGGER.debug("%s: the failure", self.name, exc_info=err)
