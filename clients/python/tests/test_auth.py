"""Authentication and TLS (issue 13, client side) against the scripted broker of fake_broker.py,
over real sockets: AUTH goes first after WELCOME on every connection, AUTH_OK gives the principal,
AUTH_FAILED / AUTH_EXPIRED / PERMISSION_DENIED are typed errors, tls:// with a CA file.
(The real broker's access control lands separately; these tests check the client's side of the
wire contract of docs/protocol.md.)"""
import asyncio
import os
import ssl
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import support  # noqa: E402
from fake_broker import FakeBroker  # noqa: E402

import wirebus  # noqa: E402
from wirebus import codec  # noqa: E402

DEADLINE = 20.0
TOKENS = {b"s3cret-token": ("committer", 0, {"blocks"}),
          b"observer-token": ("observer", 1764806400000, set()),
          b"fresh-token": ("committer-2", 0, {"blocks"}),
          b"short-token": ("short", 0, {"blocks"}, 2.0)}


async def wait_until(what, check, timeout=DEADLINE):
    """Polls ``check()`` until true or the deadline (pacing of a poll, not a synchronisation)."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not check():
        if loop.time() > end:
            raise AssertionError("%s: not within %.0f s" % (what, timeout))
        await asyncio.sleep(0.005)


class AuthTest(unittest.IsolatedAsyncioTestCase):
    async def asyncSetUp(self):
        self.broker = await FakeBroker(TOKENS).start()
        self.clients = []

    async def asyncTearDown(self):
        for c in self.clients:
            await c.close()
        await self.broker.close()

    async def client(self, addresses=None, **kw):
        kw.setdefault("reconnect", wirebus.ReconnectPolicy(0.005, 0.05))
        c = await wirebus.connect(addresses or [self.broker.address], name="auth-test", **kw)
        self.clients.append(c)
        return c

    def first_types(self, conn_index, n):
        return [codec.TYPE_NAMES[f.type] for f in self.broker.connections[conn_index][:n]]

    async def test_auth_first_on_every_connection(self):
        c = await self.client(token="s3cret-token")
        self.assertEqual(c.principal, "committer")
        self.assertEqual(c.expires_at_millis, 0)
        self.assertEqual((await c.publish("blocks", b"b1")).sequence, 1)
        auth = self.broker.connections[0][1]
        self.assertEqual((auth["mechanism"], auth["credential"]), ("bearer", b"s3cret-token"))
        self.assertEqual(self.first_types(0, 3), ["HELLO", "AUTH", "PUBLISH"])
        # connection lost: the reconnect authenticates again before the publish made meanwhile
        for w in list(self.broker.writers):
            w.transport.abort()
        await wait_until("reconnected", lambda: len(self.broker.connections) >= 2 and c.connected)
        ack = await c.publish("blocks", b"b2", timeout=DEADLINE)
        self.assertEqual(ack.sequence, 2)
        self.assertEqual(self.first_types(len(self.broker.connections) - 1, 3), ["HELLO", "AUTH", "PUBLISH"])

    async def test_no_token_sends_no_auth(self):
        c = await self.client()
        self.assertIsNone(c.principal)
        with self.assertRaises(wirebus.PermissionDeniedError):
            await c.publish("blocks", b"x")
        self.assertEqual(self.first_types(0, 2), ["HELLO", "PUBLISH"])

    async def test_auth_failed_is_typed_and_final(self):
        with self.assertRaises(wirebus.AuthFailedError) as cm:
            await self.client(token="wrong")
        e = cm.exception
        self.assertEqual((e.code, e.name), (40, "AUTH_FAILED"))
        self.assertIsInstance(e, wirebus.AuthError)
        self.assertEqual(len(self.broker.connections), 1, "AUTH_FAILED is not retried")

    async def test_permission_denied_keeps_the_connection(self):
        c = await self.client(token="observer-token")
        self.assertEqual((c.principal, c.expires_at_millis), ("observer", 1764806400000))
        with self.assertRaises(wirebus.PermissionDeniedError) as cm:
            await c.publish("blocks", b"x")
        self.assertEqual((cm.exception.code, cm.exception.name), (33, "PERMISSION_DENIED"))
        self.assertIn("publish on 'blocks'", cm.exception.message)
        await c.ping()
        self.assertEqual(len(self.broker.connections), 1, "PERMISSION_DENIED does not close the connection")

    async def test_expired_then_provider_gives_a_fresh_token(self):
        issued = []

        def provider():
            token = "s3cret-token" if not issued else "fresh-token"
            issued.append(token)
            return token
        reported = []
        c = await self.client(token=provider, on_error=reported.append)
        self.assertEqual(c.principal, "committer")
        self.broker.expire_all()
        await wait_until("reconnected with a fresh token", lambda: c.principal == "committer-2" and c.connected)
        ack = await c.publish("blocks", b"after expiry", timeout=DEADLINE)
        self.assertEqual(ack.sequence, 1)
        self.assertEqual(c.principal, "committer-2")
        self.assertEqual(issued, ["s3cret-token", "fresh-token"])
        expired = [e for e in reported if isinstance(e, wirebus.AuthExpiredError)]
        self.assertTrue(expired, "AUTH_EXPIRED reported as a typed error: %r" % reported)
        self.assertEqual(expired[0].code, 41)

    async def test_expiring_token_refreshed_on_the_open_connection(self):
        calls = []
        c = await self.client(token=lambda: calls.append(1) or "short-token")
        first = c.expires_at_millis
        self.assertGreater(first, 0)
        await wait_until("two refreshes", lambda: self.first_types(0, 4) == ["HELLO", "AUTH", "AUTH", "AUTH"]
                         and c.expires_at_millis > first)
        self.assertEqual(len(calls), 3, "the provider was asked for each token")
        self.assertEqual(len(self.broker.connections), 1, "the refresh goes on the open connection")

    async def test_no_refresh_when_turned_off(self):
        calls = []
        c = await self.client(token=lambda: calls.append(1) or "short-token", token_refresh=False)
        self.assertGreater(c.expires_at_millis, 0)
        self.assertIsNone(c._refresh_timer, "no refresh is scheduled")
        on = await self.client(token=lambda: "short-token")
        self.assertIsNotNone(on._refresh_timer, "a refresh is scheduled by default")

    async def test_reauth_replaces_the_principal(self):
        c = await self.client(token="observer-token")
        info = await c.auth("fresh-token")
        self.assertEqual((info.principal, info.expires_at_millis), ("committer-2", 0))
        self.assertEqual(c.principal, "committer-2")
        self.assertEqual((await c.publish("blocks", b"x")).sequence, 1)
        with self.assertRaises(wirebus.AuthFailedError):
            await c.auth("nope")

    async def test_broker_without_auth(self):
        old = await FakeBroker(TOKENS, auth_supported=False).start()
        try:
            with self.assertRaises(wirebus.ProtocolViolationError) as cm:
                await self.client([old.address], token="s3cret-token")
            self.assertIn("does not support authentication", str(cm.exception))
        finally:
            await old.close()


class TlsTest(unittest.IsolatedAsyncioTestCase):
    async def asyncSetUp(self):
        self.dir = tempfile.TemporaryDirectory()
        files = support.make_tls_files(self.dir.name)
        if files is None:
            self.skipTest("no openssl command to make a test certificate")
        self.ca, cert, key = files
        # the fake server's side of a refused handshake is logged by asyncio; that is expected here
        asyncio.get_running_loop().set_exception_handler(lambda loop, context: None)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        self.broker = await FakeBroker(TOKENS, ssl_context=ctx).start()

    async def asyncTearDown(self):
        await self.broker.close()
        self.dir.cleanup()

    async def test_tls_with_ca_file_and_token(self):
        self.assertTrue(self.broker.address.startswith("tls://"))
        c = await wirebus.connect([self.broker.address], token="s3cret-token", tls_ca_file=self.ca)
        try:
            self.assertEqual(c.principal, "committer")
            self.assertEqual((await c.publish("blocks", b"over tls")).sequence, 1)
        finally:
            await c.close()

    async def test_untrusted_certificate_fails_cleanly(self):
        with self.assertRaises(wirebus.ConnectionLostError) as cm:
            await wirebus.connect([self.broker.address], token="s3cret-token",
                                  reconnect=wirebus.ReconnectPolicy.never())
        self.assertIn("TLS handshake", str(cm.exception))
        self.assertIn("CERTIFICATE_VERIFY_FAILED", str(cm.exception))

    async def test_wrong_server_name_fails(self):
        with self.assertRaises(wirebus.ConnectionLostError) as cm:
            await wirebus.connect([self.broker.address], tls_ca_file=self.ca, tls_server_name="broker.example")
        self.assertIn("TLS handshake", str(cm.exception))


class CodecAuthFramesTest(unittest.TestCase):
    def test_admin_and_auth_roundtrip(self):
        frames = [
            codec.Frame(codec.AUTH, 2, {"mechanism": "bearer", "credential": b"t"}),
            codec.Frame(codec.AUTH_OK, 2, {"principal": "p", "expiresAtMillis": 5}),
            codec.Frame(codec.STREAMS, 3, {"after": "a", "max": 10}),
            codec.Frame(codec.STREAM_LIST, 3, {"streams": [{"name": "a", "firstSequence": 1, "lastSequence": 2,
                                                            "bytes": 3, "consumers": 4}], "more": False}),
            codec.Frame(codec.DELETE_STREAM, 4, {"stream": "a"}),
            codec.Frame(codec.TRIM_STREAM, 5, {"stream": "a", "beforeSequence": 9}),
            codec.Frame(codec.DELETE_CONSUMER, 6, {"stream": "a", "consumer": "c"}),
        ]
        for f in frames:
            for v in (1, 2):
                self.assertEqual(codec.decode(codec.encode(f, v), v), f)


if __name__ == "__main__":
    unittest.main()
