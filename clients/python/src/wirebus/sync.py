"""A small blocking facade: the asyncio client on an event loop in a thread of its own.

    from wirebus.sync import BlockingClient
    with BlockingClient(["tcp://127.0.0.1:7440"], name="script") as c:
        seq = c.publish("chat.session-42", b"hello").sequence
        for m in c.subscribe("chat.session-42", start=1).iter(timeout=5.0): ...

Every method blocks until the asyncio call ends (each has its deadline); handlers given to
:meth:`BlockingClient.respond` run in worker threads, so they may block.
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import threading

from . import errors
from .batching import BatchingPublisher
from .client import connect as _async_connect

_MARGIN = 5.0  # beyond the asyncio call's own deadline, in case the loop is stuck


class _Loop:
    def __init__(self, name):
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name=name, daemon=True)
        self.thread.start()

    def run(self, coro, timeout):
        fut = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return fut.result(timeout)
        except concurrent.futures.TimeoutError:
            fut.cancel()
            raise errors.ClientTimeoutError("no result within %.1f s" % timeout) from None

    def stop(self):
        if self.loop.is_running():
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(10)
        if not self.loop.is_running():
            self.loop.close()


class BlockingSubscription:
    def __init__(self, owner: "BlockingClient", sub):
        self._owner = owner
        self.sub = sub

    @property
    def start_sequence(self) -> int:
        return self.sub.started.result()

    def next(self, timeout: float):
        """The next message (None once closed); ClientTimeoutError after ``timeout`` seconds."""
        return self._owner._run(self.sub.next(timeout), timeout + _MARGIN)

    def iter(self, timeout: float):
        """Messages until the subscription is closed; each waits at most ``timeout`` seconds."""
        while True:
            m = self.next(timeout)
            if m is None:
                return
            yield m

    def ack(self, sequence: int, confirm: bool = True):
        self._owner._run(self.sub.ack(sequence, confirm), self._owner._timeout)

    def close(self):
        self._owner._run(self.sub.close(), self._owner._timeout)


class BlockingClient:
    """The asyncio :class:`wirebus.Client`'s API, blocking; see the module doc."""

    def __init__(self, addresses=None, *, name: str = "wirebus-python", **options):
        self._timeout = options.get("request_timeout", 10.0) + _MARGIN
        self._loop = _Loop("wirebus-loop-" + name)
        try:
            self.client = self._loop.run(_async_connect(addresses, name=name, **options),
                                         options.get("connect_timeout", 5.0) * max(1, len(addresses or [1])) + _MARGIN)
        except BaseException:
            self._loop.stop()
            raise

    def _run(self, coro, timeout=None):
        return self._loop.run(coro, timeout if timeout is not None else self._timeout)

    @property
    def version(self):
        return self.client.version

    def publish(self, stream, payload, **kw):
        return self._run(self.client.publish(stream, payload, **kw))

    def publish_batch(self, stream, payloads, **kw):
        return self._run(self.client.publish_batch(stream, payloads, **kw))

    def fetch(self, stream, from_sequence, max_messages=1000):
        return self._run(self.client.fetch(stream, from_sequence, max_messages))

    def consumers(self, stream):
        return self._run(self.client.consumers(stream))

    def subscribe(self, stream, start="earliest", **kw) -> BlockingSubscription:
        return BlockingSubscription(self, self._run(self.client.subscribe(stream, start, **kw)))

    def consume(self, stream, consumer, start="earliest", **kw) -> BlockingSubscription:
        return BlockingSubscription(self, self._run(self.client.consume(stream, consumer, start, **kw)))

    def request(self, subject, payload=b"", timeout=5.0) -> bytes:
        return self._run(self.client.request(subject, payload, timeout), timeout * 2 + _MARGIN)

    def respond(self, subject, handler):
        """``handler(request) -> bytes`` runs in a worker thread."""
        async def in_thread(req):
            return await asyncio.to_thread(handler, req)
        r = self._run(self.client.respond(subject, in_thread))
        return _BlockingResponder(self, r)

    def ping(self) -> float:
        return self._run(self.client.ping())

    @property
    def principal(self):
        return self.client.principal

    def auth(self, token):
        """A fresh token on the current connection (see :meth:`Client.auth`)."""
        return self._run(self.client.auth(token))

    def streams(self, after="", max_streams=1000):
        return self._run(self.client.streams(after, max_streams))

    def delete_stream(self, stream):
        return self._run(self.client.delete_stream(stream))

    def trim_stream(self, stream, before_sequence):
        return self._run(self.client.trim_stream(stream, before_sequence))

    def delete_consumer(self, stream, consumer):
        return self._run(self.client.delete_consumer(stream, consumer))

    def batching_publisher(self, **kw) -> "BlockingBatchingPublisher":
        """A :class:`BatchingPublisher` to the same addresses, on this client's loop."""
        addrs = self.client._conn.addresses
        conn = self.client._conn
        kw.setdefault("token", conn.credential)  # the same credential and TLS settings
        kw.setdefault("ssl_context", conn.ssl_context)
        kw.setdefault("tls_server_name", conn.tls_server_name)
        pub = self._run(BatchingPublisher.create(addrs, **kw), 60.0)
        return BlockingBatchingPublisher(self, pub)

    def close(self):
        try:
            self._run(self.client.close())
        finally:
            self._loop.stop()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def connect(addresses=None, *, name: str = "wirebus-python", **options) -> BlockingClient:
    """:class:`BlockingClient` (connected, or ConnectionLostError saying why not)."""
    return BlockingClient(addresses, name=name, **options)


class _BlockingResponder:
    def __init__(self, owner, r):
        self._owner = owner
        self.responder = r
        self.subject = r.subject

    def close(self):
        self._owner._run(self.responder.close())


class BlockingBatchingPublisher:
    """Thread-safe blocking view of a :class:`BatchingPublisher`."""

    def __init__(self, owner: BlockingClient, pub: BatchingPublisher):
        self._owner = owner
        self.pub = pub

    def publish(self, stream, payload) -> concurrent.futures.Future:
        """Queues a message; returns a concurrent future of its sequence."""
        async def go():
            return asyncio.ensure_future(await self.pub.publish(stream, payload))
        out = concurrent.futures.Future()
        inner = self._owner._run(go(), self.pub.block_timeout + _MARGIN)

        def done(f):
            if f.cancelled():
                out.cancel()
            elif f.exception() is not None:
                out.set_exception(f.exception())
            else:
                out.set_result(f.result())
        self._owner._loop.loop.call_soon_threadsafe(inner.add_done_callback, done)
        return out

    def send(self, stream, payload) -> bool:
        return self._owner._run(self.pub.send(stream, payload), self.pub.block_timeout + _MARGIN)

    def flush(self, timeout: float) -> bool:
        return self._owner._run(self.pub.flush(timeout), timeout + _MARGIN)

    def close(self):
        self._owner._run(self.pub.close(), self.pub.request_timeout * 2 + _MARGIN)
