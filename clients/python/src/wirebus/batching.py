"""The batching publisher, for high message rates: callers put messages in bounded queues, one
per worker; N workers, each with its own persistent connection (a :class:`Client`), take them
off in runs and send each run of one stream as one PUBLISH_BATCH, keeping a few batches in flight
per connection. A stream always goes to the same worker, so messages queued in order reach the
stream in that order.

When a queue is full, a caller either waits up to ``block_timeout`` (``when_full="block"``) or is
refused at once (``"reject"``). :meth:`publish` gives a future per message (its sequence);
:meth:`send` / :meth:`try_send` are fire-and-forget. A batch whose connection fails is not
resent (its outcome is unknown): its futures fail with ConnectionLostError, fire-and-forget
failures go to ``on_error`` and :attr:`failed_count`. Nothing is dropped silently.

    pub = await BatchingPublisher.create(["unix:///run/wirebus.sock"], workers=4)
    fut = await pub.publish("tx", payload)     # fut resolves to the sequence
    await pub.send("metrics", sample)          # fire-and-forget
    await pub.flush(5.0)
    await pub.close()
"""
from __future__ import annotations

import asyncio
import collections
import functools
import logging
import zlib

from . import errors
from .client import Client

log = logging.getLogger("wirebus")

_RECORD_OVERHEAD = 4


class _Worker:
    def __init__(self, pub: "BatchingPublisher", index: int, client: Client, capacity: int):
        self.pub = pub
        self.index = index
        self.client = client
        self.capacity = capacity
        self.queue: collections.deque = collections.deque()
        self.space_waiters: collections.deque = collections.deque()
        self.wakeup: asyncio.Future | None = None
        self.in_flight = asyncio.Semaphore(pub.max_in_flight_batches)
        self.running = True
        self.task = asyncio.get_running_loop().create_task(self.run())

    def wake(self):
        w = self.wakeup
        if w is not None and not w.done():
            w.set_result(None)

    def _release_space(self):
        ws = self.space_waiters
        room = self.capacity - len(self.queue)
        while ws and room > 0:
            f = ws.popleft()
            if not f.done():
                f.set_result(None)
                room -= 1

    async def run(self):
        pub = self.pub
        q = self.queue
        loop = asyncio.get_running_loop()
        try:
            while self.running or q:
                if not q:
                    self.wakeup = loop.create_future()
                    await self.wakeup
                    self.wakeup = None
                    continue
                take = min(len(q), pub.max_batch_messages)
                drained = [q.popleft() for _ in range(take)]
                if self.space_waiters:
                    self._release_space()
                groups = {}
                for e in drained:  # order within each stream is kept; streams are independent
                    g = groups.get(e[0])
                    if g is None:
                        groups[e[0]] = [e]
                    else:
                        g.append(e)
                maxb = pub.max_batch_bytes
                runs = []
                for stream, entries in groups.items():
                    start = 0
                    size = 0
                    for k, e in enumerate(entries):
                        if size and size + len(e[1]) > maxb:
                            runs.append((stream, entries[start:k]))
                            start = k
                            size = 0
                        size += len(e[1]) + _RECORD_OVERHEAD
                    runs.append((stream, entries[start:] if start else entries))
                for k, (stream, run) in enumerate(runs):
                    try:
                        await self._send(stream, run, loop)
                    except asyncio.CancelledError:
                        # stopped while holding messages: they fail, visibly, rather than vanish
                        for _, rest in runs[k:]:
                            pub._fail(rest, errors.ClientClosedError("publisher closed before the message was sent"))
                        raise
        except asyncio.CancelledError:
            pass

    async def _send(self, stream, run, loop):
        pub = self.pub
        sem = self.in_flight
        if sem.locked():
            try:
                await asyncio.wait_for(sem.acquire(), pub.request_timeout)
            except asyncio.TimeoutError:
                pub._fail(run, errors.ClientTimeoutError("no acknowledgement from the broker for %d batches within "
                                                         "%.1f s" % (pub.max_in_flight_batches, pub.request_timeout)))
                return
        else:
            await sem.acquire()
        try:
            fut = self.client._publish_records(pub._stream_bytes(stream), [e[1] for e in run],
                                               "PUBLISH_BATCH of %d on stream %r" % (len(run), stream),
                                               pub.request_timeout)
        except errors.WirebusError as err:
            sem.release()
            pub._fail(run, err)
            return
        fut.add_done_callback(functools.partial(pub._settle, run, sem))


class BatchingPublisher:
    """See the module doc. Create with :meth:`create` (connects the workers)."""

    def __init__(self, addresses, *, name="batching-publisher", workers=1, queue_capacity=65536,
                 max_batch_messages=1000, max_batch_bytes=256 * 1024, max_in_flight_batches=8,
                 when_full="block", block_timeout=10.0, request_timeout=10.0, on_error=None, **client_options):
        if workers < 1 or queue_capacity < 1 or max_batch_messages < 1 or max_batch_bytes < 1 \
                or max_in_flight_batches < 1:
            raise ValueError("workers, queue_capacity, max_batch_* and max_in_flight_batches must be >= 1")
        if when_full not in ("block", "reject"):
            raise ValueError("when_full must be 'block' or 'reject', was %r" % (when_full,))
        self.addresses = addresses
        self.name = name
        self.workers_count = workers
        self.queue_capacity = queue_capacity
        self.max_batch_messages = max_batch_messages
        self.max_batch_bytes = max_batch_bytes
        self.max_in_flight_batches = max_in_flight_batches
        self.when_full = when_full
        self.block_timeout = block_timeout
        self.request_timeout = request_timeout
        self.on_error = on_error
        self._client_options = client_options
        self._workers: list[_Worker] = []
        self._streams: dict = {}
        self.acked_count = 0
        self.failed_count = 0
        self.rejected_count = 0
        self.queued_count = 0
        self._flush_waiters: list = []
        self.closed = False

    @classmethod
    async def create(cls, addresses, **kw) -> "BatchingPublisher":
        pub = cls(addresses, **kw)
        await pub._start()
        return pub

    async def _start(self):
        per = max(1, self.queue_capacity // self.workers_count)
        clients = []
        try:
            for i in range(self.workers_count):
                clients.append(await Client.connect_new(self.addresses, name="%s-%d" % (self.name, i),
                                                        request_timeout=self.request_timeout,
                                                        max_in_flight=self.max_in_flight_batches * 2 + 16,
                                                        **self._client_options))
        except BaseException:
            for c in clients:
                await c.close()
            raise
        self._workers = [_Worker(self, i, c, per) for i, c in enumerate(clients)]

    # ------------------------------------------------------------------ routing
    def _route(self, stream):
        r = self._streams.get(stream)
        if r is None:
            if not isinstance(stream, str) or not stream:
                raise ValueError("stream must be a non-empty string")
            b = stream.encode("utf-8")
            if len(b) > 0xFFFF:
                raise ValueError("stream name too long")
            if len(self._streams) > 100000:
                self._streams.clear()
            r = self._streams[stream] = (self._workers[zlib.crc32(b) % len(self._workers)], b)
        return r[0]

    def _stream_bytes(self, stream):
        return self._streams[stream][1] if stream in self._streams else stream.encode("utf-8")

    # ------------------------------------------------------------------ enqueueing
    def try_send(self, stream: str, payload: bytes) -> bool:
        """Queues a fire-and-forget message if there is room now; False otherwise."""
        if self.closed:
            self.rejected_count += 1
            return False
        w = self._route(stream)
        if len(w.queue) >= w.capacity:
            self.rejected_count += 1
            return False
        w.queue.append((stream, payload, None))
        self.queued_count += 1
        if w.wakeup is not None:
            w.wake()
        return True

    async def _enqueue(self, entry) -> bool:
        if self.closed:
            self.rejected_count += 1
            return False
        w = self._route(entry[0])
        if len(w.queue) >= w.capacity:
            if self.when_full == "reject":
                self.rejected_count += 1
                return False
            loop = asyncio.get_running_loop()
            deadline = loop.time() + self.block_timeout
            while len(w.queue) >= w.capacity and not self.closed:
                f = loop.create_future()
                w.space_waiters.append(f)
                left = deadline - loop.time()
                try:
                    if left <= 0:
                        raise asyncio.TimeoutError
                    await asyncio.wait_for(f, left)
                except asyncio.TimeoutError:
                    self.rejected_count += 1
                    return False
            if self.closed:
                self.rejected_count += 1
                return False
        w.queue.append(entry)
        self.queued_count += 1
        if w.wakeup is not None:
            w.wake()
        return True

    async def send(self, stream: str, payload: bytes) -> bool:
        """Queues a fire-and-forget message (waiting for room up to ``block_timeout`` in block mode);
        False when it was not queued."""
        if not isinstance(payload, (bytes, bytearray, memoryview)):
            raise TypeError("payload must be bytes")
        return await self._enqueue((stream, payload, None))

    async def publish(self, stream: str, payload: bytes) -> asyncio.Future:
        """Queues a message; returns a future of its sequence (fails with the broker's error,
        ConnectionLostError, ClientTimeoutError). Raises QueueFullError when it was not queued."""
        if not isinstance(payload, (bytes, bytearray, memoryview)):
            raise TypeError("payload must be bytes")
        fut = asyncio.get_running_loop().create_future()
        if not await self._enqueue((stream, payload, fut)):
            raise errors.QueueFullError("publisher is closed" if self.closed else
                                        "publish queue of %d messages is full" % self.queue_capacity)
        return fut

    def publish_nowait(self, stream: str, payload: bytes) -> asyncio.Future:
        """:meth:`publish` that never waits: raises QueueFullError at once when there is no room."""
        if self.closed:
            self.rejected_count += 1
            raise errors.QueueFullError("publisher is closed")
        w = self._route(stream)
        if len(w.queue) >= w.capacity:
            self.rejected_count += 1
            raise errors.QueueFullError("publish queue of %d messages is full" % self.queue_capacity)
        fut = w.client._conn_loop().create_future()
        w.queue.append((stream, payload, fut))
        self.queued_count += 1
        if w.wakeup is not None:
            w.wake()
        return fut

    # ------------------------------------------------------------------ results
    def _settle(self, run, sem, fut):
        sem.release()
        if fut.cancelled():
            self._fail(run, errors.ClientClosedError("publisher closed"))
            return
        err = fut.exception()
        if err is not None:
            self._fail(run, err)
            return
        first = fut.result().sequence
        k = first
        for e in run:
            f = e[2]
            if f is not None and not f.done():
                f.set_result(k)
            k += 1
        self.acked_count += len(run)
        if self._flush_waiters:
            self._check_flush()

    def _fail(self, run, err):
        ff = 0
        for e in run:
            f = e[2]
            if f is None:
                ff += 1
            elif not f.done():
                f.set_exception(err)
        self.failed_count += len(run)
        if ff and self.on_error is not None:
            try:
                self.on_error(errors.WirebusError("%d fire-and-forget messages to stream %r failed: %s" % (
                    ff, run[0][0], err), code=getattr(err, "code", -1)))
            except Exception:  # a failing listener must not stop the worker
                log.exception("on_error listener failed")
        if self._flush_waiters:
            self._check_flush()

    def _check_flush(self):
        settled = self.acked_count + self.failed_count
        keep = []
        for target, f in self._flush_waiters:
            if settled >= target:
                if not f.done():
                    f.set_result(True)
            else:
                keep.append((target, f))
        self._flush_waiters = keep

    async def flush(self, timeout: float) -> bool:
        """Waits until every message queued so far was acknowledged or failed; False at the deadline."""
        target = self.queued_count
        if self.acked_count + self.failed_count >= target:
            return True
        f = asyncio.get_running_loop().create_future()
        self._flush_waiters.append((target, f))
        try:
            await asyncio.wait_for(f, timeout)
            return True
        except asyncio.TimeoutError:
            return False

    async def close(self):
        """Stops taking messages, sends what is queued (up to the request timeout), closes the connections."""
        if self.closed:
            return
        self.closed = True
        for w in self._workers:
            for f in w.space_waiters:
                if not f.done():
                    f.set_result(None)
        await self.flush(self.request_timeout)
        for w in self._workers:
            w.running = False
            w.wake()
        for w in self._workers:
            await w.client.close()
        for w in self._workers:
            w.task.cancel()
            try:
                await w.task
            except asyncio.CancelledError:
                pass
            rest = list(w.queue)
            w.queue.clear()
            if rest:
                self._fail(rest, errors.ClientClosedError("publisher closed before the message was sent"))

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        await self.close()
