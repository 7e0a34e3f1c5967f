"""simulators/tcpproxy.py: the partition the standby tests cut between a bot and PostgreSQL must look like
one (bytes vanish, sockets stay open, nobody is told), and must be undoable for new connections."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from simulators.tcpproxy import TcpProxy


class EchoServer:
    """A plain echo server on 127.0.0.1 (one thread per connection); counts what it received."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.sock.getsockname()[1])
        self.received = 0
        self.conns: list[socket.socket] = []
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._accept, daemon=True)]
        self._threads[0].start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with self._lock:
                self.conns.append(conn)
            thread = threading.Thread(target=self._echo, args=(conn,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _echo(self, conn: socket.socket) -> None:
        while True:
            try:
                data = conn.recv(65536)
            except OSError:
                return
            if not data:
                conn.close()
                return
            with self._lock:
                self.received += len(data)
            try:
                conn.sendall(data)
            except OSError:
                return

    def stop(self) -> None:
        for s in [self.sock, *self.conns]:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()
        for thread in self._threads:
            thread.join(5)


@pytest.fixture
def echo() -> Iterator[EchoServer]:
    server = EchoServer()
    yield server
    server.stop()


@pytest.fixture
def proxy(echo: EchoServer) -> Iterator[TcpProxy]:
    p = TcpProxy("127.0.0.1", echo.port).start()
    yield p
    p.stop()


def connect(proxy: TcpProxy, timeout: float = 5.0) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", proxy.port), timeout=timeout)
    return sock


def round_trip(sock: socket.socket, payload: bytes) -> bytes:
    sock.sendall(payload)
    got = b""
    while len(got) < len(payload):
        chunk = sock.recv(65536)
        if not chunk:
            break
        got += chunk
    return got


def still_open(sock: socket.socket) -> bool:
    """No FIN and no RST arrived: a non-blocking peek finds nothing to read rather than EOF or an error."""
    sock.setblocking(False)
    try:
        return sock.recv(1, socket.MSG_PEEK) != b""
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        sock.setblocking(True)


def test_it_forwards_both_ways_and_passes_a_close_on(proxy: TcpProxy, echo: EchoServer) -> None:
    with connect(proxy) as sock:
        assert round_trip(sock, b"hello") == b"hello"
        big = bytes(range(256)) * 2000  # several chunks
        assert round_trip(sock, big) == big
        sock.shutdown(socket.SHUT_WR)
        assert sock.recv(10) == b""  # the echo server saw the FIN and closed: so does the proxy
    assert echo.received == 5 + len(big)


def test_a_blackhole_drops_bytes_silently_and_keeps_the_socket_open(proxy: TcpProxy, echo: EchoServer) -> None:
    with connect(proxy, timeout=0.5) as sock:
        assert round_trip(sock, b"before") == b"before"
        proxy.blackhole()
        sock.sendall(b"during the partition")
        with pytest.raises(socket.timeout):
            sock.recv(100)
        assert still_open(sock)
        assert echo.received == len(b"before")  # nothing crossed to the server either
        assert proxy.connections == 1
        with connect(proxy, timeout=0.5) as fresh:  # a new connection is accepted, then eaten too
            fresh.sendall(b"new")
            with pytest.raises(socket.timeout):
                fresh.recv(100)
            assert still_open(fresh)
        assert echo.received == len(b"before")


def test_a_server_closing_during_the_blackhole_is_not_told_to_the_client(proxy: TcpProxy, echo: EchoServer) -> None:
    with connect(proxy, timeout=0.5) as sock:
        assert round_trip(sock, b"x") == b"x"
        proxy.blackhole()
        for conn in echo.conns:  # as pg_terminate_backend would end the cut session
            conn.shutdown(socket.SHUT_RDWR)
        with pytest.raises(socket.timeout):
            sock.recv(100)
        assert still_open(sock)


def test_heal_lets_new_connections_through_and_the_cut_ones_stay_dead(proxy: TcpProxy, echo: EchoServer) -> None:
    with connect(proxy, timeout=0.5) as old:
        assert round_trip(old, b"a") == b"a"
        proxy.blackhole()
        proxy.heal()
        with connect(proxy) as fresh:
            assert round_trip(fresh, b"after the heal") == b"after the heal"
        old.sendall(b"lost")
        with pytest.raises(socket.timeout):
            old.recv(100)


def test_stop_closes_every_connection(echo: EchoServer) -> None:
    proxy = TcpProxy("127.0.0.1", echo.port).start()
    sock = connect(proxy)
    try:
        assert round_trip(sock, b"a") == b"a"
        proxy.blackhole()
        proxy.stop()
        assert sock.recv(10) == b""  # closed by the proxy's stop, not left hanging
        with pytest.raises(OSError):
            connect(proxy, timeout=1)
    finally:
        sock.close()
        proxy.stop()
