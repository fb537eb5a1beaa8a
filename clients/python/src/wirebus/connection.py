"""The connection: one socket to one broker at a time.

Connects to the addresses in turn (``unix:///path``, ``tcp://host:port``, or a bare socket path),
sends HELLO (versions 1..2) and waits for WELCOME with a deadline, then hands every frame to its
owner. When the socket drops it reconnects by itself with capped exponential backoff and jitter
(:class:`ReconnectPolicy`), trying the addresses again in turn. After a GOAWAY it takes no new
work (:attr:`Connection.writable` is false), lets the broker finish and close, and reconnects,
preferring the next address.
"""
from __future__ import annotations

import asyncio
import logging
import os
import random
import socket
import ssl

from . import codec
from . import errors

log = logging.getLogger("wirebus")

#: largest frame this client accepts from a broker (as the Java client: a v1 broker may exceed its
#: announced maximum by a few bytes on DELIVER/FETCHED)
CLIENT_MAX_FRAME_LENGTH = 64 * 1024 * 1024


class ReconnectPolicy:
    """Delays double from ``initial`` up to ``maximum`` seconds, +-20 % jitter; ``max_attempts``
    rounds over the addresses per outage (None: forever; 0: never reconnect)."""

    def __init__(self, initial: float = 0.02, maximum: float = 2.0, max_attempts: int | None = None):
        if initial <= 0 or maximum < initial:
            raise ValueError("need 0 < initial <= maximum, got %r and %r" % (initial, maximum))
        if max_attempts is not None and max_attempts < 0:
            raise ValueError("max_attempts must be >= 0")
        self.initial = initial
        self.maximum = maximum
        self.max_attempts = max_attempts

    @classmethod
    def never(cls) -> "ReconnectPolicy":
        return cls(0.02, 0.02, 0)

    def delay(self, attempt: int) -> float:
        base = min(self.maximum, self.initial * (2 ** min(max(attempt - 1, 0), 30)))
        return base * (0.8 + 0.4 * random.random())


def parse_address(address: str):
    """``("unix", path)`` or ``("tcp", host, port)``; raises ValueError naming a bad address."""
    if address.startswith("unix://"):
        path = address[len("unix://"):]
        if not path:
            raise ValueError("address %r has no socket path" % address)
        return ("unix", path)
    for scheme in ("tcp", "tls"):
        if address.startswith(scheme + "://"):
            hostport = address[len(scheme) + 3:]
            host, sep, port = hostport.rpartition(":")
            if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
                raise ValueError("address %r is not %s://host:port" % (address, scheme))
            return (scheme, host.strip("[]"), int(port))
    if "://" in address:
        raise ValueError("address %r: only unix://, tcp:// and tls:// are supported" % address)
    return ("unix", address)


def default_address() -> str:
    path = os.environ.get("WIREBUS_SOCKET")
    if not path:
        rt = os.environ.get("XDG_RUNTIME_DIR")
        path = os.path.join(rt, "wirebus.sock") if rt else "wirebus.sock"
    return "unix://" + os.path.abspath(path)


class Welcome:
    """The handshake's outcome: WELCOME's fields, and AUTH_OK's when a credential was sent
    (``principal`` None and ``expires_at_millis`` 0 otherwise)."""
    __slots__ = ("version", "max_frame_length", "store_id", "server_name", "address", "principal",
                 "expires_at_millis")

    def __init__(self, frame: codec.Frame, address: str):
        self.version = frame["version"]
        self.max_frame_length = frame["maxFrameLength"]
        self.store_id = frame["storeId"]
        self.server_name = frame["serverName"]
        self.address = address
        self.principal = None
        self.expires_at_millis = 0


def credential_bytes(credential) -> bytes | None:
    """The bearer credential to send now: ``credential`` itself (str or bytes) or, when callable,
    what it returns (called on every connection, so a provider can mint a fresh token)."""
    if credential is None:
        return None
    if callable(credential):
        credential = credential()
    if isinstance(credential, str):
        credential = credential.encode("utf-8")
    if not isinstance(credential, (bytes, bytearray)) or not credential:
        raise errors.ClientError("the credential (token) must be a non-empty str or bytes, or a callable "
                                 "returning one")
    return bytes(credential)


def tls_context(ca_file: str | None = None) -> ssl.SSLContext:
    """A client TLS context (TLS 1.2+, hostname checked) trusting ``ca_file`` (PEM), else the
    system's trust store."""
    ctx = ssl.create_default_context(cafile=ca_file)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    return ctx


class _Protocol(asyncio.Protocol):
    """One socket: decodes frames; before WELCOME it completes the handshake future."""

    def __init__(self, conn: "Connection", address: str, hello_id: int):
        self.conn = conn
        self.address = address
        self.hello_id = hello_id
        self.reader = codec.FrameReader(CLIENT_MAX_FRAME_LENGTH, 1)
        self.transport = None
        self.welcome = asyncio.get_running_loop().create_future()
        # an abandoned attempt (client closed, deadline passed) must not log "never retrieved"
        self.welcome.add_done_callback(lambda f: f.cancelled() or f.exception())
        self.open = False  # handshake done and handed to the connection
        self.lost = False
        self.auth_id = None  # request id of the AUTH sent in the handshake
        self.auth = None  # its future: AUTH_OK frame, or the error

    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        try:
            self.reader.feed(data, self._frame)
        except codec.ProtocolError as e:
            err = errors.ProtocolViolationError(e.code, "broker %s sent a bad frame: %s" % (self.address, e))
            if not self.welcome.done():
                self.welcome.set_exception(err)
            else:
                self.conn._report(err)
            self.transport.abort()

    def _frame(self, f: codec.Frame):
        if self.open:
            self.conn._on_frame(self, f)
            return
        if f.type == codec.WELCOME and f.request_id == self.hello_id and not self.welcome.done():
            if not codec.MIN_VERSION <= f["version"] <= codec.MAX_VERSION:
                self.welcome.set_exception(errors.ProtocolViolationError(
                    4, "broker %s chose version %d, not one of 1..2" % (self.address, f["version"])))
                return
            self.reader.version = f["version"]
            self.welcome.set_result(Welcome(f, self.address))
        elif f.type == codec.ERROR and not self.welcome.done():
            self.welcome.set_exception(errors.from_frame(f))
        elif self.auth is not None and not self.auth.done() and f.request_id == self.auth_id \
                and f.type in (codec.AUTH_OK, codec.ERROR):
            if f.type == codec.AUTH_OK:
                self.auth.set_result(f)
            else:
                self.auth.set_exception(errors.from_frame(f))
        elif f.type == codec.ERROR and self.auth is not None and not self.auth.done():
            self.auth.set_exception(errors.from_frame(f))  # e.g. a closing error with request id 0
        elif f.type == codec.PING:
            self.transport.write(codec.encode(codec.Frame(codec.PONG, f.request_id)))
        # anything else before WELCOME is ignored

    def connection_lost(self, exc):
        self.lost = True
        if not self.welcome.done():
            self.welcome.set_exception(errors.ConnectionLostError(
                "connection to %s closed during the handshake%s" % (self.address, ": %s" % exc if exc else "")))
        if self.auth is not None and not self.auth.done():
            self.auth.set_exception(errors.ConnectionLostError(
                "connection to %s closed before AUTH was answered%s" % (self.address, ": %s" % exc if exc else "")))
        if self.open:
            self.conn._on_lost(self, exc)


class Connection:
    """Keeps one handshaken socket to one of ``addresses``; see the module doc.

    ``owner`` gets ``_connected(welcome, first)``, ``_frame(frame)``, ``_disconnected()``,
    ``_closed(error)`` and ``_report(error)`` calls, all on the event loop.
    """

    def __init__(self, addresses, name: str, owner, *, connect_timeout: float = 5.0,
                 reconnect: ReconnectPolicy | None = None, goaway_grace: float = 30.0, credential=None,
                 ssl_context: ssl.SSLContext | None = None, tls_server_name: str | None = None):
        if isinstance(addresses, str):
            addresses = [addresses]
        self.addresses = list(addresses) or [default_address()]
        for a in self.addresses:
            parse_address(a)
        self.name = name
        self.owner = owner
        self.connect_timeout = connect_timeout
        self.reconnect = reconnect or ReconnectPolicy()
        self.goaway_grace = goaway_grace
        self.credential = credential
        self.ssl_context = ssl_context
        self.tls_server_name = tls_server_name
        self.welcome: Welcome | None = None
        self.going_away = False
        self.closed = False
        self._proto: _Protocol | None = None
        self._preferred = 0
        self._ids = 0
        self._reconnect_task = None
        self._goaway_timer = None

    # -------------------------------------------------------------- state
    @property
    def connected(self) -> bool:
        return self._proto is not None

    @property
    def writable(self) -> bool:
        """Connected and not going away: new work may be sent."""
        return self._proto is not None and not self.going_away

    @property
    def version(self) -> int:
        return self.welcome.version if self.welcome else 1

    @property
    def address(self) -> str | None:
        return self.welcome.address if self.welcome else None

    def write(self, data: bytes):
        self._proto.transport.write(data)

    def next_id(self) -> int:
        self._ids += 1
        return self._ids

    # -------------------------------------------------------------- connecting
    async def _open(self, address: str) -> _Protocol:
        loop = asyncio.get_running_loop()
        kind = parse_address(address)
        hello_id = self.next_id()
        factory = lambda: _Protocol(self, address, hello_id)  # noqa: E731
        try:
            if kind[0] == "unix":
                coro = loop.create_unix_connection(factory, kind[1])
            elif kind[0] == "tls":
                ctx = self.ssl_context or tls_context()
                coro = loop.create_connection(factory, kind[1], kind[2], ssl=ctx,
                                              server_hostname=self.tls_server_name or kind[1],
                                              ssl_handshake_timeout=self.connect_timeout)
            else:
                coro = loop.create_connection(factory, kind[1], kind[2])
            _, proto = await asyncio.wait_for(coro, self.connect_timeout)
        except asyncio.TimeoutError:
            raise errors.ConnectionLostError("no connection to %s within %.1f s" % (address, self.connect_timeout))
        except ssl.SSLError as e:
            raise errors.ConnectionLostError("TLS handshake with %s failed: %s" % (address, e)) from None
        except FileNotFoundError:
            raise errors.ConnectionLostError("no broker socket at %s (no such file): is 'wirebus serve' running "
                                             "with this --uds path?" % kind[1]) from None
        except PermissionError:
            raise errors.ConnectionLostError("permission denied on %s" % address) from None
        except ConnectionRefusedError:
            raise errors.ConnectionLostError("connection refused at %s: is a broker listening there?"
                                             % address) from None
        except OSError as e:
            raise errors.ConnectionLostError("cannot connect to %s: %s" % (address, e)) from None
        sock = proto.transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        hello = codec.Frame(codec.HELLO, hello_id, {"minVersion": codec.MIN_VERSION,
                                                    "maxVersion": codec.MAX_VERSION, "clientName": self.name})
        proto.transport.write(codec.encode(hello))
        try:
            await asyncio.wait_for(asyncio.shield(proto.welcome), self.connect_timeout)
        except asyncio.TimeoutError:
            proto.transport.abort()
            raise errors.ConnectionLostError("no WELCOME from %s within %.1f s" % (address, self.connect_timeout))
        except BaseException:
            proto.transport.abort()
            raise
        try:
            token = credential_bytes(self.credential)
        except BaseException:
            proto.transport.abort()
            raise
        if token is not None:
            await self._authenticate(proto, address, token)
        return proto

    async def _authenticate(self, proto: _Protocol, address: str, token: bytes):
        """AUTH right after WELCOME, before anything else; waits for AUTH_OK (with the connect
        deadline). AUTH_FAILED raises AuthFailedError; a broker that predates AUTH answers
        UNKNOWN_FRAME_TYPE (a ProtocolViolationError saying so)."""
        proto.auth_id = self.next_id()
        proto.auth = asyncio.get_running_loop().create_future()
        proto.auth.add_done_callback(lambda f: f.cancelled() or f.exception())
        proto.transport.write(codec.encode(codec.Frame(codec.AUTH, proto.auth_id,
                                                       {"mechanism": "bearer", "credential": token})))
        try:
            ok = await asyncio.wait_for(asyncio.shield(proto.auth), self.connect_timeout)
        except asyncio.TimeoutError:
            proto.transport.abort()
            raise errors.ConnectionLostError("no answer to AUTH from %s within %.1f s" % (
                address, self.connect_timeout)) from None
        except errors.ProtocolViolationError as e:
            proto.transport.abort()
            if e.code == codec.UNKNOWN_FRAME_TYPE:
                raise errors.ProtocolViolationError(e.code, "broker %s does not support authentication (AUTH "
                                                            "answered UNKNOWN_FRAME_TYPE: %s)" % (address, e.message)) \
                    from None
            raise
        except BaseException:
            proto.transport.abort()
            raise
        w = proto.welcome.result()
        w.principal = ok["principal"]
        w.expires_at_millis = ok["expiresAtMillis"]

    async def _connect_round(self):
        """Tries every address once, from the preferred one; returns on the first handshake."""
        failures = []
        n = len(self.addresses)
        for i in range(n):
            if self.closed:
                raise errors.ClientClosedError("client is closed")
            idx = (self._preferred + i) % n
            address = self.addresses[idx]
            try:
                proto = await self._open(address)
            except (errors.ProtocolViolationError, errors.AuthError):
                raise  # e.g. UNSUPPORTED_VERSION, AUTH_FAILED: not something a retry fixes
            except errors.WirebusError as e:
                failures.append(str(e))
                continue
            if self.closed:
                proto.transport.abort()
                raise errors.ClientClosedError("client is closed")
            if proto.lost:
                failures.append("connection to %s closed right after WELCOME" % address)
                continue
            self._preferred = idx
            self._install(proto)
            return
        raise errors.ConnectionLostError("; ".join(failures) if len(failures) > 1 else failures[0])

    def _install(self, proto: _Protocol):
        first = self.welcome is None
        self.welcome = proto.welcome.result()
        self._proto = proto
        self.going_away = False
        proto.open = True
        log.debug("connected to %s (version %d)", proto.address, self.welcome.version)
        self.owner._connected(self.welcome, first)

    async def connect(self):
        """First connection: one round over the addresses; raises ConnectionLostError saying why not."""
        await self._connect_round()

    async def _reconnect_loop(self):
        attempt = 0
        last = None
        while not self.closed:
            attempt += 1
            limit = self.reconnect.max_attempts
            if limit is not None and attempt > limit:
                self._give_up(errors.ConnectionLostError("gave up reconnecting after %d attempts: %s" % (
                    attempt - 1, last or "connection lost")))
                return
            await asyncio.sleep(self.reconnect.delay(attempt))  # backoff, not synchronisation
            try:
                await self._connect_round()
                return
            except errors.ClientClosedError:
                return
            except errors.WirebusError as e:
                last = e
                log.debug("reconnect attempt %d failed: %s", attempt, e)
                if isinstance(e, (errors.ProtocolViolationError, errors.AuthError)):
                    self._give_up(e)
                    return

    def _give_up(self, err):
        if not self.closed:
            self.closed = True
            self.owner._closed(err)

    # -------------------------------------------------------------- events from the socket
    def _on_frame(self, proto, f: codec.Frame):
        if proto is not self._proto:
            return
        if f.type == codec.PING:
            proto.transport.write(codec.encode(codec.Frame(codec.PONG, f.request_id)))
        elif f.type == codec.GOAWAY:
            self.going_away = True
            self._preferred = (self._preferred + 1) % len(self.addresses)
            self.owner._report(errors.ConnectionLostError("broker %s is going away (%s): %s" % (
                proto.address, codec.code_name(f["code"]), f["message"])))
            loop = asyncio.get_running_loop()
            self._goaway_timer = loop.call_later(self.goaway_grace, proto.transport.abort)
        elif f.type == codec.ERROR and f.request_id == 0:
            self.owner._report(errors.from_frame(f))
        else:
            self.owner._frame(f)

    def _on_lost(self, proto, exc):
        if proto is not self._proto:
            return
        self._proto = None
        if self._goaway_timer is not None:
            self._goaway_timer.cancel()
            self._goaway_timer = None
        self.owner._disconnected()
        if self.closed:
            return
        if self.reconnect.max_attempts == 0:
            self._give_up(errors.ConnectionLostError("connection to %s lost" % proto.address))
            return
        self._reconnect_task = asyncio.get_running_loop().create_task(self._reconnect_loop())

    def _report(self, err):
        self.owner._report(err)

    def drop(self):
        """Closes the socket now (the reconnect logic brings it back)."""
        if self._proto is not None:
            self._proto.transport.abort()

    async def close(self):
        if self.closed:
            return
        self.closed = True
        if self._reconnect_task is not None:
            self._reconnect_task.cancel()
        proto = self._proto
        if proto is not None:
            proto.transport.close()
            self._on_lost_final(proto)

    def _on_lost_final(self, proto):
        if proto is self._proto:
            self._proto = None
            self.owner._disconnected()
