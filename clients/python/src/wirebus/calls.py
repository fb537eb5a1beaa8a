"""The call table: request ids from a counter, a bounded in-flight window, a deadline per call,
answers matched by id. On a lost connection, calls already written fail with
ConnectionLostError (their outcome is unknown) except resendable ones (idempotent publishes),
which are kept and written again, in their original order, after the reconnect.
"""
from __future__ import annotations

import asyncio
import collections

from . import codec
from . import errors


class Call:
    __slots__ = ("id", "data", "future", "convert", "what", "counts", "resendable", "written", "timer", "done")

    def __init__(self, rid, data, future, convert, what, counts, resendable):
        self.id = rid
        self.data = data
        self.future = future
        self.convert = convert
        self.what = what
        self.counts = counts
        self.resendable = resendable
        self.written = False
        self.timer = None
        self.done = False


class CallTable:
    def __init__(self, max_in_flight: int):
        if max_in_flight < 1:
            raise ValueError("max_in_flight must be at least 1")
        self.max_in_flight = max_in_flight
        self._window = asyncio.Semaphore(max_in_flight)
        self._calls: dict[int, Call] = {}
        self.pending: collections.deque[Call] = collections.deque()  # made while not writable

    def __len__(self):
        return len(self._calls)

    async def acquire(self, deadline: float, what: str):
        """Takes an in-flight slot, waiting until ``deadline`` (loop time) at most."""
        w = self._window
        if not w.locked():
            await w.acquire()
            return
        loop = asyncio.get_running_loop()
        try:
            await asyncio.wait_for(w.acquire(), max(0.0, deadline - loop.time()))
        except asyncio.TimeoutError:
            raise errors.QueueFullError("%d calls already await answers; %s was not sent by its deadline" % (
                self.max_in_flight, what)) from None

    def add(self, call: Call, deadline: float):
        self._calls[call.id] = call
        call.timer = asyncio.get_running_loop().call_at(deadline, self._expire, call)

    def _finish(self, call: Call) -> bool:
        if call.done:
            return False
        call.done = True
        self._calls.pop(call.id, None)
        if call.timer is not None:
            call.timer.cancel()
        if call.counts:
            self._window.release()
        return True

    def _expire(self, call: Call):
        if self._finish(call) and not call.future.done():
            call.future.set_exception(errors.ClientTimeoutError("no answer to %s by its deadline%s" % (
                call.what, "" if call.written else " (not sent: not connected)")))

    def answer(self, f: codec.Frame) -> bool:
        call = self._calls.get(f.request_id)
        if call is None:
            return False
        self._finish(call)
        fut = call.future
        if fut.done():
            return True  # the caller gave up (cancelled)
        if f.type == codec.ERROR:
            fut.set_exception(errors.from_frame(f))
        else:
            try:
                fut.set_result(call.convert(f) if call.convert else f)
            except Exception as e:  # a bad answer type: the caller sees it
                fut.set_exception(errors.ProtocolViolationError(1, "bad answer to %s: %r (%s)" % (call.what, f, e)))
        return True

    def fail(self, call: Call, err: Exception):
        if self._finish(call) and not call.future.done():
            call.future.set_exception(err)

    def on_disconnect(self, closing: bool, address) -> list:
        """Fails written calls (unknown outcome) and returns the resendable ones, in id order."""
        resend = []
        for call in list(self._calls.values()):
            if not call.written:
                continue
            if call.resendable and not closing:
                call.written = False
                resend.append(call)
            else:
                self.fail(call, errors.ConnectionLostError(
                    "connection to %s lost before %s was answered; its outcome is unknown" % (address, call.what)))
        resend.sort(key=lambda c: c.id)
        return resend

    def fail_all(self, err: Exception):
        for call in list(self._calls.values()):
            self.fail(call, err)
        self.pending.clear()
