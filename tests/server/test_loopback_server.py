"""server/loopback_server.py: kept-alive connections answer without Nagle's delay."""

from __future__ import annotations

import http.client
import socket
import statistics
import time

from server.loopback_server import LoopbackServer, loopback_socket


async def two_part_app(scope, receive, send) -> None:
    """Headers and body in two sends, as Starlette's responses do."""
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain"), (b"content-length", b"2")]})
    await send({"type": "http.response.body", "body": b"ok"})


def test_the_socket_is_tcp_by_protocol_so_asyncio_turns_nagle_off():
    with loopback_socket() as sock:
        assert sock.proto == socket.IPPROTO_TCP
        assert sock.getsockname()[0] == "127.0.0.1"


def test_requests_on_one_kept_alive_connection_take_no_delayed_ack():
    # With the socket's protocol left 0, each request after the first took ~40 ms (the
    # client's delayed ACK); without the delay, well under 1 ms here.
    with LoopbackServer(two_part_app) as server:
        host, port = server.url.removeprefix("http://").split(":")
        connection = http.client.HTTPConnection(host, int(port), timeout=10)
        seconds = []
        for _ in range(8):
            started = time.perf_counter()
            connection.request("GET", "/")
            response = connection.getresponse()
            assert response.read() == b"ok"
            seconds.append(time.perf_counter() - started)
        connection.close()
    assert statistics.median(seconds[1:]) < 0.015, seconds

