#!/usr/bin/env python3
"""Python client benchmarks (a bench, not a test): publish->ack latency of a single publisher that
awaits each ack, and the pipelined publish rate through the batching publisher. Each is measured
in --runs runs after a warm-up; every run is printed, then the median.

    python3 clients/python/bench.py                       # starts its own broker (memory store) on a UDS
    python3 clients/python/bench.py --address unix:///tmp/x.sock   # a running broker
    python3 clients/python/bench.py --workers 2 --size 100 --duration 5 --runs 3

The broker jar is --jar, else $WIREBUS_JAR, else ../../wirebus-cli/target/wirebus.jar. Figures
depend on the machine and its load: compare against the Java client in the same sitting.
"""
import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import queue
import threading
import time


HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "src"))
import wirebus  # noqa: E402


def start_broker(jar, tmp, store):
    sock = os.path.join(tmp, "wirebus.sock")
    proc = subprocess.Popen(["java", "-jar", jar, "serve", "--store", store, "--data", os.path.join(tmp, "data"),
                             "--uds", sock, "--no-tcp", "--http", "off"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = queue.Queue()
    threading.Thread(target=lambda: [lines.put(x) for x in proc.stdout] + [lines.put(None)], daemon=True).start()
    while True:
        line = lines.get(timeout=60)
        if line is None:
            raise RuntimeError("broker exited before 'ready'")
        if line.strip() == "ready":
            return proc, "unix://" + sock


def cpu_seconds(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            parts = f.read().rsplit(")", 1)[1].split()
        return (int(parts[11]) + int(parts[12])) / os.sysconf("SC_CLK_TCK")
    except OSError:
        return float("nan")


async def latency_run(client, stream, payload, seconds):
    lat = []
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    perf = time.perf_counter
    while loop.time() < end:
        t0 = perf()
        await client.publish(stream, payload)
        lat.append(perf() - t0)
    lat.sort()
    return {"n": len(lat), "p50_us": lat[len(lat) // 2] * 1e6, "p99_us": lat[int(len(lat) * 0.99)] * 1e6,
            "ops": len(lat) / seconds}


async def throughput_run(pub, streams, payload, seconds, futures, timeout):
    loop = asyncio.get_running_loop()
    n = 0
    t0 = time.perf_counter()
    c0 = time.process_time()
    end = loop.time() + seconds
    ns = len(streams)
    last = None
    while True:
        for _ in range(1000):
            s = streams[n % ns]
            if futures:
                try:
                    last = pub.publish_nowait(s, payload)
                except wirebus.QueueFullError:
                    last = await pub.publish(s, payload)
            elif not pub.try_send(s, payload):
                if not await pub.send(s, payload):
                    raise RuntimeError("queue full past the deadline")
            n += 1
        if loop.time() >= end:
            break
    if not await pub.flush(timeout):
        raise RuntimeError("flush did not finish within %s s" % timeout)
    if last is not None:
        await last
    wall = time.perf_counter() - t0
    cpu = time.process_time() - c0
    return {"n": n, "rate": n / wall, "client_cpu": cpu / wall, "cpu_us": cpu / n * 1e6, "failed": pub.failed_count}


async def bench(a, address, broker_pid):
    payload = os.urandom(a.size)
    print("python %s, payload %d B, %s, broker %s" % (sys.version.split()[0], a.size, address, a.store))
    client = await wirebus.connect([address], name="bench-latency")
    print("protocol version %d" % client.version)
    await latency_run(client, "bench.latency", payload, a.warmup)
    p50s = []
    for i in range(a.runs):
        r = await latency_run(client, "bench.latency", payload, a.duration)
        p50s.append(r["p50_us"])
        print("publish->ack run %d: p50 %.1f us, p99 %.1f us, %d acks (%.0f/s)" % (
            i + 1, r["p50_us"], r["p99_us"], r["n"], r["ops"]))
    print("publish->ack p50 median of %d: %.1f us" % (a.runs, statistics.median(p50s)))
    await client.close()
    for futures in (False, True):
        mode = "a future per message" if futures else "fire-and-forget"
        pub = await wirebus.BatchingPublisher.create([address], workers=a.workers, max_batch_messages=a.batch,
                                                     queue_capacity=a.queue, name="bench")
        streams = ["bench.tput.%d" % k for k in range(a.streams)]
        await throughput_run(pub, streams, payload, a.warmup, futures, a.timeout)
        rates = []
        for i in range(a.runs):
            b0 = cpu_seconds(broker_pid) if broker_pid else float("nan")
            t0 = time.perf_counter()
            r = await throughput_run(pub, streams, payload, a.duration, futures, a.timeout)
            bcpu = (cpu_seconds(broker_pid) - b0) / (time.perf_counter() - t0) if broker_pid else float("nan")
            rates.append(r["rate"])
            print("batching publisher (%s, %d worker(s), %d stream(s)) run %d: %.0f msgs/s, %d msgs, "
                  "client CPU %.2f cores (%.2f us/msg), broker CPU %.2f cores, failed %d" % (
                      mode, a.workers, a.streams, i + 1, r["rate"], r["n"], r["client_cpu"], r["cpu_us"], bcpu,
                      r["failed"]))
        print("batching publisher (%s) median of %d: %.0f msgs/s" % (mode, a.runs, statistics.median(rates)))
        await pub.close()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--address", help="a running broker (unix:///path or tcp://host:port); default: start one")
    p.add_argument("--jar", default=os.environ.get("WIREBUS_JAR") or os.path.join(
        HERE, "..", "..", "wirebus-cli", "target", "wirebus.jar"))
    p.add_argument("--store", default="memory", choices=["memory", "disk"])
    p.add_argument("--size", type=int, default=100)
    p.add_argument("--duration", type=float, default=5.0)
    p.add_argument("--warmup", type=float, default=2.0)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--streams", type=int, default=1)
    p.add_argument("--batch", type=int, default=1000)
    p.add_argument("--queue", type=int, default=65536)
    p.add_argument("--timeout", type=float, default=30.0)
    a = p.parse_args()
    proc = None
    tmp = None
    try:
        if a.address:
            address = a.address
        else:
            tmp = tempfile.mkdtemp(prefix="wirebus-pybench-")
            proc, address = start_broker(a.jar, tmp, a.store)
        asyncio.run(bench(a, address, proc.pid if proc else None))
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(20)
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
