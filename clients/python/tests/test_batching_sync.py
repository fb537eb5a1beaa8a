"""The batching publisher and the blocking facade, against a real broker."""
import asyncio
import os
import sys
import threading
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import support  # noqa: E402

import wirebus  # noqa: E402
import wirebus.sync  # noqa: E402
from wirebus.sync import BlockingClient  # noqa: E402

DEADLINE = 20.0


def setUpModule():
    global BROKER
    BROKER = support.Broker()


def tearDownModule():
    BROKER.stop()


class BatchingTest(unittest.IsolatedAsyncioTestCase):
    async def asyncSetUp(self):
        asyncio.get_running_loop().slow_callback_duration = 5.0  # the test loop runs in debug mode

    async def test_futures_order_and_affinity(self):
        async with await wirebus.BatchingPublisher.create([BROKER.address], workers=2,
                                                          max_batch_messages=50) as pub:
            streams = ["bp.a", "bp.b", "bp.c"]
            futs = {s: [] for s in streams}
            for i in range(3000):
                s = streams[i % 3]
                payload = b"%s-%d" % (s.encode(), i)
                futs[s].append(await pub.publish(s, payload) if i % 2 else pub.publish_nowait(s, payload))
            for s in streams:
                seqs = await asyncio.gather(*futs[s])
                self.assertEqual(seqs, list(range(1, 1001)))
            self.assertTrue(await pub.flush(DEADLINE))
            self.assertEqual((pub.acked_count, pub.failed_count, pub.rejected_count), (3000, 0, 0))
            async with await wirebus.connect([BROKER.address]) as c:
                for s in streams:
                    page = await c.fetch(s, 1, 2000)
                    self.assertEqual([m.payload for m in page.messages],
                                     [b"%s-%d" % (s.encode(), i) for i in range(3000) if streams[i % 3] == s])

    async def test_reject_when_full(self):
        async with await wirebus.BatchingPublisher.create([BROKER.address], queue_capacity=4,
                                                          when_full="reject") as pub:
            futs = [await pub.publish("bp.reject", b"%d" % i) for i in range(4)]  # no yield: the worker waits
            with self.assertRaises(wirebus.QueueFullError):
                await pub.publish("bp.reject", b"x")
            self.assertFalse(pub.try_send("bp.reject", b"x"))
            with self.assertRaises(wirebus.QueueFullError):
                pub.publish_nowait("bp.reject", b"x")
            self.assertFalse(await pub.send("bp.reject", b"x"))
            self.assertEqual(pub.rejected_count, 4)
            self.assertEqual(await asyncio.gather(*futs), [1, 2, 3, 4])

    async def test_block_waits_for_room_then_deadline(self):
        async with await wirebus.BatchingPublisher.create([BROKER.address], queue_capacity=2, block_timeout=DEADLINE,
                                                          max_batch_messages=1) as pub:
            futs = [await pub.publish("bp.block", b"%d" % i) for i in range(20)]
            self.assertEqual(await asyncio.gather(*futs), list(range(1, 21)))
            self.assertEqual(pub.rejected_count, 0)
        # a worker held back by a gating consumer: the queue stays full, the caller's deadline passes
        async with await wirebus.connect([BROKER.address]) as c:
            gate = await c.consume("bp.gated", "slow", "earliest", max_lag=1)
            async with await wirebus.BatchingPublisher.create(
                    [BROKER.address], queue_capacity=1, block_timeout=0.05, max_batch_messages=1,
                    max_in_flight_batches=1, request_timeout=DEADLINE) as pub:
                first = await pub.publish("bp.gated", b"1")   # appended (lag 1)
                await first
                held = await pub.publish("bp.gated", b"2")    # held by the gate, in flight
                taken = await pub.publish("bp.gated", b"3")  # the worker takes it, waits for a slot

                while pub._workers[0].queue and not held.done():
                    await asyncio.sleep(0)  # scheduling steps until the worker took it off the queue
                self.assertTrue(await pub.send("bp.gated", b"4"))   # the queue (capacity 1) is full now
                self.assertFalse(await pub.send("bp.gated", b"5"))  # full past its 50 ms deadline
                self.assertEqual(pub.rejected_count, 1)
                for want in (1, 2, 3, 4):
                    m = await gate.next(DEADLINE)
                    self.assertEqual(m.sequence, want)
                    await gate.ack(m.sequence)
                self.assertEqual([await held, await taken], [2, 3])
                self.assertTrue(await pub.flush(DEADLINE))
                self.assertEqual((pub.acked_count, pub.failed_count), (4, 0))

    async def test_close_fails_what_it_could_not_send(self):
        """Closing while a gate holds the stream: every queued message is acked or fails, none vanishes."""
        async with await wirebus.connect([BROKER.address]) as c:
            await c.consume("bp.stuck", "never-acks", "earliest", max_lag=1)
            pub = await wirebus.BatchingPublisher.create([BROKER.address], max_in_flight_batches=1,
                                                         max_batch_messages=1, request_timeout=0.5)
            futs = [pub.publish_nowait("bp.stuck", b"%d" % i) for i in range(5)]
            self.assertEqual(await futs[0], 1)
            await pub.close()
            self.assertTrue(all(f.done() for f in futs))
            self.assertEqual((pub.acked_count, pub.failed_count, pub.queued_count), (1, 4, 5))
            for f in futs[1:]:
                self.assertIsInstance(f.exception(), wirebus.WirebusError)
            with self.assertRaises(wirebus.QueueFullError):
                await pub.publish("bp.stuck", b"late")

    async def test_fire_and_forget_failure_is_counted(self):
        errs = []
        async with await wirebus.BatchingPublisher.create([BROKER.address], on_error=errs.append) as pub:
            self.assertTrue(await pub.send("bp.ok", b"1"))
            self.assertTrue(pub.try_send("bad stream name", b"2"))
            self.assertTrue(await pub.flush(DEADLINE))
            self.assertEqual((pub.acked_count, pub.failed_count), (1, 1))
            self.assertEqual(len(errs), 1)
            self.assertEqual(errs[0].code, 6)


class BlockingTest(unittest.TestCase):
    def test_blocking_facade(self):
        with wirebus.sync.connect([BROKER.address], name="sync") as c:
            self.assertIsInstance(c, BlockingClient)
            self.assertEqual(c.publish("sync.s", b"a").sequence, 1)
            self.assertEqual(c.publish_batch("sync.s", [b"b", b"c"]).count, 2)
            sub = c.subscribe("sync.s", 1)
            self.assertEqual([sub.next(DEADLINE).payload for _ in range(3)], [b"a", b"b", b"c"])
            seen = []

            def handler(req):  # runs in a worker thread: may block
                seen.append(threading.current_thread().name)
                return req.payload.upper()
            c.respond("sync.svc", handler)
            self.assertEqual(c.request("sync.svc", b"hi", 5.0), b"HI")
            self.assertNotIn("wirebus-loop", seen[0])
            with self.assertRaises(wirebus.SequenceMismatchError) as cm:
                c.publish("sync.s", b"x", expected_sequence=9)
            self.assertEqual(cm.exception.last_sequence, 3)
            pub = c.batching_publisher(workers=1)
            futs = [pub.publish("sync.b", b"%d" % i) for i in range(100)]
            self.assertEqual([f.result(DEADLINE) for f in futs], list(range(1, 101)))
            self.assertTrue(pub.send("sync.b", b"x"))
            self.assertTrue(pub.flush(DEADLINE))
            pub.close()
            self.assertEqual(c.fetch("sync.b", 101, 10).messages[0].payload, b"x")
            with self.assertRaises(wirebus.ClientTimeoutError):
                sub.next(0.05)


if __name__ == "__main__":
    unittest.main()
