"""The TLS listener: a connection is counted against the limits before its handshake.

asyncio would only hand a TLS connection over once its handshake is done, so connections
stuck in the handshake would escape the connection limits. Here the plain TCP connection
is admitted first (or cut), and then upgraded to TLS in place.
"""

from __future__ import annotations

import asyncio
import ssl

from .connection import Connection, Server


class TlsGate(asyncio.Protocol):
    """Admits a TCP connection, then runs its TLS handshake (bounded in time)."""

    def __init__(self, server: Server, context: ssl.SSLContext) -> None:
        self._server = server
        self._context = context

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        connection = Connection(self._server)
        if not connection.admitted(transport):
            return
        transport.pause_reading()  # the hello stays in the socket for the TLS layer
        self._server.track(self._upgrade(transport, connection))

    async def _upgrade(self, transport: asyncio.Transport, connection: Connection) -> None:
        try:
            secure = await self._server.loop.start_tls(
                transport,
                connection,
                self._context,
                server_side=True,
                ssl_handshake_timeout=self._server.limits.connect_timeout,
            )
        except (OSError, ssl.SSLError, TimeoutError, ConnectionError) as err:
            transport.abort()
            connection.handshake_failed(str(err) or type(err).__name__)
            return
        except asyncio.CancelledError:  # the server stops
            transport.abort()
            connection.handshake_failed("the server stopped")
            raise
        if secure is None:  # the peer went away during the handshake
            connection.handshake_failed("closed during the TLS handshake")
            return
        connection.secured(secure)
