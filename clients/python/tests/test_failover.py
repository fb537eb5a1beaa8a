"""Failover between brokers (issue 15 item 5), two real brokers, the first one killed (SIGKILL,
no GOAWAY).

With the in-memory store two brokers share no streams, so test_killed_node shows the
connection/publish/responder side of failover (the old subscription ends with StoreChangedError
instead of resuming on another history). test_shared_store_resumes shows resume by sequence and
the idempotent resend across two addresses: the second broker takes over the first one's disk data
directory (a standby on shared storage: same storeId, streams, consumers, producer state).
Failover between live nodes sharing streams comes with the Redis store."""
import asyncio
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import support  # noqa: E402

import wirebus  # noqa: E402

DEADLINE = 30.0


class FailoverTest(unittest.IsolatedAsyncioTestCase):
    async def asyncSetUp(self):
        asyncio.get_running_loop().slow_callback_duration = 60.0  # brokers start synchronously in the loop
        self.cleanup = []

    async def asyncTearDown(self):
        for f in reversed(self.cleanup):
            r = f()
            if asyncio.iscoroutine(r):
                await r

    async def client(self, addresses, **kw):
        kw.setdefault("reconnect", wirebus.ReconnectPolicy(0.005, 0.1))
        c = await wirebus.connect(addresses, name="failover", **kw)
        self.cleanup.append(c.close)
        return c

    def broker(self, **kw):
        b = support.Broker(**kw)
        self.cleanup.append(b.stop)
        return b

    async def test_killed_node(self):
        dead = "tcp://127.0.0.1:%d" % support.free_port()
        a, b = self.broker(), self.broker()
        c = await self.client([dead, a.address, b.address])
        self.assertEqual(c.address, a.address, "connected to the first live address")
        await c.respond("fo.echo", lambda req: b"echo:" + req.payload)
        sub = await c.subscribe("fo", "earliest")
        for i in range(1, 4):
            await c.publish("fo", b"m%d" % i)
        self.assertEqual([(await sub.next(DEADLINE)).sequence for _ in range(3)], [1, 2, 3])

        a.kill()

        with self.assertRaises(wirebus.StoreChangedError):
            await sub.next(DEADLINE)
        ack = await c.publish("fo", b"on b", timeout=DEADLINE)
        self.assertEqual(ack.sequence, 1, "B's fresh store")
        self.assertEqual(c.address, b.address)
        other = await self.client([b.address])
        self.assertEqual(await other.request("fo.echo", b"x", timeout=DEADLINE), b"echo:x",
                         "the responder was registered again on B")
        s2 = await c.subscribe("fo", "earliest")
        self.assertEqual((await s2.next(DEADLINE)).payload, b"on b")

    async def test_shared_store_resumes(self):
        data = tempfile.TemporaryDirectory()
        self.cleanup.append(data.cleanup)
        b_port = support.free_port()
        store = ("--store", "disk", "--data", data.name)
        a = self.broker(extra=store)
        proxy = await support.Proxy(a.address).start()
        self.cleanup.append(proxy.close)
        c = await self.client([proxy.address, "tcp://127.0.0.1:%d" % b_port])
        sub = await c.subscribe("fs", "earliest", credits=8)
        cons = await c.consume("fs", "exec", "earliest")
        for i in range(1, 11):
            ack = await c.publish("fs", b"m%d" % i, producer="ingest-fo", producer_sequence=i)
            self.assertEqual(ack.sequence, i)
        self.assertEqual([(await sub.next(DEADLINE)).sequence for _ in range(10)], list(range(1, 11)))
        self.assertEqual([(await cons.next(DEADLINE)).sequence for _ in range(10)], list(range(1, 11)))
        await cons.ack(10)

        # A appends the next batch, its answer never reaches the client
        direct = await self.client([a.address], reconnect=wirebus.ReconnectPolicy.never())
        watch = await direct.subscribe("fs", 11)
        proxy.muted = True
        pending = asyncio.ensure_future(c.publish_batch("fs", [b"m11", b"m12"], producer="ingest-fo",
                                                        producer_sequence=11, timeout=DEADLINE * 2))
        self.assertEqual([(await watch.next(DEADLINE)).sequence for _ in range(2)], [11, 12])
        self.assertFalse(pending.done(), "an answer passed the muted proxy")
        await direct.close()

        a.kill()
        self.broker(extra=store, tcp="127.0.0.1:%d" % b_port)

        ack = await pending
        self.assertEqual((ack.sequence, ack.count, ack.duplicate), (11, 2, True),
                         "the batch resent to B is a duplicate of its first append")
        self.assertEqual(c.address, "tcp://127.0.0.1:%d" % b_port)
        ack = await c.publish("fs", b"m13", producer="ingest-fo", producer_sequence=12)
        self.assertEqual((ack.sequence, ack.duplicate), (13, False))
        got = [await sub.next(DEADLINE) for _ in range(3)]
        self.assertEqual([(m.sequence, m.payload) for m in got], [(11, b"m11"), (12, b"m12"), (13, b"m13")])
        self.assertEqual([(await cons.next(DEADLINE)).sequence for _ in range(3)], [11, 12, 13])
        page = await c.fetch("fs", 1, 100)
        self.assertEqual([m.payload for m in page.messages], [b"m%d" % i for i in range(1, 14)])


if __name__ == "__main__":
    unittest.main()
