"""Conformance driver (SPEC.md): JSON commands on stdin, one per line; exactly one JSON reply per
command on stdout, in order; logs on stderr; exit 0 at EOF.

    PYTHONPATH=clients/python/src python3 -m wirebus.conformance
"""
from __future__ import annotations

import asyncio
import json
import logging
import sys
import threading

from . import errors
from .client import connect

log = logging.getLogger("wirebus.conformance")


def _err(code, name, message, fields=None):
    return {"ok": False, "error": {"code": code, "name": name, "message": message, "fields": fields or {}}}


def _error_reply(e: BaseException):
    if isinstance(e, errors.WirebusError):
        return {"ok": False, "error": e.to_json()}
    if isinstance(e, asyncio.TimeoutError):
        return _err(-1, "CLIENT_TIMEOUT", str(e) or "deadline passed")
    return _err(-1, "CLIENT", "%s: %s" % (type(e).__name__, e))


def _msgs(ms):
    return [{"sequence": m.sequence, "payload": m.payload.hex()} for m in ms]


def _start(v):
    if v is None:
        return "earliest"
    if isinstance(v, str):
        return v.lower()
    return v  # {"sequence": n}


class _Sub:
    def __init__(self, sub):
        self.sub = sub
        self.buf = []
        self.error = None
        self.changed = asyncio.Event()
        self.task = asyncio.get_running_loop().create_task(self._pump())

    async def _pump(self):
        try:
            while True:
                m = await self.sub.next()
                if m is None:
                    break
                self.buf.append(m)
                self.changed.set()
        except errors.WirebusError as e:
            self.error = e
        except Exception as e:  # noqa: BLE001 - reported to the taker
            self.error = errors.ClientError("%s: %s" % (type(e).__name__, e))
        self.changed.set()


class Driver:
    def __init__(self):
        self.client = None
        self.subs: dict[str, _Sub] = {}

    def _need_client(self):
        if self.client is None:
            raise errors.ConnectionLostError("not connected: send connect first")
        return self.client

    async def handle(self, cmd: dict) -> dict:
        name = cmd.get("cmd")
        fn = getattr(self, "cmd_" + str(name), None)
        if fn is None:
            return _err(-1, "CLIENT", "unknown command %s" % name)
        try:
            return await fn(cmd)
        except Exception as e:  # every failure is one reply
            return _error_reply(e)

    async def cmd_connect(self, c):
        if self.client is not None:
            await self.client.close()
        self.client = None
        self.client = await connect(c["addresses"], name=c.get("name", "wirebus-python-conformance"),
                                    on_error=lambda e: log.info("client: %s", e), token=c.get("token"))
        out = {"ok": True, "version": self.client.version}
        if self.client.principal is not None:
            out["principal"] = self.client.principal
        return out

    async def cmd_auth(self, c):
        info = await self._need_client().auth(c["token"])
        return {"ok": True, "principal": info.principal, "expiresAtMillis": info.expires_at_millis}

    async def cmd_publish(self, c):
        ack = await self._need_client().publish(c["stream"], bytes.fromhex(c.get("payload", "")),
                                                expected_sequence=c.get("expectedSequence", 0) or 0)
        return {"ok": True, "sequence": ack.sequence}

    async def cmd_publishBatch(self, c):
        ack = await self._need_client().publish_batch(
            c["stream"], [bytes.fromhex(p) for p in c["payloads"]], expected_sequence=c.get("expectedSequence", 0) or 0,
            producer=c.get("producer"), producer_sequence=c.get("producerSequence"))
        return {"ok": True, "firstSequence": ack.sequence, "count": ack.count, "duplicate": ack.duplicate}

    async def _open(self, c, **kw):
        key = c["sub"]
        old = self.subs.pop(key, None)
        if old is not None:
            old.task.cancel()
            await old.sub.close()
        kwargs = {}
        if c.get("credits"):
            kwargs["credits"] = max(2, int(c["credits"]))
        sub = await self._need_client().subscribe(c["stream"], _start(c.get("start")), **kwargs, **kw)
        self.subs[key] = _Sub(sub)
        return {"ok": True, "startSequence": sub.started.result()}

    async def cmd_subscribe(self, c):
        return await self._open(c)

    async def cmd_consume(self, c):
        return await self._open(c, consumer=c["consumer"], ack_mode=c.get("ackMode", "explicit"),
                                max_lag=c.get("maxLag", 0) or 0)

    async def cmd_take(self, c):
        s = self.subs.get(c["sub"])
        if s is None:
            return _err(-1, "CLIENT", "no subscription named %r" % c.get("sub"))
        n = int(c.get("count", 1))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + c.get("timeoutMs", 10000) / 1000.0
        while len(s.buf) < n and s.error is None:
            left = deadline - loop.time()
            if left <= 0:
                break
            s.changed.clear()
            try:
                await asyncio.wait_for(s.changed.wait(), left)
            except asyncio.TimeoutError:
                break
        got, s.buf = s.buf[:n], s.buf[n:]
        if len(got) == n:
            return {"ok": True, "messages": _msgs(got)}
        if s.error is not None:
            r = _error_reply(s.error)
        else:
            r = _err(-1, "CLIENT_TIMEOUT", "%d of %d messages within %d ms" % (len(got), n, c.get("timeoutMs", 10000)))
        r["messages"] = _msgs(got)
        return r

    async def cmd_ack(self, c):
        s = self.subs.get(c["sub"])
        if s is None:
            return _err(-1, "CLIENT", "no subscription named %r" % c.get("sub"))
        await s.sub.ack(int(c["sequence"]))
        return {"ok": True}

    async def cmd_unsubscribe(self, c):
        s = self.subs.pop(c["sub"], None)
        if s is None:
            return _err(-1, "CLIENT", "no subscription named %r" % c.get("sub"))
        s.task.cancel()
        await s.sub.close()
        return {"ok": True}

    async def cmd_fetch(self, c):
        r = await self._need_client().fetch(c["stream"], int(c["from"]), int(c.get("max", 1000)))
        return {"ok": True, "lastSequence": r.last_sequence, "messages": _msgs(r.messages)}

    async def cmd_respond(self, c):
        if c.get("echo"):
            handler = lambda req: req.payload  # noqa: E731
        else:
            reply = bytes.fromhex(c.get("reply", ""))
            handler = lambda req: reply  # noqa: E731
        await self._need_client().respond(c["subject"], handler)
        return {"ok": True}

    async def cmd_request(self, c):
        p = await self._need_client().request(c["subject"], bytes.fromhex(c.get("payload", "")),
                                              c.get("timeoutMs", 5000) / 1000.0)
        return {"ok": True, "payload": p.hex()}

    async def cmd_consumers(self, c):
        r = await self._need_client().consumers(c["stream"])
        return {"ok": True, "lastSequence": r.last_sequence, "consumers": [
            {"name": x.name, "ackedSequence": x.acked_sequence, "maxLag": x.max_lag, "connected": x.connected}
            for x in r.consumers]}

    async def cmd_close(self, c):
        for s in self.subs.values():
            s.task.cancel()
        self.subs.clear()
        if self.client is not None:
            await self.client.close()
            self.client = None
        return {"ok": True}


async def _main():
    loop = asyncio.get_running_loop()
    lines: asyncio.Queue = asyncio.Queue()

    def reader():
        for line in sys.stdin:
            loop.call_soon_threadsafe(lines.put_nowait, line)
        loop.call_soon_threadsafe(lines.put_nowait, None)
    threading.Thread(target=reader, daemon=True).start()
    d = Driver()
    out = sys.stdout
    while True:
        line = await lines.get()
        if line is None:
            break
        line = line.strip()
        if not line:
            continue
        try:
            cmd = json.loads(line)
            if not isinstance(cmd, dict):
                raise ValueError("a command is a JSON object")
        except ValueError as e:
            reply = _err(-1, "CLIENT", "bad command line: %s" % e)
        else:
            reply = await d.handle(cmd)
        out.write(json.dumps(reply) + "\n")
        out.flush()
    await d.cmd_close({})


def main():
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    asyncio.run(_main())
    return 0


if __name__ == "__main__":
    sys.exit(main())
