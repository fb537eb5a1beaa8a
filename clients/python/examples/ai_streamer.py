#!/usr/bin/env python3
"""An AI token streamer: publishes a model's reply, chunk by chunk, to a chat stream that a browser
follows live through the broker's HTTP gateway (SSE or WebSocket).

Against a broker started with `./wirebus serve` (Unix socket and tcp://127.0.0.1:7440, gateway on
http://127.0.0.1:7480), from the repository root:

    PYTHONPATH=clients/python/src python3 clients/python/examples/ai_streamer.py

then open http://127.0.0.1:7480/?stream=chat.session-42 (or
`curl -N 'http://127.0.0.1:7480/v1/streams/chat.session-42/events?from=beginning'`). Run it again
to stream another reply to the same session.

The "model" here is a stand-in that yields the words of a canned answer with a delay, as an LLM
client's streaming API would. Each chunk is published as an idempotent producer (producer id per
reply, batch number per chunk) and awaited before the next, so chunks land in order, exactly once,
even if the connection drops mid-reply (the client resends unacknowledged chunks after it
reconnects; the broker drops repeats).
"""
import argparse
import asyncio
import os
import sys
import uuid

try:
    import wirebus
except ImportError:  # run from a checkout without installing
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src"))
    import wirebus

ANSWER = ("wirebus keeps every message of a stream in order and delivers each one once, so a "
          "browser that loses its connection in the middle of a reply picks up at the next token "
          "without a gap or a repeat. This reply was streamed by a Python client, one chunk per "
          "token, to a stream the gateway serves over server-sent events and WebSockets.")


def tokens_for(prompt: str):
    """The chunks the stand-in model answers ``prompt`` with: words, each with its space."""
    words = ("(re: %s) %s" % (prompt, ANSWER)).split(" ")
    return [w + " " for w in words[:-1]] + [words[-1] + "\n"]


async def fake_model(prompt: str, interval: float):
    """Yields the reply chunk by chunk, like a streaming LLM API."""
    for t in tokens_for(prompt):
        if interval:
            await asyncio.sleep(interval)  # the model's pace, not a synchronisation
        yield t


async def stream_reply(client, stream: str, prompt: str, interval: float = 0.03, producer_id: str | None = None):
    """Publishes the model's reply to ``stream``; returns the sequences of its chunks."""
    producer = client.producer(producer_id or "ai-streamer-%s" % uuid.uuid4().hex[:12])
    seqs = []
    async for chunk in fake_model(prompt, interval):
        ack = await producer.publish(stream, chunk.encode("utf-8"))
        seqs.append(ack.sequence)
    return seqs


async def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--address", action="append",
                   help="broker address, repeatable, tried in turn (default: the broker's default Unix "
                        "socket, then tcp://127.0.0.1:7440)")
    p.add_argument("--stream", default="chat.session-42")
    p.add_argument("--prompt", default="why does my chat survive a dropped connection?")
    p.add_argument("--interval-ms", type=int, default=40, help="pause between chunks (the model's pace)")
    p.add_argument("--gateway", default="http://127.0.0.1:7480")
    a = p.parse_args(argv)
    addresses = a.address or [wirebus.default_address(), "tcp://127.0.0.1:7440"]
    client = await wirebus.connect(addresses, name="ai-streamer")
    try:
        print("connected to %s; follow it at %s/?stream=%s" % (client.address, a.gateway, a.stream), flush=True)
        seqs = await stream_reply(client, a.stream, a.prompt, a.interval_ms / 1000.0)
        print("streamed %d chunks to %s, sequences %d..%d" % (len(seqs), a.stream, seqs[0], seqs[-1]), flush=True)
    finally:
        await client.close()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
