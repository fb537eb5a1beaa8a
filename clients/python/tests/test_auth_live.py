"""Access control against the real broker (issue 13): a broker started with a [security] table
(static tokens stored as hashes, HS256 JWTs with a short expiry, TLS on its TCP listener). Skipped,
saying so, when the broker jar has no access control (it refuses the [security] table)."""
import asyncio
import base64
import hashlib
import hmac
import json
import os
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import support  # noqa: E402

import wirebus  # noqa: E402

DEADLINE = 30.0
SECRET = b"wirebus-python-test-hs256-secret-0123456789"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt(sub, exp, perms):
    """An HS256 JWT (the broker verifies it with nimbus-jose-jwt)."""
    head = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = b64(json.dumps({"sub": sub, "aud": "wirebus-test", "exp": exp, "wirebus": perms}).encode())
    sig = hmac.new(SECRET, ("%s.%s" % (head, body)).encode(), hashlib.sha256).digest()
    return "%s.%s.%s" % (head, body, b64(sig))


def sha(token):
    return "sha256:" + hashlib.sha256(token.encode()).hexdigest()


class LiveAuthTest(unittest.IsolatedAsyncioTestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.TemporaryDirectory()
        d = cls.dir.name
        with open(os.path.join(d, "hs256.secret"), "wb") as f:
            f.write(SECRET)
        tls = support.make_tls_files(d)
        lines = ["[security]",
                 "[security.jwt]", 'audience = "wirebus-test"', 'secret-file = "%s"' % os.path.join(d, "hs256.secret"),
                 'clock-skew = "0s"',
                 '[security.principals.writer]', 'tokens = ["%s"]' % sha("writer-token"),
                 'publish = ["auth.>"]', 'read = ["auth.>"]',
                 '[security.principals.reader]', 'tokens = ["%s"]' % sha("reader-token"), 'read = ["auth.>"]',
                 '[security.principals.operator]', 'tokens = ["%s"]' % sha("operator-token"), 'admin = ["auth.>"]',
                 'publish = ["auth.>"]', 'read = ["auth.>"]', 'consume = [">"]']
        if tls:
            cls.ca = tls[0]
            lines += ["[security.tls]", 'cert = "%s"' % tls[1], 'key = "%s"' % tls[2]]
        config = os.path.join(d, "wirebus.toml")
        with open(config, "w") as f:
            f.write("\n".join(lines) + "\n")
        try:
            cls.broker = support.Broker(extra=("--config", config))
        except RuntimeError as e:
            cls.dir.cleanup()
            if "[security]: unknown table" in str(e):
                raise unittest.SkipTest("this broker has no access control (it does not know the [security] table)")
            raise
        cls.tls = tls is not None
        cls.address = cls.broker.address.replace("tcp://", "tls://") if cls.tls else cls.broker.address

    @classmethod
    def tearDownClass(cls):
        cls.broker.stop()
        cls.dir.cleanup()

    async def asyncSetUp(self):
        asyncio.get_running_loop().slow_callback_duration = 5.0
        self.clients = []

    async def asyncTearDown(self):
        for c in self.clients:
            await c.close()

    async def client(self, **kw):
        if self.tls:
            kw.setdefault("tls_ca_file", self.ca)
        kw.setdefault("reconnect", wirebus.ReconnectPolicy(0.01, 0.2))
        c = await wirebus.connect([self.address], name="auth-live", **kw)
        self.clients.append(c)
        return c

    async def test_tokens_permissions_and_reauth(self):
        w = await self.client(token="writer-token")
        r = await self.client(token="reader-token")
        self.assertEqual((w.principal, r.principal), ("writer", "reader"))
        self.assertEqual((await w.publish("auth.s", b"1")).sequence, 1)
        with self.assertRaises(wirebus.PermissionDeniedError) as cm:
            await r.publish("auth.s", b"2")
        self.assertIn("auth.s", cm.exception.message)
        with self.assertRaises(wirebus.PermissionDeniedError):
            await w.publish("other", b"3")
        page = await r.fetch("auth.s", 1, 10)   # the denial left the connection usable
        self.assertEqual([m.payload for m in page.messages], [b"1"])
        info = await r.auth("writer-token")
        self.assertEqual((info.principal, r.principal), ("writer", "writer"))
        self.assertEqual((await r.publish("auth.s", b"4")).sequence, 2)

    async def test_admin_operations(self):
        op = await self.client(token="operator-token")
        r = await self.client(token="reader-token")
        await op.publish_batch("auth.admin", [b"a", b"b", b"c"])
        sub = await op.consume("auth.admin", "c1", "earliest")
        self.assertEqual((await sub.next(DEADLINE)).sequence, 1)
        await sub.close()
        page = await op.streams("", 1000)
        mine = [i for i in page.streams if i.name == "auth.admin"]
        self.assertEqual(len(mine), 1, page)
        self.assertEqual((mine[0].first_sequence, mine[0].last_sequence, mine[0].consumers), (1, 3, 1))
        self.assertFalse(page.more)
        await op.trim_stream("auth.admin", 3)
        self.assertEqual([m.payload for m in (await op.fetch("auth.admin", 3, 10)).messages], [b"c"])
        with self.assertRaises(wirebus.PermissionDeniedError):
            await r.delete_stream("auth.admin")
        await op.delete_consumer("auth.admin", "c1")
        with self.assertRaises(wirebus.NotFoundError):
            await op.delete_consumer("auth.admin", "c1")
        await op.delete_stream("auth.admin")
        with self.assertRaises(wirebus.NotFoundError):
            await op.delete_stream("auth.admin")
        self.assertEqual([i.name for i in (await op.streams("", 1000)).streams if i.name == "auth.admin"], [])

    async def test_unknown_token_fails(self):
        with self.assertRaises(wirebus.AuthFailedError) as cm:
            await self.client(token="nobody-token")
        self.assertEqual(cm.exception.code, 40)

    async def test_jwt_expiry_mid_connection_then_a_fresh_token(self):
        perms = {"read": ["auth.jwt"], "publish": ["auth.jwt"]}
        minted = []

        def provider():
            # the first token expires a few seconds from now, the next ones in ten minutes
            exp = int(time.time()) + (4 if not minted else 600)
            minted.append(exp)
            return jwt("browser-1", exp, perms)
        expired = asyncio.Event()
        c = await self.client(token=provider, token_refresh=False,
                              on_error=lambda e: isinstance(e, wirebus.AuthExpiredError) and expired.set())
        self.assertEqual((c.principal, c.expires_at_millis), ("browser-1", minted[0] * 1000))
        await c.publish("auth.jwt", b"before")
        # the broker closes the connection at the token's expiry (AUTH_EXPIRED): waited for, with a deadline
        await asyncio.wait_for(expired.wait(), DEADLINE)
        loop = asyncio.get_running_loop()
        end = loop.time() + DEADLINE
        while not (c.connected and len(minted) == 2 and c.expires_at_millis == minted[1] * 1000):
            self.assertLess(loop.time(), end, "not reconnected with a fresh token by the deadline")
            await asyncio.sleep(0.01)  # pacing of a poll with a deadline, not a synchronisation
        ack = await c.publish("auth.jwt", b"after", timeout=DEADLINE)
        self.assertEqual(ack.sequence, 2)
        with self.assertRaises(wirebus.PermissionDeniedError):
            await c.publish("auth.s", b"not in the token's claims")

    async def test_tls_needs_the_ca(self):
        if not self.tls:
            self.skipTest("no openssl command to make a certificate")
        with self.assertRaises(wirebus.ConnectionLostError) as cm:
            await wirebus.connect([self.address], token="writer-token", reconnect=wirebus.ReconnectPolicy.never())
        self.assertIn("CERTIFICATE_VERIFY_FAILED", str(cm.exception))


if __name__ == "__main__":
    unittest.main()
