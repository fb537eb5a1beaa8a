"""Small parts without a broker: addresses, backoff, start positions, error mapping, driver replies."""
import asyncio
import json
import os
import subprocess
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "src"))

import wirebus  # noqa: E402
from wirebus import codec, errors  # noqa: E402
from wirebus.connection import ReconnectPolicy, parse_address  # noqa: E402
from wirebus.subscriptions import parse_start  # noqa: E402


class UnitTest(unittest.TestCase):
    def test_addresses(self):
        self.assertEqual(parse_address("unix:///run/w.sock"), ("unix", "/run/w.sock"))
        self.assertEqual(parse_address("tcp://127.0.0.1:7440"), ("tcp", "127.0.0.1", 7440))
        self.assertEqual(parse_address("tcp://[::1]:7440"), ("tcp", "::1", 7440))
        self.assertEqual(parse_address("/tmp/x.sock"), ("unix", "/tmp/x.sock"))
        for bad in ("tcp://host", "tcp://:1", "tcp://h:0", "http://x:1", "unix://"):
            with self.assertRaises(ValueError, msg=bad):
                parse_address(bad)

    def test_backoff_doubles_to_the_cap_with_jitter(self):
        p = ReconnectPolicy(0.1, 1.0)
        for attempt, base in ((1, 0.1), (2, 0.2), (3, 0.4), (4, 0.8), (5, 1.0), (40, 1.0)):
            for _ in range(50):
                d = p.delay(attempt)
                self.assertGreaterEqual(d, base * 0.8 - 1e-9)
                self.assertLessEqual(d, base * 1.2 + 1e-9)
        with self.assertRaises(ValueError):
            ReconnectPolicy(1.0, 0.5)
        self.assertEqual(ReconnectPolicy.never().max_attempts, 0)

    def test_start_positions(self):
        self.assertEqual(parse_start("earliest"), (codec.EARLIEST, 0))
        self.assertEqual(parse_start("latest"), (codec.LATEST, 0))
        self.assertEqual(parse_start(7), (codec.SEQUENCE, 7))
        self.assertEqual(parse_start({"sequence": 9}), (codec.SEQUENCE, 9))
        for bad in (0, -1, "middle", True, 1.5):
            with self.assertRaises(ValueError):
                parse_start(bad)

    def test_error_mapping(self):
        e = errors.from_wire(10, "stream 's' is at last sequence 40; expected sequence 42 is not 41")
        self.assertIsInstance(e, wirebus.SequenceMismatchError)
        self.assertEqual((e.code, e.name, e.last_sequence), (10, "SEQUENCE_MISMATCH", 40))
        e = errors.from_wire(10, "no number here", {"lastSequence": 5})
        self.assertEqual(e.last_sequence, 5)
        self.assertEqual(errors.from_wire(10, "no number here").last_sequence, -1)
        e = errors.from_wire(32, "busy", {"retryAfterMillis": 100})
        self.assertIsInstance(e, wirebus.BackpressureError)
        self.assertEqual(e.retry_after_millis, 100)
        e = errors.from_wire(15, "x", {"lastProducerSequence": 50})
        self.assertEqual(e.last_producer_sequence, 50)
        e = errors.from_wire(99, "new code")
        self.assertEqual((e.code, e.name), (0, "UNKNOWN"))
        self.assertIn("99", e.message)
        self.assertIsInstance(errors.from_wire(38, "cut"), wirebus.StoreChangedError)
        self.assertIsInstance(errors.from_wire(39, "gone"), wirebus.NotFoundError)
        self.assertEqual(wirebus.ClientTimeoutError("t").to_json()["name"], "CLIENT_TIMEOUT")
        self.assertEqual(wirebus.ConnectionLostError("c").to_json()["code"], -1)

    def test_no_broker_connect_fails_with_reasons(self):
        async def go():
            with self.assertRaises(wirebus.ConnectionLostError) as cm:
                await wirebus.connect(["tcp://127.0.0.1:1", "unix:///nonexistent/w.sock"], connect_timeout=2)
            return str(cm.exception)
        msg = asyncio.run(go())
        self.assertIn("refused", msg)
        self.assertIn("no such file", msg)

    def test_driver_without_broker(self):
        cmds = [{"cmd": "publish", "stream": "s", "payload": "00"}, {"cmd": "nope"},
                {"cmd": "connect", "addresses": ["tcp://127.0.0.1:1"], "name": "d"}, {"cmd": "close"}]
        env = dict(os.environ, PYTHONPATH=os.path.join(HERE, "..", "src"))
        out = subprocess.run([sys.executable, "-m", "wirebus.conformance"], input="\n".join(map(json.dumps, cmds)) + "\n",
                             capture_output=True, text=True, env=env, timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr)
        replies = [json.loads(x) for x in out.stdout.splitlines()]
        self.assertEqual(len(replies), 4)
        self.assertEqual(replies[0]["error"]["name"], "CONNECTION")
        self.assertEqual(replies[1]["error"], {"code": -1, "name": "CLIENT", "message": "unknown command nope",
                                               "fields": {}})
        self.assertEqual(replies[2]["error"]["name"], "CONNECTION")
        self.assertEqual(replies[3], {"ok": True})


if __name__ == "__main__":
    unittest.main()
