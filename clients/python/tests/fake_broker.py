"""A small scripted broker for the authentication tests, used while the real broker's access
control (issue 13, broker side) is not in this checkout: it speaks the real wire format (HELLO /
WELCOME v2, AUTH / AUTH_OK, ERROR with the v2 fields section, PUBLISH / PUBLISH_ACK, PING) over a
real socket (optionally TLS) and records every frame each connection sent, so a test can check
what the client put on the wire and in which order."""
import asyncio
import time

import support  # noqa: F401  (puts clients/python/src on sys.path)

from wirebus import codec


class FakeBroker:
    """``tokens``: token (bytes) -> (principal, expiresAtMillis, set of streams it may publish to[,
    seconds to live: the expiry is that long after AUTH]).
    ``auth_supported`` False answers AUTH like a broker that predates it (UNKNOWN_FRAME_TYPE, close)."""

    def __init__(self, tokens, *, ssl_context=None, auth_supported=True, store_id=77):
        self.tokens = tokens
        self.ssl_context = ssl_context
        self.auth_supported = auth_supported
        self.store_id = store_id
        self.connections = []  # one list of received frames per connection, in order
        self.writers = []
        self.sequences = {}
        self.accepted = asyncio.Event()

    async def start(self):
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0, ssl=self.ssl_context)
        self.port = self.server.sockets[0].getsockname()[1]
        scheme = "tls" if self.ssl_context else "tcp"
        self.address = "%s://127.0.0.1:%d" % (scheme, self.port)
        return self

    async def close(self):
        self.server.close()
        for w in self.writers:
            w.transport.abort()
        await self.server.wait_closed()

    def expire_all(self):
        """Sends ERROR AUTH_EXPIRED (request id 0) on every connection and closes them."""
        for w in list(self.writers):
            w.write(codec.encode(codec.Frame(codec.ERROR, 0, {"code": 41, "message": "credential expired",
                                                              "errorFields": {}}), 2))
            w.close()
        self.writers.clear()

    async def _handle(self, r, w):
        frames = []
        self.connections.append(frames)
        self.writers.append(w)
        reader = codec.FrameReader(1 << 20, 2)
        principal = None
        version = 1
        try:
            while True:
                data = await r.read(65536)
                if not data:
                    break
                for f in reader.feed(data):
                    frames.append(f)
                    if f.type == codec.HELLO:
                        version = 2
                        w.write(codec.encode(codec.Frame(codec.WELCOME, f.request_id, {
                            "version": 2, "maxFrameLength": 1 << 20, "storeId": self.store_id,
                            "serverName": "fake"}), 1))
                    elif f.type == codec.AUTH:
                        if not self.auth_supported:
                            self._error(w, f.request_id, 3, "AUTH is not supported by this broker yet", version)
                            w.close()
                            return
                        known = self.tokens.get(f["credential"])
                        if known is None or f["mechanism"] != "bearer":
                            self._error(w, f.request_id, 40, "credential unknown", version)
                            w.close()
                            return
                        principal = known
                        expires = known[1]
                        if len(known) > 3:  # a time to live in seconds
                            expires = int((time.time() + known[3]) * 1000)
                        w.write(codec.encode(codec.Frame(codec.AUTH_OK, f.request_id, {
                            "principal": known[0], "expiresAtMillis": expires}), version))
                    elif f.type == codec.PUBLISH:
                        stream = f["stream"]
                        if principal is None or stream not in principal[2]:
                            self._error(w, f.request_id, 33, "publish on '%s' is not permitted for '%s'" % (
                                stream, principal[0] if principal else "anonymous"), version)
                            continue
                        seq = self.sequences.get(stream, 0) + 1
                        self.sequences[stream] = seq
                        w.write(codec.encode(codec.Frame(codec.PUBLISH_ACK, f.request_id, {
                            "firstSequence": seq, "count": 1}), version))
                    elif f.type == codec.PING:
                        w.write(codec.encode(codec.Frame(codec.PONG, f.request_id), version))
                await w.drain()
        except (ConnectionError, OSError, codec.ProtocolError):
            pass
        finally:
            if w in self.writers:
                self.writers.remove(w)
            w.close()

    @staticmethod
    def _error(w, rid, code, message, version):
        w.write(codec.encode(codec.Frame(codec.ERROR, rid, {"code": code, "message": message, "errorFields": {}}),
                             version))
