"""Responders: a handler per subject; RESPOND_ON is sent again after every reconnect. Each
forwarded REQUEST runs the handler (sync or async) in a task, at most ``max_concurrent`` at once
(beyond: ERROR BACKPRESSURE), and is answered with RESPONSE, or ERROR when the handler raises.
"""
from __future__ import annotations

import asyncio
import inspect
import logging

from . import codec
from . import errors

log = logging.getLogger("wirebus")


class Request:
    """A request for a responder: ``subject``, ``payload`` (bytes), ``timeout_ms`` left."""
    __slots__ = ("subject", "payload", "timeout_ms")

    def __init__(self, subject, payload, timeout_ms):
        self.subject = subject
        self.payload = payload
        self.timeout_ms = timeout_ms


class Responder:
    """A registration; :meth:`close` stops answering (RESPOND_OFF)."""

    def __init__(self, registry: "Responders", subject: str, handler):
        self._registry = registry
        self.subject = subject
        self.handler = handler

    async def close(self):
        await self._registry.remove(self)


class Responders:
    def __init__(self, client, max_concurrent: int = 1024):
        self._client = client
        self._by_subject: dict[str, Responder] = {}
        self._running = 0
        self._tasks: set = set()
        self.max_concurrent = max_concurrent

    def __iter__(self):
        return iter(list(self._by_subject.values()))

    def add(self, subject: str, handler) -> Responder:
        if subject in self._by_subject:
            raise errors.ClientError("this client already responds on subject %r" % subject)
        r = Responder(self, subject, handler)
        self._by_subject[subject] = r
        return r

    def discard(self, r: Responder):
        if self._by_subject.get(r.subject) is r:
            del self._by_subject[r.subject]

    async def remove(self, r: Responder):
        if self._by_subject.get(r.subject) is r:
            del self._by_subject[r.subject]
            if self._client._conn.writable:
                try:
                    await self._client._call(codec.RESPOND_OFF, {"subject": r.subject}, None,
                                             "RESPOND_OFF subject %r" % r.subject, counts=False)
                except errors.WirebusError as e:
                    log.debug("RESPOND_OFF %s: %s", r.subject, e)

    def on_request(self, f: codec.Frame):
        r = self._by_subject.get(f["subject"])
        if r is None:
            self._client._send_one_way(codec.Frame(codec.ERROR, f.request_id, {
                "code": 23, "message": "this client no longer responds on subject %r" % f["subject"], "errorFields": {}}))
            return
        if self._running >= self.max_concurrent:
            self._client._send_one_way(codec.Frame(codec.ERROR, f.request_id, {
                "code": 32, "message": "responder has %d requests running" % self.max_concurrent, "errorFields": {}}))
            return
        self._running += 1
        t = asyncio.get_running_loop().create_task(self._run(r, f))
        self._tasks.add(t)
        t.add_done_callback(self._tasks.discard)

    async def _run(self, r: Responder, f: codec.Frame):
        try:
            result = r.handler(Request(f["subject"], f["payload"], f["timeoutMillis"]))
            if inspect.isawaitable(result):
                result = await result
            if result is None:
                result = b""
            elif isinstance(result, str):
                result = result.encode("utf-8")
            elif not isinstance(result, (bytes, bytearray, memoryview)):
                raise TypeError("a handler returns bytes, str or None, not %s" % type(result).__name__)
            answer = codec.Frame(codec.RESPONSE, f.request_id, {"payload": bytes(result)})
        except Exception as e:  # the requester gets RESPONDER_FAILED with this text
            code = e.code if isinstance(e, errors.ServerError) and e.code > 0 else 23
            answer = codec.Frame(codec.ERROR, f.request_id, {"code": code, "message": "%s: %s" % (
                type(e).__name__, e), "errorFields": {}})
        finally:
            self._running -= 1
        self._client._send_one_way(answer)

    def cancel_all(self):
        for t in list(self._tasks):
            t.cancel()
