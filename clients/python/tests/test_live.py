"""Behaviour against a real broker started by the tests (see support.Broker), over real sockets.
Runs once per broker jar found (the default/$WIREBUS_JAR one, and the v2 jar when present)."""
import asyncio
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import support  # noqa: E402

import wirebus  # noqa: E402

DEADLINE = 20.0


async def wait_until(what, check, timeout=DEADLINE):
    """Polls an async ``check`` (each poll is a broker round trip) until it is true or the deadline."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while True:
        r = await check()
        if r:
            return r
        if loop.time() > end:
            raise AssertionError("%s: not within %.0f s" % (what, timeout))
        await asyncio.sleep(0.01)  # pacing of a poll with a deadline, not a synchronisation


class LiveBase:
    """The tests, run against one broker jar (see the classes made at the end)."""
    jar = None

    @classmethod
    def setUpClass(cls):
        cls.broker = support.Broker(cls.jar)

    @classmethod
    def tearDownClass(cls):
        cls.broker.stop()

    async def asyncSetUp(self):
        asyncio.get_running_loop().slow_callback_duration = 5.0  # the test loop runs in debug mode
        self.clients = []
        self.proxies = []
        self.stream_no = getattr(self, "stream_no", 0)

    async def asyncTearDown(self):
        for c in self.clients:
            await c.close()
        for p in self.proxies:
            await p.close()

    async def client(self, addresses=None, **kw):
        c = await wirebus.connect(addresses or [self.broker.address], name="test", **kw)
        self.clients.append(c)
        return c

    async def proxy(self, target=None):
        p = await support.Proxy(target or self.broker.address).start()
        self.proxies.append(p)
        return p

    def stream(self, tag):
        return "%s.%s.%d" % (tag, self.__class__.__name__.lower(), id(self) % 100000)

    # ------------------------------------------------------------------ publish / subscribe
    async def test_publish_subscribe_every_start(self):
        c = await self.client()
        s = self.stream("ps")
        acks = [await c.publish(s, b"m%d" % i) for i in range(1, 6)]
        self.assertEqual([a.sequence for a in acks], [1, 2, 3, 4, 5])
        b = await c.publish_batch(s, [b"b1", b"", b"b3"])
        self.assertEqual((b.sequence, b.count, b.duplicate), (6, 3, False))
        sub = await c.subscribe(s, "earliest", credits=4)
        got = [await sub.next(DEADLINE) for _ in range(8)]
        self.assertEqual([m.sequence for m in got], list(range(1, 9)))
        self.assertEqual([m.payload for m in got], [b"m1", b"m2", b"m3", b"m4", b"m5", b"b1", b"", b"b3"])
        mid = await c.subscribe(s, 7)
        self.assertEqual((await mid.next(DEADLINE)).payload, b"")
        late = await c.subscribe(s, "latest")
        self.assertEqual(late.started.result(), 9)
        await c.publish(s, b"new")
        self.assertEqual((await late.next(DEADLINE)).sequence, 9)
        self.assertEqual((await sub.next(DEADLINE)).payload, b"new")
        page = await c.fetch(s, 2, 3)
        self.assertEqual([m.sequence for m in page.messages], [2, 3, 4])
        self.assertEqual(page.last_sequence, 9)
        await sub.close()
        self.assertIsNone(await sub.next(1))

    async def test_expected_sequence(self):
        c = await self.client()
        s = self.stream("exp")
        self.assertEqual((await c.publish(s, b"a", expected_sequence=1)).sequence, 1)
        self.assertEqual((await c.publish(s, b"b", expected_sequence=2)).sequence, 2)
        with self.assertRaises(wirebus.SequenceMismatchError) as cm:
            await c.publish(s, b"c", expected_sequence=5)
        e = cm.exception
        self.assertEqual((e.code, e.name), (10, "SEQUENCE_MISMATCH"))
        self.assertEqual(e.last_sequence, 2)  # a v2 field, or parsed from a v1 broker's text
        if c.version >= 2:
            self.assertEqual(e.fields.get("lastSequence"), 2)

    async def test_resume_across_cuts_no_gap_no_duplicate(self):
        """A subscriber behind a proxy whose connections are cut three times while a publisher
        writes: it reads every message once, in order."""
        p = await self.proxy()
        sub_client = await self.client([p.address], reconnect=wirebus.ReconnectPolicy(0.01, 0.1))
        pub = await self.client()
        s = self.stream("cut")
        n = 600
        sub = await sub_client.subscribe(s, "earliest", credits=16)

        async def publish_all():
            for i in range(0, n, 20):
                await pub.publish_batch(s, [b"%d" % k for k in range(i + 1, i + 21)])
        task = asyncio.get_running_loop().create_task(publish_all())
        got = []
        cuts = 0
        while len(got) < n:
            m = await sub.next(DEADLINE)
            got.append(m)
            if len(got) in (50, 200, 420):
                self.assertGreaterEqual(p.cut(), 1)
                cuts += 1
        await task
        self.assertEqual(cuts, 3)
        self.assertEqual([m.sequence for m in got], list(range(1, n + 1)))
        self.assertEqual([m.payload for m in got], [b"%d" % k for k in range(1, n + 1)])
        self.assertGreaterEqual(p.accepted, 4)
        # nothing more arrives: no duplicate after the last one
        await pub.publish(s, b"tail")
        self.assertEqual((await sub.next(DEADLINE)).payload, b"tail")

    async def test_idempotent_resend_after_cut(self):
        p = await self.proxy()
        c = await self.client([p.address], reconnect=wirebus.ReconnectPolicy(0.01, 0.1))
        s = self.stream("idem")
        prod = c.producer("prod-1")
        loop = asyncio.get_running_loop()
        tasks = [loop.create_task(prod.publish_batch(s, [b"%d-a" % i, b"%d-b" % i])) for i in range(200)]
        await asyncio.sleep(0)  # let every task write its frame (a scheduling step, not a wait)
        self.assertGreaterEqual(p.cut(), 1)  # while answers are still on their way
        acks = await asyncio.gather(*tasks)
        self.assertEqual(sorted(a.sequence for a in acks), list(range(1, 401, 2)))
        direct = await self.client()
        page = await direct.fetch(s, 1, 1000)
        self.assertEqual([m.payload for m in page.messages], [b"%d-%s" % (i, x) for i in range(200) for x in (b"a", b"b")])
        self.assertEqual(page.last_sequence, 400)
        # a plain publish in flight at the cut fails with a connection error: its outcome is unknown
        t = loop.create_task(c.publish(s, b"plain"))
        await asyncio.sleep(0)
        p.cut()
        with self.assertRaises(wirebus.ConnectionLostError) as cm:
            await t
        self.assertEqual(cm.exception.name, "CONNECTION")
        # the producer repeating a batch the broker has is told so (duplicate), nothing appended
        dup = await c.publish_batch(s, [b"199-a", b"199-b"], producer="prod-1", producer_sequence=200)
        self.assertTrue(dup.duplicate)
        self.assertEqual(dup.sequence, 399)

    async def test_durable_consumer_max_lag_gates_publishers(self):
        c = await self.client()
        pub = await self.client()
        s = self.stream("gate")
        sub = await c.consume(s, "executor", "earliest", max_lag=3, ack_mode="explicit")
        for i in range(1, 4):
            self.assertEqual((await pub.publish(s, b"%d" % i)).sequence, i)
        held = asyncio.get_running_loop().create_task(pub.publish(s, b"4"))

        async def one_held():
            return (await pub.consumers(s)).held_publishes == 1
        await wait_until("the 4th publish held by the gate", one_held)
        self.assertFalse(held.done())
        info = await pub.consumers(s)
        self.assertEqual([(x.name, x.acked_sequence, x.max_lag, x.connected) for x in info.consumers],
                         [("executor", 0, 3, True)])
        m = await sub.next(DEADLINE)
        self.assertEqual(m.sequence, 1)
        await sub.ack(1)
        self.assertEqual((await held).sequence, 4)
        # a new subscription of the consumer resumes after its acknowledged position
        await sub.close()
        again = await c.consume(s, "executor", "earliest", max_lag=3)
        self.assertEqual(again.started.result(), 2)
        self.assertEqual([(await again.next(DEADLINE)).sequence for _ in range(3)], [2, 3, 4])

    async def test_durable_consumer_resumes_across_cut(self):
        p = await self.proxy()
        c = await self.client([p.address], reconnect=wirebus.ReconnectPolicy(0.01, 0.1))
        pub = await self.client()
        s = self.stream("dcut")
        await pub.publish_batch(s, [b"%d" % i for i in range(1, 101)])
        sub = await c.consume(s, "worker", "earliest", credits=8)
        got = []
        while len(got) < 100:
            m = await sub.next(DEADLINE)
            got.append(m.sequence)
            if m.sequence % 10 == 0:
                await sub.ack(m.sequence)
            if len(got) in (15, 55):
                p.cut()
        self.assertEqual(got, list(range(1, 101)))
        info = await pub.consumers(s)
        self.assertEqual(info.consumers[0].acked_sequence, 100)

    # ------------------------------------------------------------------ request / respond
    async def test_request_respond(self):
        p = await self.proxy()
        responder = await self.client([p.address], reconnect=wirebus.ReconnectPolicy(0.01, 0.1))
        requester = await self.client()
        subj = self.stream("svc")
        await responder.respond(subj + ".echo", lambda r: b"echo:" + r.payload)

        async def slow(r):
            await asyncio.get_running_loop().create_future()  # never answers

        def fail(r):
            raise RuntimeError("database unavailable")
        await responder.respond(subj + ".slow", slow)
        await responder.respond(subj + ".fail", fail)
        self.assertEqual(await requester.request(subj + ".echo", b"hi", 5.0), b"echo:hi")
        with self.assertRaises(wirebus.ResponderError) as cm:
            await requester.request(subj + ".fail", b"", 5.0)
        self.assertEqual(cm.exception.name, "RESPONDER_FAILED")
        self.assertIn("database unavailable", str(cm.exception))
        with self.assertRaises(wirebus.RequestTimeoutError) as cm:  # the broker's TIMEOUT, 1 s before ours
            await requester.request(subj + ".slow", b"", 1.0)
        self.assertEqual(cm.exception.code, 21)
        with self.assertRaises(wirebus.NoRespondersError) as cm:
            await requester.request(subj + ".nobody", b"", 1.0)
        self.assertEqual(cm.exception.code, 20)
        # responders come back after a reconnect
        p.cut()

        async def pinged():
            try:
                return await responder.ping() is not None  # after RESPOND_ON on a new connection
            except wirebus.ConnectionLostError:
                return False  # sent before the client saw the cut
        await wait_until("responder reconnected", pinged)

        async def echoes():
            try:
                return await requester.request(subj + ".echo", b"again", 5.0) == b"echo:again"
            except wirebus.NoRespondersError:
                return False
        await wait_until("responder registered again", echoes)

    # ------------------------------------------------------------------ errors and addresses
    async def test_typed_errors_and_fields(self):
        c = await self.client()
        s = self.stream("err")
        await c.publish(s, b"x", producer="p", producer_sequence=5)
        with self.assertRaises(wirebus.ProducerSequenceError) as cm:
            await c.publish(s, b"y", producer="p", producer_sequence=3)
        self.assertEqual(cm.exception.code, 15)
        if c.version >= 2:
            self.assertEqual(cm.exception.last_producer_sequence, 5)
        with self.assertRaises(wirebus.ServerError) as cm:
            await c.publish("bad name", b"x")
        self.assertEqual((cm.exception.code, cm.exception.name), (6, "INVALID_ARGUMENT"))
        with self.assertRaises(wirebus.ClientError) as cm:  # refused before sending: above maxFrameLength
            await c.publish(s, b"x" * (8 * 1024 * 1024 + 1))
        self.assertIn("maxFrameLength", str(cm.exception))
        await c.ping()  # the connection is still fine
        with self.assertRaises(wirebus.ClientTimeoutError):
            sub = await c.subscribe(s, "latest")
            await sub.next(0.05)  # nothing more arrives: a local deadline

    async def test_sequence_not_retained_with_field(self):
        b = await asyncio.to_thread(support.Broker, self.jar, extra=["--retention-messages", "5"])
        try:
            c = await wirebus.connect([b.address])
            try:
                for _ in range(4):
                    await c.publish_batch("r", [b"x"] * 5)
                with self.assertRaises(wirebus.SequenceNotRetainedError) as cm:
                    await c.fetch("r", 1, 10)
                first = (await c.subscribe("r", "earliest")).started.result()
                self.assertEqual(cm.exception.first_retained_sequence, first)
                if c.version >= 2:
                    self.assertEqual(cm.exception.fields["firstRetainedSequence"], first)
                with self.assertRaises(wirebus.SequenceNotRetainedError):
                    await c.subscribe("r", 1)
            finally:
                await c.close()
        finally:
            await asyncio.to_thread(b.stop)

    async def test_in_flight_window_is_bounded(self):
        responder = await self.client()
        c = await self.client(max_in_flight=1)
        subj = self.stream("window")
        release = asyncio.get_running_loop().create_future()

        async def held(r):
            await release
            return b"done"
        await responder.respond(subj, held)
        first = asyncio.get_running_loop().create_task(c.request(subj, b"", 10.0))
        await asyncio.sleep(0)  # the request takes the only slot
        with self.assertRaises(wirebus.QueueFullError) as cm:
            await c.publish(self.stream("w"), b"x", timeout=0.05)
        self.assertEqual(cm.exception.name, "CLIENT")
        release.set_result(None)
        self.assertEqual(await first, b"done")
        self.assertEqual((await c.publish(self.stream("w"), b"x")).sequence, 1)  # the slot is back

    async def test_addresses_tried_in_turn(self):
        c = await self.client(["tcp://127.0.0.1:1", "unix:///tmp/h-python/no-such.sock", self.broker.address])
        self.assertEqual(c.address, self.broker.address)
        await c.ping()
        with self.assertRaises(wirebus.ConnectionLostError) as cm:
            await wirebus.connect(["tcp://127.0.0.1:1", "unix:///tmp/h-python/no-such.sock"])
        self.assertIn("refused", str(cm.exception))
        self.assertIn("no such file", str(cm.exception))

    async def test_store_change_ends_subscriptions_and_goaway_moves_on(self):
        other = await asyncio.to_thread(support.Broker, self.jar)
        try:
            p = await self.proxy()
            errs = []
            c = await self.client([p.address], reconnect=wirebus.ReconnectPolicy(0.01, 0.1), on_error=errs.append)
            s = self.stream("store")
            await c.publish(s, b"1")
            sub = await c.subscribe(s, "earliest")
            self.assertEqual((await sub.next(DEADLINE)).sequence, 1)
            p.target = tuple(other.address[len("tcp://"):].rsplit(":", 1))
            p.target = (p.target[0], int(p.target[1]))
            p.cut()
            with self.assertRaises(wirebus.StoreChangedError) as cm:
                await sub.next(DEADLINE)
            self.assertEqual(cm.exception.name, "STORE_CHANGED")
            # a broker shutting down sends GOAWAY; the client moves to the next address
            c2 = await self.client([other.address, self.broker.address],
                                   reconnect=wirebus.ReconnectPolicy(0.01, 0.1), on_error=errs.append)
            self.assertEqual(c2.address, other.address)
            await asyncio.to_thread(other.stop)

            async def moved():
                return c2.connected and c2.address == self.broker.address
            await wait_until("reconnected to the second address", moved)
            await c2.ping()
            self.assertTrue(any("going away" in str(e) for e in errs), errs)
        finally:
            await asyncio.to_thread(other.stop)

    async def test_resume_across_broker_restart_on_disk(self):
        """A disk broker restarted behind the proxy keeps its store id: the subscription resumes at
        last + 1 and the idempotent producer's resend is recognised, across the restart."""
        import tempfile
        data = tempfile.mkdtemp(prefix="wirebus-py-test-")
        extra = ["--data", data]
        b1 = await asyncio.to_thread(support.Broker, self.jar, False, ["--store", "disk"] + extra)
        p = await self.proxy(b1.address)
        b2 = None
        try:
            c = await self.client([p.address], reconnect=wirebus.ReconnectPolicy(0.01, 0.1))
            prod = c.producer("restart-p")
            for i in range(1, 6):
                await prod.publish("disk.s", b"%d" % i)
            sub = await c.subscribe("disk.s", "earliest")
            self.assertEqual([(await sub.next(DEADLINE)).sequence for _ in range(5)], [1, 2, 3, 4, 5])
            store = c.store_id
            await asyncio.to_thread(b1.stop)
            b2 = await asyncio.to_thread(support.Broker, self.jar, False, ["--store", "disk"] + extra)
            host, port = b2.address[len("tcp://"):].rsplit(":", 1)
            p.target = (host, int(port))
            ack = await prod.publish("disk.s", b"6")  # waits for the reconnect
            self.assertEqual(ack.sequence, 6)
            self.assertEqual(c.store_id, store)
            m = await sub.next(DEADLINE)
            self.assertEqual((m.sequence, m.payload), (6, b"6"))
            dup = await c.publish("disk.s", b"5", producer="restart-p", producer_sequence=5)
            self.assertEqual((dup.duplicate, dup.sequence), (True, 5))
        finally:
            await asyncio.to_thread(b1.stop)
            if b2 is not None:
                await asyncio.to_thread(b2.stop)
            import shutil
            shutil.rmtree(data, ignore_errors=True)

    async def test_version_negotiated(self):
        c = await self.client()
        self.assertIn(c.version, (1, 2))
        if "v2" in os.path.basename(self.jar or ""):
            self.assertEqual(c.version, 2)


for _i, _jar in enumerate(support.jars()):
    _name = "LiveTest_" + ("v2" if "v2" in os.path.basename(_jar) else "default" if _i == 0 else str(_i))
    globals()[_name] = type(_name, (LiveBase, unittest.IsolatedAsyncioTestCase), {"jar": _jar})
del _i, _jar, _name

if __name__ == "__main__":
    unittest.main()
