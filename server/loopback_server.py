"""An ASGI app under uvicorn in a background thread, on a free port of 127.0.0.1: for set-up's
snapshot maker, the tests' live servers and the benchmarks (`shadernet serve` binds its own).

The listening socket is made with protocol IPPROTO_TCP, not the default 0: asyncio turns
Nagle's algorithm off (TCP_NODELAY) only on sockets whose `proto` says TCP, and accepted
connections inherit it. With proto 0, every response after the first on a kept-alive
connection waited for the client's delayed ACK: ~40 ms per request, which slowed every
browser test and skewed the start-up benchmark (our page makes ~40 requests, TF.js's 6).
"""

from __future__ import annotations

import socket
import threading
import time


def loopback_socket() -> socket.socket:
    """A TCP socket bound to a free port of 127.0.0.1 (not listening yet)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    return sock


class LoopbackServer:
    """`app` served at `url` from construction until `close()` (or the `with` block's end)."""

    def __init__(self, app, start_timeout: float = 30.0, **uvicorn_options) -> None:
        import uvicorn

        self._socket = loopback_socket()
        options = {"log_level": "warning", "lifespan": "off", **uvicorn_options}
        self._server = uvicorn.Server(uvicorn.Config(app, **options))
        self._thread = threading.Thread(target=self._server.run,
                                        kwargs={"sockets": [self._socket]}, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + start_timeout
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                self.close()
                raise RuntimeError(f"uvicorn did not start within {start_timeout:g} s")
            time.sleep(0.02)
        self.url = f"http://127.0.0.1:{self._socket.getsockname()[1]}"

    def close(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._socket.close()

    def __enter__(self) -> LoopbackServer:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()
