"""A TCP proxy on 127.0.0.1 that can cut the network the way a partition does, for tests and benchmarks.

`TcpProxy(target_host, target_port).start()` listens on a free loopback port (`.port`) and forwards each
connection to the target in background threads. `.blackhole()` makes it a partition: from then on every
byte in both directions is read and silently dropped, no RST and no FIN reach either side, and the
connections stay open (a peer's timeouts are its only way to notice). Connections accepted while
blackholed are never connected to the target (their SYN "never arrived") and drop everything too.
`.heal()` lets new connections through again; the ones that lived through the partition stay dead,
since their bytes were lost (a real peer would have given up on them by then). `.stop()` closes all.
"""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass, field

CHUNK = 65536


@dataclass(eq=False)
class _Link:
    """One client connection and its upstream; `dead` once a partition has eaten some of its bytes."""

    client: socket.socket
    upstream: socket.socket | None
    dead: bool = False
    eof: set[str] = field(default_factory=set)  # directions whose sender closed


class TcpProxy:
    """Forward 127.0.0.1:`port` to (target_host, target_port); `blackhole()` / `heal()` cut and restore it."""

    def __init__(self, target_host: str, target_port: int, connect_timeout: float = 5.0):
        self.target = (target_host, target_port)
        self.connect_timeout = connect_timeout
        self.port = 0
        self._listener: socket.socket | None = None
        self._lock = threading.Lock()
        self._links: list[_Link] = []
        self._threads: list[threading.Thread] = []
        self._blackholed = False
        self._stopping = False

    # -- control -----------------------------------------------------------------------------------
    def start(self) -> TcpProxy:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        listener.listen(128)
        self._listener = listener
        self.port = int(listener.getsockname()[1])
        self._spawn(self._accept_loop, "tcpproxy-accept")
        return self

    @property
    def blackholed(self) -> bool:
        return self._blackholed

    @property
    def connections(self) -> int:
        """Connections open right now (either side still open), blackholed ones included."""
        with self._lock:
            return len(self._links)

    def blackhole(self) -> None:
        """A partition from now on: every open and every new connection silently drops all bytes."""
        with self._lock:
            self._blackholed = True
            for link in self._links:
                link.dead = True

    def heal(self) -> None:
        """New connections are forwarded again (the partitioned ones stay dead until their peers close)."""
        with self._lock:
            self._blackholed = False

    def stop(self) -> None:
        """Close the listener and every connection (both sides), and wait for the threads."""
        with self._lock:
            self._stopping = True
            links = list(self._links)
            self._links.clear()
        if self._listener is not None:
            _close(self._listener)
        for link in links:
            _close(link.client)
            if link.upstream is not None:
                _close(link.upstream)
        for thread in list(self._threads):
            if thread is not threading.current_thread():
                thread.join(5)
        self._threads.clear()

    def __enter__(self) -> TcpProxy:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- work --------------------------------------------------------------------------------------
    def _spawn(self, target, name: str, *args) -> None:
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        with self._lock:
            self._threads = [t for t in self._threads if t.is_alive()]
            self._threads.append(thread)
        thread.start()

    def _accept_loop(self) -> None:
        assert self._listener is not None
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # the listener was closed: stop()
            client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                stopping, blackholed = self._stopping, self._blackholed
            if stopping:
                _close(client)
                return
            upstream = None
            if not blackholed:
                try:
                    upstream = socket.create_connection(self.target, timeout=self.connect_timeout)
                    upstream.settimeout(None)
                    upstream.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                except OSError:
                    _close(client)  # the target refused: so does the proxy (as a closed port would)
                    continue
            link = _Link(client, upstream, dead=upstream is None)
            with self._lock:
                if self._stopping:
                    _close(client)
                    if upstream is not None:
                        _close(upstream)
                    return
                link.dead = link.dead or self._blackholed
                self._links.append(link)
            self._spawn(self._pump, "tcpproxy-up", link, "up")
            if upstream is not None:
                self._spawn(self._pump, "tcpproxy-down", link, "down")

    def _pump(self, link: _Link, direction: str) -> None:
        """Copy one direction ("up": client to target, "down": back) until its sender closes."""
        src = link.client if direction == "up" else link.upstream
        dst = link.upstream if direction == "up" else link.client
        assert src is not None
        while True:
            try:
                data = src.recv(CHUNK)
            except OSError:
                data = b""
            if link.dead:
                if not data:
                    break  # the sender closed its side: nothing of it crosses the partition
                continue  # dropped on the floor
            if not data:
                if dst is not None:
                    try:
                        dst.shutdown(socket.SHUT_WR)  # pass the FIN on
                    except OSError:
                        pass
                break
            try:
                assert dst is not None
                dst.sendall(data)
            except OSError:
                if not link.dead:
                    self._finish(link)
                    return
        self._ended(link, direction)

    def _ended(self, link: _Link, direction: str) -> None:
        with self._lock:
            link.eof.add(direction)
            done = link.eof >= ({"up", "down"} if link.upstream is not None else {"up"})
        if done:
            self._finish(link)

    def _finish(self, link: _Link) -> None:
        with self._lock:
            if link in self._links:
                self._links.remove(link)
        _close(link.client)
        if link.upstream is not None:
            _close(link.upstream)


def _close(sock: socket.socket) -> None:
    """Wake any thread blocked on SOCK, then close it."""
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    try:
        sock.close()
    except OSError:
        pass
