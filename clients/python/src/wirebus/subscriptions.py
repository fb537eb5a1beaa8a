"""Subscriptions: a cursor per subscription (the sequence after the last one received), a credit
window W granted at SUBSCRIBE and CREDIT W/2 each time W/2 messages were taken by the
application, re-SUBSCRIBE (or CONSUME with resume=1) at last delivered + 1 after a reconnect, so
there is no gap and no duplicate. Durable consumers add explicit ACKs and maxLag gating.
"""
from __future__ import annotations

import asyncio
import collections

from . import codec
from . import errors


class Message:
    """One message: ``stream``, ``sequence``, ``payload`` (bytes)."""
    __slots__ = ("stream", "sequence", "payload")

    def __init__(self, stream, sequence, payload):
        self.stream = stream
        self.sequence = sequence
        self.payload = payload

    def __repr__(self):
        return "Message(%r, %d, %r)" % (self.stream, self.sequence, self.payload[:32])

    def __eq__(self, other):
        return (isinstance(other, Message) and self.stream == other.stream and self.sequence == other.sequence
                and self.payload == other.payload)


def parse_start(start):
    """``"earliest"``, ``"latest"``, an int sequence (>= 1) or ``{"sequence": n}`` -> (kind, sequence)."""
    if start is None or start == "earliest":
        return codec.EARLIEST, 0
    if start == "latest":
        return codec.LATEST, 0
    if isinstance(start, dict):
        start = start.get("sequence")
    if isinstance(start, int) and not isinstance(start, bool) and start >= 1:
        return codec.SEQUENCE, start
    raise ValueError("start must be 'earliest', 'latest' or a sequence >= 1, was %r" % (start,))


ACK_AUTO = 0
ACK_EXPLICIT = 1


class Subscription:
    """An open subscription; iterate it (``async for m in sub``) to take messages in order.

    The iterator ends (StopAsyncIteration) after :meth:`close`, and raises the typed error when
    the broker ended the subscription (SUBSCRIPTION_CLOSED, a refused re-subscription, a changed
    store) once the messages received before are taken.
    """

    def __init__(self, client, sid: int, stream: str, start, window: int, consumer: str | None = None,
                 ack_mode: int = ACK_EXPLICIT, max_lag: int = 0):
        if window < 2:
            raise ValueError("credits window must be at least 2, was %r" % window)
        if max_lag and consumer is None:
            raise ValueError("max_lag needs a durable consumer")
        if not 0 <= max_lag <= codec.MAX_U31:
            raise ValueError("max_lag must be in 0..2^31-1")
        self._client = client
        self.id = sid
        self.stream = stream
        self.start_kind, self.start_sequence = parse_start(start)
        self.window = window
        self.consumer = consumer
        self.ack_mode = ack_mode
        self.max_lag = max_lag
        self.next_sequence = 0  # sequence after the last received; 0 before the first SUBSCRIBED
        self.last_delivered = 0  # last sequence handed to the application
        self.open = True
        self.error: Exception | None = None
        self.started: asyncio.Future = asyncio.get_running_loop().create_future()
        self._chunks: collections.deque = collections.deque()  # (firstSequence, records)
        self._index = 0
        self._queued = 0
        self._handled = 0
        self._wakeup: asyncio.Future | None = None

    # ------------------------------------------------------------ frames (client side)
    def subscribe_frame(self, rid: int) -> codec.Frame:
        credits = max(1, self.window - self._queued)
        self._handled = 0
        resume = self.next_sequence > 0
        kind = codec.SEQUENCE if resume else self.start_kind
        seq = self.next_sequence if resume else self.start_sequence
        if self.consumer is not None:
            return codec.Frame(codec.CONSUME, rid, {
                "subscriptionId": self.id, "stream": self.stream, "consumer": self.consumer, "startKind": kind,
                "startSequence": seq, "credits": credits, "ackMode": self.ack_mode, "maxLag": self.max_lag,
                "resume": 1 if resume else 0})
        return codec.Frame(codec.SUBSCRIBE, rid, {"subscriptionId": self.id, "stream": self.stream,
                                                  "startKind": kind, "startSequence": seq, "credits": credits})

    def on_subscribed(self, f: codec.Frame) -> int:
        start = f["startSequence"]
        if self.next_sequence == 0:
            self.next_sequence = start
        elif start != self.next_sequence:
            err = errors.ProtocolViolationError(1, "re-subscription of %r from %d was confirmed from %d" % (
                self.stream, self.next_sequence, start))
            self.end(err)
            raise err
        if not self.started.done():
            self.started.set_result(start)
        return start

    def on_deliver(self, f: codec.Frame) -> bool:
        """Queues delivered records; False if they do not continue the cursor (a gap or a repeat)."""
        if not self.open:
            return True
        first = f["firstSequence"]
        if first != self.next_sequence:
            return False
        records = f["records"]
        if records:
            self._chunks.append((first, records))
            self.next_sequence = first + len(records)
            self._queued += len(records)
            self._wake()
        return True

    def end(self, err: Exception | None):
        """Ended by the broker or the client (err None: closed normally)."""
        if not self.open:
            return
        self.open = False
        self.error = err
        if not self.started.done():
            if err is None:
                self.started.set_exception(errors.ClientClosedError("subscription to %r closed" % self.stream))
            else:
                self.started.set_exception(err)
            self.started.exception()  # mark retrieved
        self._client._forget(self)
        self._wake()

    def _wake(self):
        w = self._wakeup
        if w is not None and not w.done():
            w.set_result(None)

    # ------------------------------------------------------------ application side
    def __aiter__(self):
        return self

    async def __anext__(self) -> Message:
        m = await self.next()
        if m is None:
            raise StopAsyncIteration
        return m

    def _take(self):
        first, records = self._chunks[0]
        i = self._index
        m = Message(self.stream, first + i, records[i])
        i += 1
        if i == len(records):
            self._chunks.popleft()
            self._index = 0
        else:
            self._index = i
        self._queued -= 1
        self.last_delivered = m.sequence
        self._handled += 1
        if self._handled >= self.window // 2 and self.open:
            self._client._grant(self, self._handled)
            self._handled = 0
        return m

    def take_nowait(self):
        """The next buffered message, or None."""
        if self._chunks:
            return self._take()
        if self.error is not None:
            raise self.error
        return None

    async def next(self, timeout: float | None = None):
        """The next message; None once closed; raises the error that ended the subscription, or
        ClientTimeoutError when ``timeout`` seconds pass first."""
        while True:
            if self._chunks:
                return self._take()
            if self.error is not None:
                raise self.error
            if not self.open:
                return None
            loop = asyncio.get_running_loop()
            self._wakeup = loop.create_future()
            try:
                if timeout is None:
                    await self._wakeup
                else:
                    await asyncio.wait_for(self._wakeup, timeout)
            except asyncio.TimeoutError:
                raise errors.ClientTimeoutError("no message on %r within %.3f s" % (self.stream, timeout)) from None
            finally:
                self._wakeup = None

    @property
    def buffered(self) -> int:
        return self._queued

    async def ack(self, sequence: int, confirm: bool = True):
        """Acknowledges every message up to ``sequence`` (durable consumers). With ``confirm`` it
        waits for the broker's OK (the position is stored)."""
        if self.consumer is None:
            raise errors.ClientError("subscription to %r is not a durable consumer's: nothing to ack" % self.stream)
        await self._client._ack(self, sequence, confirm)

    async def close(self):
        """Unsubscribes; buffered messages are dropped."""
        if not self.open:
            return
        self._chunks.clear()
        self._queued = 0
        self.end(None)
        await self._client._unsubscribe(self)

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        await self.close()
