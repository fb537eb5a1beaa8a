"""The asyncio client: ties the connection, the call table, subscriptions and responders together.

    client = await wirebus.connect(["unix:///run/wirebus.sock", "tcp://10.0.0.5:7440"], name="svc")
    ack = await client.publish("blocks", b"...", expected_sequence=42)
    async for m in await client.subscribe("blocks", start=1): ...
    reply = await client.request("state.epoch", b"", timeout=2.0)
"""
from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field

from . import codec
from . import errors
from .calls import Call, CallTable
from .connection import Connection, ReconnectPolicy, credential_bytes, tls_context
from .responders import Responder, Responders
from .subscriptions import ACK_AUTO, ACK_EXPLICIT, Message, Subscription

log = logging.getLogger("wirebus")


class PublishAck:
    """``sequence`` (of the first message), ``count``, ``duplicate`` (an idempotent resend)."""
    __slots__ = ("sequence", "count", "duplicate")

    def __init__(self, sequence, count, duplicate=False):
        self.sequence = sequence
        self.count = count
        self.duplicate = duplicate

    @property
    def first_sequence(self):
        return self.sequence

    @property
    def last_sequence(self):
        return self.sequence + self.count - 1

    def __repr__(self):
        return "PublishAck(sequence=%d, count=%d, duplicate=%s)" % (self.sequence, self.count, self.duplicate)


@dataclass
class FetchResult:
    stream: str
    first_sequence: int
    last_sequence: int
    messages: list


@dataclass
class ConsumerInfo:
    name: str
    acked_sequence: int
    lag: int
    max_lag: int
    connected: bool


@dataclass
class AuthInfo:
    """What AUTH_OK said: the principal and when its credential expires (epoch ms, 0 = never)."""
    principal: str
    expires_at_millis: int


@dataclass
class StreamInfo:
    name: str
    first_sequence: int
    last_sequence: int
    bytes: int
    consumers: int


@dataclass
class StreamPage:
    """One page of STREAMS: ``more`` when names after the last one exist."""
    streams: list
    more: bool


@dataclass
class StreamConsumers:
    stream: str
    last_sequence: int
    held_publishes: int
    held_millis: int
    rejected_publishes: int
    consumers: list = field(default_factory=list)


def _ack(f):
    return PublishAck(f["firstSequence"], f["count"], f["duplicate"])


def _check_name(what, name):
    if not isinstance(name, str) or not name or len(name.encode("utf-8")) > 0xFFFF:
        raise ValueError("%s must be a non-empty string of at most 65535 UTF-8 bytes, was %r" % (what, name))


def _check_payload(p):
    if not isinstance(p, (bytes, bytearray, memoryview)):
        raise TypeError("a payload is bytes (or bytearray/memoryview), not %s" % type(p).__name__)
    return p


def _check_expected(expected):
    if not isinstance(expected, int) or expected < 0 or expected > codec.MAX_U63:
        raise ValueError("expected_sequence must be 0 (none) or a sequence >= 1, was %r" % (expected,))


class Client:
    """A connection to a broker shared by any number of tasks; see :func:`connect`."""

    def __init__(self, addresses, *, name="wirebus-python", connect_timeout=5.0, request_timeout=10.0,
                 reconnect: ReconnectPolicy | None = None, max_in_flight=65536, subscription_window=1024,
                 on_error=None, token=None, tls_ca_file: str | None = None, ssl_context=None,
                 tls_server_name: str | None = None, token_refresh: bool = True):
        if request_timeout <= 0:
            raise ValueError("request_timeout must be positive")
        self.request_timeout = request_timeout
        self.subscription_window = subscription_window
        self.on_error = on_error
        if ssl_context is None and tls_ca_file is not None:
            ssl_context = tls_context(tls_ca_file)
        self._conn = Connection(addresses, name, self, connect_timeout=connect_timeout, reconnect=reconnect,
                                credential=token, ssl_context=ssl_context, tls_server_name=tls_server_name)
        self._calls = CallTable(max_in_flight)
        self._subs: dict[int, Subscription] = {}
        self._sub_ids = 0
        self._responders = Responders(self)
        self._resend: list[Call] = []
        self._closed_error: Exception | None = None
        self._store_id = None
        self._connected_event = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        self.token_refresh = token_refresh
        self._generation = 0          # counts connections (a refresh belongs to one)
        self._refresh_timer = None

    # ------------------------------------------------------------------ properties
    @property
    def version(self) -> int:
        """The protocol version negotiated on the current (or last) connection."""
        return self._conn.version

    @property
    def connected(self) -> bool:
        return self._conn.connected

    @property
    def address(self):
        return self._conn.address

    @property
    def store_id(self):
        return self._store_id

    @property
    def principal(self) -> str | None:
        """The principal AUTH_OK named on the current (or last) connection; None without a token."""
        w = self._conn.welcome
        return w.principal if w is not None else None

    @property
    def expires_at_millis(self) -> int:
        """When the current credential expires (epoch ms; 0 = never or no token)."""
        w = self._conn.welcome
        return w.expires_at_millis if w is not None else 0

    @property
    def closed(self) -> bool:
        return self._closed_error is not None

    async def wait_connected(self, timeout: float):
        """Waits until connected (e.g. after a drop), at most ``timeout`` seconds."""
        try:
            await asyncio.wait_for(self._connected_event.wait(), timeout)
        except asyncio.TimeoutError:
            raise errors.ClientTimeoutError("not connected within %.1f s" % timeout) from None

    # ------------------------------------------------------------------ connection events
    def _connected(self, welcome, first):
        if not first and self._store_id is not None and welcome.store_id != self._store_id:
            err = errors.StoreChangedError(
                "broker %s came back with a different store (id %d before, %d now): the streams' history was "
                "lost, so subscriptions cannot resume without a gap; subscribe again explicitly" % (
                    welcome.address, self._store_id, welcome.store_id))
            for s in list(self._subs.values()):
                s.end(err)
            self._report(err)
        self._store_id = welcome.store_id
        self._generation += 1
        self._schedule_refresh()
        # restore subscriptions and responders before anything queued goes out
        for s in list(self._subs.values()):
            if s.open:
                self._send_subscribe(s)
        loop = asyncio.get_running_loop()
        for r in self._responders:
            fut = loop.create_future()
            fut.add_done_callback(self._respond_on_done)
            self._write_call(codec.RESPOND_ON, {"subject": r.subject}, fut, None,
                             "RESPOND_ON subject %r" % r.subject, False, False,
                             loop.time() + self.request_timeout)
        # idempotent publishes in flight go again, in their original order, before newer ones
        resend, self._resend = self._resend, []
        for c in resend:
            if not c.done:
                c.written = True
                self._conn.write(c.data)
        pending = self._calls.pending
        while pending and self._conn.writable:
            c = pending.popleft()
            if not c.done:
                c.written = True
                self._conn.write(c.data)
        self._connected_event.set()

    def _respond_on_done(self, fut):
        if not fut.cancelled() and fut.exception() is not None:
            e = fut.exception()
            if not isinstance(e, (errors.ConnectionLostError,)):
                self._report(e)

    def _disconnected(self):
        self._connected_event.clear()
        self._cancel_refresh()
        closing = self._closed_error is not None or self._conn.closed
        self._resend.extend(self._calls.on_disconnect(closing, self._conn.address))
        self._resend.sort(key=lambda c: c.id)

    def _closed(self, err):
        """The connection gave up (no more reconnects)."""
        self._shutdown(err)

    def _report(self, err):
        log.debug("wirebus: %s", err)
        if self.on_error is not None:
            try:
                self.on_error(err)
            except Exception:  # a failing listener must not break the client
                log.exception("on_error listener failed")

    def _frame(self, f: codec.Frame):
        t = f.type
        if t == codec.DELIVER:
            s = self._subs.get(f["subscriptionId"])
            if s is not None and not s.on_deliver(f):
                self._report(errors.ProtocolViolationError(1, "subscription to %r expected sequence %d but the "
                                                              "broker delivered %d" % (
                                                                  s.stream, s.next_sequence, f["firstSequence"])))
                self._conn.drop()  # reconnect and resume from the cursor
        elif t == codec.SUBSCRIPTION_CLOSED:
            s = self._subs.get(f["subscriptionId"])
            if s is not None:
                s.end(errors.from_frame(f))
        elif t == codec.REQUEST:
            self._responders.on_request(f)
        else:
            self._calls.answer(f)

    # ------------------------------------------------------------------ sending
    def _write_call(self, ftype, fields, fut, convert, what, counts, resendable, deadline):
        rid = self._conn.next_id()
        data = codec.encode(codec.Frame(ftype, rid, fields))
        self._check_size(data, what)
        call = Call(rid, data, fut, convert, what, counts, resendable)
        self._calls.add(call, deadline)
        if self._conn.writable:
            call.written = True
            self._conn.write(data)
        else:
            self._calls.pending.append(call)
        return call

    def _conn_loop(self):
        return self._loop

    def _check_size(self, data, what):
        w = self._conn.welcome
        if w is not None and len(data) - 4 > w.max_frame_length:
            raise errors.ClientError("%s is a frame of %d bytes; the broker accepts at most %d (maxFrameLength)" % (
                what, len(data) - 4, w.max_frame_length))

    async def _call(self, ftype, fields, convert, what, *, timeout=None, counts=True, resendable=False):
        if self._closed_error is not None:
            raise errors.ClientClosedError("client is closed: %s" % self._closed_error)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + (timeout if timeout is not None else self.request_timeout)
        if counts:
            await self._calls.acquire(deadline, what)
        fut = loop.create_future()
        try:
            self._write_call(ftype, fields, fut, convert, what, counts, resendable, deadline)
        except BaseException:
            if counts:
                self._calls._window.release()
            raise
        return await fut

    def _send_one_way(self, frame: codec.Frame) -> bool:
        if not self._conn.connected:
            return False
        self._conn.write(codec.encode(frame, self._conn.version))
        return True

    # ------------------------------------------------------------------ publishing
    async def publish(self, stream: str, payload: bytes, *, expected_sequence: int = 0, producer: str | None = None,
                      producer_sequence: int | None = None, timeout: float | None = None) -> PublishAck:
        """Appends one message; returns its :class:`PublishAck`. With ``expected_sequence`` only if it
        lands there (else :class:`SequenceMismatchError` with ``last_sequence``); with ``producer`` and
        ``producer_sequence`` idempotently, resent after a reconnect until the deadline."""
        if producer is not None:
            return await self.publish_batch(stream, [payload], expected_sequence=expected_sequence,
                                            producer=producer, producer_sequence=producer_sequence, timeout=timeout)
        _check_name("stream", stream)
        _check_expected(expected_sequence)
        _check_payload(payload)
        return await self._call(codec.PUBLISH, {"stream": stream, "expectedSequence": expected_sequence,
                                                "payload": payload}, _ack,
                                "PUBLISH on stream %r" % stream, timeout=timeout)

    async def publish_batch(self, stream: str, payloads, *, expected_sequence: int = 0, producer: str | None = None,
                            producer_sequence: int | None = None, timeout: float | None = None) -> PublishAck:
        """Appends messages atomically at consecutive sequences (one frame)."""
        _check_name("stream", stream)
        _check_expected(expected_sequence)
        payloads = [_check_payload(p) for p in payloads]
        if not payloads:
            raise ValueError("a batch needs at least one message")
        if producer is None:
            return await self._call(codec.PUBLISH_BATCH, {"stream": stream, "expectedSequence": expected_sequence,
                                                          "records": payloads}, _ack,
                                    "PUBLISH_BATCH of %d on stream %r" % (len(payloads), stream), timeout=timeout)
        _check_name("producer", producer)
        if not isinstance(producer_sequence, int) or not 1 <= producer_sequence <= codec.MAX_U63:
            raise ValueError("producer_sequence must be >= 1, was %r" % (producer_sequence,))
        return await self._call(codec.PUBLISH_IDEMPOTENT, {
            "stream": stream, "expectedSequence": expected_sequence, "producerId": producer,
            "producerSequence": producer_sequence, "records": payloads}, _ack,
            "PUBLISH of %d on stream %r by producer %r #%d" % (len(payloads), stream, producer, producer_sequence),
            timeout=timeout, resendable=True)

    def _publish_records(self, stream_bytes: bytes, payloads: list, what: str, timeout: float | None = None):
        """Sends one PUBLISH_BATCH now (no in-flight slot: the caller bounds itself) and returns the
        future of its PublishAck. Used by the batching publisher."""
        if self._closed_error is not None:
            raise errors.ClientClosedError("client is closed: %s" % self._closed_error)
        loop = asyncio.get_running_loop()
        fut = loop.create_future()
        rid = self._conn.next_id()
        data = codec.encode_publish_batch(rid, stream_bytes, 0, payloads)
        self._check_size(data, what)
        call = Call(rid, data, fut, _ack, what, False, False)
        self._calls.add(call, loop.time() + (timeout if timeout is not None else self.request_timeout))
        if self._conn.writable:
            call.written = True
            self._conn.write(call.data)
        else:
            self._calls.pending.append(call)
        return fut

    def producer(self, producer_id: str, next_sequence: int = 1) -> "IdempotentProducer":
        """An idempotent producer that numbers its batches from ``next_sequence``."""
        return IdempotentProducer(self, producer_id, next_sequence)

    # ------------------------------------------------------------------ reading
    async def fetch(self, stream: str, from_sequence: int, max_messages: int = 1000, *,
                    timeout: float | None = None) -> FetchResult:
        """Up to ``max_messages`` from ``from_sequence`` at once, without subscribing."""
        _check_name("stream", stream)
        if not isinstance(from_sequence, int) or from_sequence < 1:
            raise ValueError("from_sequence must be at least 1, was %r" % (from_sequence,))
        if not 1 <= max_messages <= codec.MAX_U31:
            raise ValueError("max_messages must be at least 1, was %r" % (max_messages,))

        def convert(f):
            first = f["firstSequence"]
            return FetchResult(stream, first, f["lastSequence"],
                               [Message(stream, first + i, p) for i, p in enumerate(f["records"])])
        return await self._call(codec.FETCH, {"stream": stream, "fromSequence": from_sequence,
                                              "maxMessages": max_messages}, convert,
                                "FETCH from stream %r at %d" % (stream, from_sequence), timeout=timeout)

    async def subscribe(self, stream: str, start="earliest", *, credits: int | None = None,
                        consumer: str | None = None, ack_mode: str = "explicit", max_lag: int = 0,
                        timeout: float | None = None) -> Subscription:
        """Opens a subscription and waits for the broker's confirmation. ``start`` is "earliest",
        "latest" or a sequence; ``credits`` the window (default the client's). With ``consumer`` it is
        a durable consumer (CONSUME): ``ack_mode`` "explicit" or "auto", ``max_lag`` > 0 gates
        publishers. The subscription resumes by itself after reconnects."""
        _check_name("stream", stream)
        if consumer is not None:
            _check_name("consumer", consumer)
        if ack_mode not in ("explicit", "auto"):
            raise ValueError("ack_mode must be 'explicit' or 'auto', was %r" % (ack_mode,))
        if self._closed_error is not None:
            raise errors.ClientClosedError("client is closed: %s" % self._closed_error)
        self._sub_ids += 1
        s = Subscription(self, self._sub_ids, stream, start, credits or self.subscription_window, consumer,
                         ACK_EXPLICIT if ack_mode == "explicit" else ACK_AUTO, max_lag)
        self._subs[s.id] = s
        if self._conn.writable:
            self._send_subscribe(s)
        # otherwise it goes out with the others once the connection is back
        t = timeout if timeout is not None else self.request_timeout
        try:
            await asyncio.wait_for(asyncio.shield(s.started), t)
        except asyncio.TimeoutError:
            s.end(errors.ClientTimeoutError("subscription to %r not confirmed within %.1f s" % (stream, t)))
            if self._conn.writable:
                self._send_one_way_unsubscribe(s)
            raise s.error from None
        return s

    async def consume(self, stream: str, consumer: str, start="earliest", **kw) -> Subscription:
        """:meth:`subscribe` as durable consumer ``consumer``."""
        return await self.subscribe(stream, start, consumer=consumer, **kw)

    def _send_subscribe(self, s: Subscription):
        loop = asyncio.get_running_loop()
        fut = loop.create_future()

        def done(f, s=s):
            if f.cancelled():
                return
            e = f.exception()
            if e is not None and not isinstance(e, errors.ConnectionLostError):
                s.end(e)
        fut.add_done_callback(done)
        rid = self._conn.next_id()
        frame = s.subscribe_frame(rid)
        call = Call(rid, codec.encode(frame), fut, s.on_subscribed,
                    "%s to stream %r" % ("CONSUME" if s.consumer else "SUBSCRIBE", s.stream), False, False)
        self._calls.add(call, loop.time() + self.request_timeout)
        call.written = True
        self._conn.write(call.data)

    def _send_one_way_unsubscribe(self, s):
        loop = asyncio.get_running_loop()
        fut = loop.create_future()
        fut.add_done_callback(lambda f: f.cancelled() or f.exception())
        self._write_call(codec.UNSUBSCRIBE, {"subscriptionId": s.id}, fut, None, "UNSUBSCRIBE", False, False,
                         loop.time() + self.request_timeout)

    def _forget(self, s: Subscription):
        if self._subs.get(s.id) is s:
            del self._subs[s.id]

    def _grant(self, s: Subscription, credits: int):
        if self._conn.connected:
            self._send_one_way(codec.Frame(codec.CREDIT, 0, {"subscriptionId": s.id, "credits": credits}))

    async def _ack(self, s: Subscription, sequence: int, confirm: bool):
        if not isinstance(sequence, int) or not 0 <= sequence <= codec.MAX_U63:
            raise ValueError("sequence must be a sequence number, was %r" % (sequence,))
        fields = {"subscriptionId": s.id, "sequence": sequence}
        if not confirm:
            self._send_one_way(codec.Frame(codec.ACK, 0, fields))
            return
        await self._call(codec.ACK, fields, None, "ACK of %d on stream %r" % (sequence, s.stream))

    async def _unsubscribe(self, s: Subscription):
        if self._conn.writable:
            try:
                await self._call(codec.UNSUBSCRIBE, {"subscriptionId": s.id}, None,
                                 "UNSUBSCRIBE from stream %r" % s.stream, counts=False)
            except errors.ServerError as e:
                if e.code != 12:  # UNKNOWN_SUBSCRIPTION: it had already ended
                    raise
            except errors.ConnectionLostError:
                pass  # the subscription ended with the connection

    async def consumers(self, stream: str, *, timeout: float | None = None) -> StreamConsumers:
        """The stream's durable consumers, their positions and lag."""
        _check_name("stream", stream)

        def convert(f):
            last = f["lastSequence"]
            return StreamConsumers(stream, last, f["heldPublishes"], f["heldMillis"], f["rejectedPublishes"], [
                ConsumerInfo(c["name"], c["ackedSequence"], max(0, last - c["ackedSequence"]), c["maxLag"],
                             c["connected"]) for c in f["consumers"]])
        return await self._call(codec.CONSUMERS, {"stream": stream}, convert, "CONSUMERS of stream %r" % stream,
                                timeout=timeout)

    # ------------------------------------------------------------------ request / reply
    async def request(self, subject: str, payload: bytes = b"", timeout: float = 5.0) -> bytes:
        """Sends a request to one responder of ``subject``; returns the reply. The broker answers
        TIMEOUT (RequestTimeoutError) at the deadline; the client's own deadline is a little later."""
        _check_name("subject", subject)
        _check_payload(payload)
        if not 0 < timeout <= codec.MAX_U31 / 1000:
            raise ValueError("request timeout must be positive, was %r" % (timeout,))
        ms = max(1, int(timeout * 1000))
        return await self._call(codec.REQUEST, {"subject": subject, "timeoutMillis": ms, "payload": payload},
                                lambda f: f["payload"], "REQUEST on subject %r" % subject,
                                timeout=timeout + min(timeout, 1.0))

    async def respond(self, subject: str, handler) -> Responder:
        """Answers requests on ``subject`` with ``handler(request) -> bytes`` (sync or async); a
        raised exception answers ERROR (RESPONDER_FAILED for the requester). Re-registered after
        every reconnect."""
        _check_name("subject", subject)
        r = self._responders.add(subject, handler)
        try:
            await self._call(codec.RESPOND_ON, {"subject": subject}, None, "RESPOND_ON subject %r" % subject,
                             counts=False)
        except errors.ConnectionLostError:
            pass  # registered again on the reconnect
        except BaseException:
            self._responders.discard(r)
            raise
        return r

    # ------------------------------------------------------------------ authentication
    async def auth(self, token, *, timeout: float | None = None) -> AuthInfo:
        """Sends AUTH with a fresh bearer ``token`` (str, bytes, or a callable returning one) on the
        current connection, e.g. before the current one expires; the broker replaces the
        connection's principal. The token is kept for later reconnects once AUTH_OK came. AUTH_FAILED
        raises :class:`AuthFailedError` (the broker closes the connection; the client reconnects
        with the previous token)."""
        data = credential_bytes(token)
        info = await self._call(codec.AUTH, {"mechanism": "bearer", "credential": data},
                                lambda f: AuthInfo(f["principal"], f["expiresAtMillis"]), "AUTH", timeout=timeout,
                                counts=False)
        self._conn.credential = token
        w = self._conn.welcome
        if w is not None:
            w.principal, w.expires_at_millis = info.principal, info.expires_at_millis
        self._schedule_refresh()   # a callable token keeps being refreshed; a fixed one is not
        return info

    def _cancel_refresh(self):
        if self._refresh_timer is not None:
            self._refresh_timer.cancel()
            self._refresh_timer = None

    def _schedule_refresh(self):
        """With a token provider (a callable) and a credential that expires: a fresh token is asked
        for and sent in AUTH on the open connection when three quarters of the remaining lifetime
        have passed, so the broker does not end the connection with AUTH_EXPIRED."""
        self._cancel_refresh()
        w = self._conn.welcome
        if not self.token_refresh or not callable(self._conn.credential) or w is None or not w.expires_at_millis:
            return
        delay = max(0.0, (w.expires_at_millis / 1000.0 - time.time()) * 0.75)
        gen = self._generation
        self._refresh_timer = self._loop.call_later(delay, lambda: self._loop.create_task(self._refresh(gen)))

    async def _refresh(self, gen):
        self._refresh_timer = None
        if gen != self._generation or self._closed_error is not None or not self._conn.writable:
            return
        try:
            data = credential_bytes(self._conn.credential)
            ok = await self._call(codec.AUTH, {"mechanism": "bearer", "credential": data}, None, "AUTH (refresh)",
                                  counts=False)
        except Exception as e:  # noqa: BLE001 - reported; the broker then ends the connection, the reconnect re-authenticates
            self._report(errors.ClientError("refreshing the credential before it expires failed: %s" % e))
            return
        w = self._conn.welcome
        if gen == self._generation and w is not None:
            w.principal, w.expires_at_millis = ok["principal"], ok["expiresAtMillis"]
            self._schedule_refresh()

    # ------------------------------------------------------------------ administration
    async def streams(self, after: str = "", max_streams: int = 1000, *, timeout: float | None = None) -> StreamPage:
        """One page of the streams the principal may administer, names after ``after``."""
        if not 1 <= max_streams <= 1000:
            raise ValueError("max_streams must be 1..1000, was %r" % (max_streams,))

        def convert(f):
            return StreamPage([StreamInfo(e["name"], e["firstSequence"], e["lastSequence"], e["bytes"],
                                          e["consumers"]) for e in f["streams"]], f["more"])
        return await self._call(codec.STREAMS, {"after": after, "max": max_streams}, convert, "STREAMS",
                                timeout=timeout)

    async def delete_stream(self, stream: str, *, timeout: float | None = None):
        """Deletes the stream, its records and durable consumers (NotFoundError if absent)."""
        _check_name("stream", stream)
        await self._call(codec.DELETE_STREAM, {"stream": stream}, None, "DELETE_STREAM %r" % stream, timeout=timeout)

    async def trim_stream(self, stream: str, before_sequence: int, *, timeout: float | None = None):
        """Drops records below ``before_sequence`` as far as the storage granularity allows."""
        _check_name("stream", stream)
        if not isinstance(before_sequence, int) or not 0 <= before_sequence <= codec.MAX_U63:
            raise ValueError("before_sequence must be a sequence, was %r" % (before_sequence,))
        await self._call(codec.TRIM_STREAM, {"stream": stream, "beforeSequence": before_sequence}, None,
                         "TRIM_STREAM %r before %d" % (stream, before_sequence), timeout=timeout)

    async def delete_consumer(self, stream: str, consumer: str, *, timeout: float | None = None):
        """Deletes a durable consumer and its position (NotFoundError if absent)."""
        _check_name("stream", stream)
        _check_name("consumer", consumer)
        await self._call(codec.DELETE_CONSUMER, {"stream": stream, "consumer": consumer}, None,
                         "DELETE_CONSUMER %r of %r" % (consumer, stream), timeout=timeout)

    async def ping(self, timeout: float | None = None) -> float:
        """Round trip to the broker, in seconds."""
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        await self._call(codec.PING, {}, None, "PING", timeout=timeout)
        return loop.time() - t0

    # ------------------------------------------------------------------ closing
    def _shutdown(self, err: Exception):
        if self._closed_error is not None:
            return
        self._closed_error = err
        self._cancel_refresh()
        self._calls.fail_all(err if isinstance(err, errors.WirebusError) else errors.ClientClosedError(str(err)))
        for c in self._resend:
            self._calls.fail(c, err)
        self._resend = []
        for s in list(self._subs.values()):
            s.end(None if isinstance(err, errors.ClientClosedError) else err)
        self._responders.cancel_all()

    async def close(self):
        """Closes the connection; pending calls fail with ClientClosedError. Idempotent."""
        if self._closed_error is not None:
            return
        self._shutdown(errors.ClientClosedError("client was closed"))
        await self._conn.close()

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        await self.close()

    @classmethod
    async def connect_new(cls, addresses, **options) -> "Client":
        return await connect(addresses, **options)


class IdempotentProducer:
    """Publishes as producer ``producer_id``, numbering batches itself; each batch is appended at
    most once, also when resent after a reconnect."""

    def __init__(self, client: Client, producer_id: str, next_sequence: int = 1):
        _check_name("producer", producer_id)
        self.client = client
        self.producer_id = producer_id
        self.next_sequence = next_sequence

    async def publish(self, stream, payload, *, expected_sequence=0, timeout=None) -> PublishAck:
        return await self.publish_batch(stream, [payload], expected_sequence=expected_sequence, timeout=timeout)

    async def publish_batch(self, stream, payloads, *, expected_sequence=0, timeout=None) -> PublishAck:
        seq = self.next_sequence
        self.next_sequence += 1
        return await self.client.publish_batch(stream, payloads, expected_sequence=expected_sequence,
                                               producer=self.producer_id, producer_sequence=seq, timeout=timeout)


async def connect(addresses=None, *, name: str = "wirebus-python", **options) -> Client:
    """Connects to the first of ``addresses`` that answers (a list or one string; default the
    broker's default Unix socket) and completes the handshake; raises ConnectionLostError saying
    why when none does. Options: connect_timeout, request_timeout (seconds), reconnect
    (:class:`ReconnectPolicy`), max_in_flight, subscription_window, on_error; ``token`` (a bearer
    token or JWT, str/bytes, or a callable returning one, called on every connection: sent in AUTH
    right after WELCOME on every connection; a callable is also asked for a fresh token when three
    quarters of an expiring credential's lifetime have passed, sent in AUTH on the open connection,
    unless ``token_refresh=False``); ``tls_ca_file`` (PEM CA for ``tls://`` addresses; default
    the system's trust store), ``ssl_context`` (instead), ``tls_server_name`` (name to verify)."""
    client = Client(addresses or [], name=name, **options)
    try:
        await client._conn.connect()
    except BaseException:
        await client.close()
        raise
    return client
