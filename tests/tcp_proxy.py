"""A TCP proxy a test can cut and restore, to make one service unreachable for one process.

Stopping the shared PostgreSQL would break every other test run on this machine; putting
this proxy between a single server and PostgreSQL gives that server an outage of its own.
``cut()`` stops listening and kills every proxied connection (new connects are refused, as
when the database host is down); ``restore()`` listens again on the same port.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable, Iterator

from tests.services import free_port

_ACCEPT_POLL_S = 0.1
_CHUNK_BYTES = 64 * 1024


class TcpProxy:
    def __init__(self, target_host: str, target_port: int) -> None:
        self._target = (target_host, target_port)
        self.port = free_port()
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self._threads: list[threading.Thread] = []
        self._stop = threading.Event()
        self._listener: socket.socket | None = None

    def restore(self) -> None:
        """Listen (again) on ``self.port``."""
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen()
        listener.settimeout(_ACCEPT_POLL_S)
        self._listener = listener
        self._stop.clear()
        self._spawn(self._accept_loop, listener)

    def cut(self) -> None:
        """Refuse new connections and drop the open ones."""
        self._stop.set()
        with self._lock:
            sockets, self._sockets = self._sockets, set()
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        with self._lock:
            threads, self._threads = self._threads, []
        for thread in threads:
            thread.join()
        if self._listener is not None:
            self._listener.close()
            self._listener = None

    def _spawn(self, target: Callable[..., None], *args: object) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        with self._lock:
            self._threads.append(thread)
        thread.start()

    def _accept_loop(self, listener: socket.socket) -> None:
        while not self._stop.is_set():
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                upstream = socket.create_connection(self._target)
            except OSError:
                client.close()
                continue
            with self._lock:
                if self._stop.is_set():
                    client.close()
                    upstream.close()
                    return
                self._sockets |= {client, upstream}
            self._spawn(self._pump, client, upstream)
            self._spawn(self._pump, upstream, client)

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while chunk := source.recv(_CHUNK_BYTES):
                sink.sendall(chunk)
        except OSError:
            pass
        # One side ended: end the other, so the peer sees the close too.
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_RDWR)


@contextlib.contextmanager
def proxied(url: str, host: str, port: int) -> Iterator[tuple[str, TcpProxy]]:
    """``url``, which reaches ``host:port``, rewritten to go through a proxy of its own,
    and that proxy: listening at first, cut when the block ends."""
    proxy = TcpProxy(host, port)
    proxy.restore()
    try:
        through_proxy = url.replace(f"{host}:{port}/", f"127.0.0.1:{proxy.port}/")
        assert through_proxy != url
        yield through_proxy, proxy
    finally:
        proxy.cut()
