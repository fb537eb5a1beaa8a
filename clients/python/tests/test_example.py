"""The AI streamer example, run as its README says (one command), against a live broker with its
HTTP gateway; the chunks are read back in order over the binary protocol and over SSE."""
import asyncio
import http.client
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import support  # noqa: E402

import wirebus  # noqa: E402

EXAMPLES = os.path.join(support.CLIENT_DIR, "examples")
sys.path.insert(0, EXAMPLES)
import ai_streamer  # noqa: E402

DEADLINE = 60


class AiStreamerTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.broker = support.Broker(http=True)

    @classmethod
    def tearDownClass(cls):
        cls.broker.stop()

    def test_streams_chunks_in_order(self):
        env = dict(os.environ, PYTHONPATH=os.path.join(support.CLIENT_DIR, "src"))
        prompt = "hello"
        out = subprocess.run([sys.executable, os.path.join(EXAMPLES, "ai_streamer.py"), "--address",
                              "unix:///nonexistent/wirebus.sock", "--address", self.broker.address,
                              "--stream", "chat.session-42", "--prompt", prompt, "--interval-ms", "1",
                              "--gateway", self.broker.http_url],
                             env=env, capture_output=True, text=True, timeout=DEADLINE)
        self.assertEqual(out.returncode, 0, out.stderr)
        want = ai_streamer.tokens_for(prompt)
        self.assertIn("streamed %d chunks to chat.session-42, sequences 1..%d" % (len(want), len(want)), out.stdout)

        async def read_back():
            async with await wirebus.connect([self.broker.address]) as c:
                sub = await c.subscribe("chat.session-42", "earliest")
                return [(await sub.next(DEADLINE)) for _ in want]
        got = asyncio.run(read_back())
        self.assertEqual([m.sequence for m in got], list(range(1, len(want) + 1)))
        self.assertEqual([m.payload.decode() for m in got], want)

        # what a browser gets: the gateway's server-sent events, from the beginning
        host = self.broker.http_url[len("http://"):]
        conn = http.client.HTTPConnection(host, timeout=DEADLINE)
        conn.request("GET", "/v1/streams/chat.session-42/events?from=beginning&encoding=text")
        r = conn.getresponse()
        self.assertEqual(r.status, 200)
        events = []
        ids = []
        while len(events) < len(want):
            line = r.fp.readline().decode("utf-8")
            self.assertTrue(line, "SSE ended early")
            if line.startswith("data: "):
                events.append(line[len("data: "):].rstrip("\n"))
            elif line.startswith("id: "):
                ids.append(int(line[4:]))
        conn.close()
        # SSE data lines cannot carry the final newline; everything else is byte for byte
        self.assertEqual(events, [t.rstrip("\n") for t in want])
        self.assertEqual(ids[-len(want):], list(range(1, len(want) + 1)))

    def test_stream_reply_in_process(self):
        async def go():
            async with await wirebus.connect([self.broker.address]) as c:
                seqs = await ai_streamer.stream_reply(c, "chat.session-7", "x", 0, producer_id="p-7")
                page = await c.fetch("chat.session-7", 1, 1000)
                return seqs, [m.payload.decode() for m in page.messages]
        seqs, payloads = asyncio.run(go())
        self.assertEqual(payloads, ai_streamer.tokens_for("x"))
        self.assertEqual(seqs, list(range(1, len(payloads) + 1)))


if __name__ == "__main__":
    unittest.main()
