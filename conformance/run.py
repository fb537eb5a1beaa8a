#!/usr/bin/env python3
"""wirebus conformance orchestrator (Python 3.11, standard library only).

Runs the scenarios of scenarios.json against a live broker, through a TCP proxy this script
controls (so a step can cut every client connection), for every client driver listed in
drivers.json, then a matrix in which every client publishes and every other client reads the
same bytes back (and answers the other's requests). See README.md in this directory.

    python3 conformance/run.py --jar wirebus-cli/target/wirebus.jar
    python3 conformance/run.py --broker tcp://127.0.0.1:7440 --clients java,go

Prints one line per scenario and client(s), PASS or FAIL with the reason (SKIP when the broker
cannot be configured for it), and last exactly "N passed, N failed". Exits 1 if anything failed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import queue
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

DEFAULT_STEP_TIMEOUT = 20.0     # seconds a driver gets to answer a command without a timeoutMs
GRACE = 5.0                     # added to a command's own timeoutMs
CONNECT_TIMEOUT = 60.0          # a new driver must start and answer connect within this
EXIT_TIMEOUT = 10.0             # a driver must exit this soon after end of input
POLL_INTERVAL = 0.02            # between repeats of an "until" step (bounded by its deadline)


class StepFailed(Exception):
    pass


# ------------------------------------------------------------------------------------------ proxy

class Proxy:
    """A TCP proxy to the broker. cut() closes every connection it carries; new ones are accepted."""

    def __init__(self, upstream: tuple[str, int]):
        self.upstream = upstream
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.lock = threading.Lock()
        self.pairs: set[tuple[socket.socket, socket.socket]] = set()
        self.closed = False
        self.violations: list[str] = []   # frames from the broker longer than it announced
        threading.Thread(target=self._accept, name="proxy-accept", daemon=True).start()

    @property
    def address(self) -> str:
        return f"tcp://127.0.0.1:{self.port}"

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.upstream, timeout=5)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            for s in (client, upstream):
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            pair = (client, upstream)
            with self.lock:
                if self.closed:
                    client.close()
                    upstream.close()
                    return
                self.pairs.add(pair)
            threading.Thread(target=self._pump, args=(client, upstream, pair, None), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, pair, FrameWatch(self)), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, pair, watch):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if watch:
                    watch.feed(data)
                dst.sendall(data)
        except OSError:
            pass
        self._close_pair(pair)

    def _close_pair(self, pair):
        with self.lock:
            self.pairs.discard(pair)
        for s in pair:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def cut(self) -> int:
        with self.lock:
            pairs = list(self.pairs)
        for p in pairs:
            self._close_pair(p)
        return len(pairs)

    def close(self):
        with self.lock:
            self.closed = True
        try:
            # wakes the accept() blocked in another thread and stops listening at once (a bare
            # close() leaves the socket listening until that accept() returns)
            self.listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.listener.close()
        self.cut()

    def down(self):
        """Stops listening and closes every connection: the address refuses connections from now on
        (a node that died)."""
        self.close()


def dead_address() -> str:
    """A 127.0.0.1 address nothing listens on (connections are refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"tcp://127.0.0.1:{s.getsockname()[1]}"


def auth_config(spec: dict) -> str:
    """The [security] table of the access-controlled broker: scenarios.json's "authBroker"
    principals, with each token stored as its SHA-256 hash (never the token itself)."""
    lines = ["[security]"]
    for name, p in spec.get("principals", {}).items():
        lines.append(f'[security.principals."{name}"]')
        for k, v in p.items():
            if k == "tokens":
                v = ["sha256:" + hashlib.sha256(t.encode()).hexdigest() for t in v]
            lines.append(f"{k} = {toml_value(v)}")
    return "\n".join(lines) + "\n"


class FrameWatch:
    """Follows the frames the broker sends on one connection: learns maxFrameLength from WELCOME
    (the first frame) and records every later frame whose length field exceeds it."""

    def __init__(self, proxy: Proxy):
        self.proxy = proxy
        self.head = b""         # bytes of the current frame's length field (or of WELCOME)
        self.skip = 0           # bytes of the current frame still to pass
        self.max = None
        self.frames = 0

    def feed(self, data: bytes):
        i = 0
        while i < len(data):
            if self.skip:
                n = min(self.skip, len(data) - i)
                self.skip -= n
                i += n
                continue
            if self.max is None:
                # WELCOME: length u32, type u8, flags u8, requestId u64, version u16, maxFrameLength u32
                need = 4 + 10 + 2 + 4
                take = min(need - len(self.head), len(data) - i)
                self.head += data[i:i + take]
                i += take
                if len(self.head) == need:
                    length = int.from_bytes(self.head[:4], "big")
                    if self.head[4] == 0x02:
                        self.max = int.from_bytes(self.head[16:20], "big")
                    else:
                        self.max = 1 << 32   # not a WELCOME (an ERROR): nothing to hold the broker to
                    self.skip = max(0, 4 + length - need)
                    self.head = b""
                continue
            take = min(4 - len(self.head), len(data) - i)
            self.head += data[i:i + take]
            i += take
            if len(self.head) == 4:
                length = int.from_bytes(self.head, "big")
                self.frames += 1
                if length > self.max:
                    self.proxy.violations.append(f"the broker sent a frame whose length field is {length}, above "
                                                 f"the maxFrameLength {self.max} it announced (frame type "
                                                 f"{data[i]:#04x})" if i < len(data) else
                                                 f"the broker sent a frame whose length field is {length}, above "
                                                 f"the maxFrameLength {self.max} it announced")
                self.skip = length
                self.head = b""


# ------------------------------------------------------------------------------------------ broker

class Broker:
    """A broker started from a jar: memory store, TCP on a free port, no HTTP."""

    def __init__(self, jar: str, config: str | None, log_path: Path, max_frame: int, max_message: int):
        cmd = ["java", "-jar", jar, "serve", "--store", "memory", "--no-uds", "--tcp", "127.0.0.1:0",
               "--http", "off", "--max-frame-bytes", str(max_frame), "--max-message-bytes", str(max_message)]
        if config:
            cmd += ["--config", config]
        self.log = open(log_path, "w")
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self.log, text=True)
        lines: queue.Queue = queue.Queue()

        def read():
            for line in self.proc.stdout:
                self.log.write(line)
                self.log.flush()
                lines.put(line)
            lines.put(None)

        threading.Thread(target=read, daemon=True).start()
        deadline = time.monotonic() + 90
        self.address = None
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                self.stop()
                raise RuntimeError(f"broker printed no 'ready' within 90 s (log: {log_path})")
            try:
                line = lines.get(timeout=left)
            except queue.Empty:
                continue
            if line is None:
                raise RuntimeError(f"broker exited before 'ready' (exit {self.proc.wait()}, log: {log_path})")
            m = re.search(r"listening on tcp://([^\s]+):(\d+)", line)
            if m:
                self.address = (m.group(1), int(m.group(2)))
            if line.strip() == "ready":
                break
        if not self.address:
            self.stop()
            raise RuntimeError("broker did not say which TCP port it listens on")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


# ------------------------------------------------------------------------------------------ drivers

class Driver:
    """One driver process: commands go to its stdin, answers come back in order on its stdout."""

    def __init__(self, client: str, spec: dict, label: str, log_dir: Path):
        self.client = client
        self.label = label
        env = dict(os.environ)
        for k, v in spec.get("env", {}).items():
            env[k] = v
        cwd = (ROOT / spec.get("cwd", ".")).resolve()
        self.stderr = open(log_dir / f"{label}.stderr.log", "w")
        cmd = list(spec["command"])
        exe = cwd / cmd[0]
        if "/" in cmd[0] and exe.exists():
            cmd[0] = str(exe)
        self.proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self.stderr, text=True, encoding="utf-8", bufsize=1)
        self.answers: queue.Queue = queue.Queue()
        self.outstanding: list[str] = []   # tags of commands sent and not yet answered, in order
        self.results: dict[str, dict] = {}
        self.version = 1
        self.connected = False
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        try:
            for line in self.proc.stdout:
                line = line.strip()
                if line:
                    self.answers.put(line)
        except (OSError, ValueError):
            pass
        self.answers.put(None)

    def send(self, cmd: dict, tag: str):
        try:
            self.proc.stdin.write(json.dumps(cmd) + "\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError, ValueError) as e:
            raise StepFailed(f"{self.label}: cannot write to the driver ({e}); exit code {self.proc.poll()}")
        self.outstanding.append(tag)

    def _store(self, line):
        if line is None:
            raise StepFailed(f"{self.label}: driver closed its output (exit code {self.proc.poll()}) with "
                             f"{len(self.outstanding)} command(s) unanswered")
        try:
            answer = json.loads(line)
        except json.JSONDecodeError:
            raise StepFailed(f"{self.label}: answer is not JSON: {line[:200]!r}")
        if not isinstance(answer, dict) or "ok" not in answer:
            raise StepFailed(f"{self.label}: answer is not an object with 'ok': {line[:200]!r}")
        if not self.outstanding:
            raise StepFailed(f"{self.label}: an answer nobody asked for: {line[:200]!r}")
        self.results[self.outstanding.pop(0)] = answer

    def collect(self):
        """Stores every answer that has arrived, without waiting."""
        while True:
            try:
                line = self.answers.get_nowait()
            except queue.Empty:
                return
            self._store(line)

    def wait(self, tag: str, timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        while tag not in self.results:
            left = deadline - time.monotonic()
            if left <= 0:
                raise StepFailed(f"{self.label}: no answer within {timeout:.0f} s (driver killed)")
            try:
                line = self.answers.get(timeout=left)
            except queue.Empty:
                continue
            self._store(line)
        return self.results.pop(tag)

    def finish(self, clean: bool) -> str | None:
        """Ends the driver: EOF, then it must exit 0 soon; killed otherwise. Returns a problem, if any."""
        problem = None
        if clean and self.proc.poll() is None:
            try:
                self.proc.stdin.close()
            except OSError:
                pass
            try:
                code = self.proc.wait(timeout=EXIT_TIMEOUT)
                if code != 0:
                    problem = f"{self.label}: exited {code} at end of input"
            except subprocess.TimeoutExpired:
                problem = f"{self.label}: did not exit within {EXIT_TIMEOUT:.0f} s of end of input (killed)"
        if self.proc.poll() is None:
            self.proc.kill()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        for f in (self.proc.stdin, self.proc.stdout):
            try:
                f.close()
            except OSError:
                pass
        self.stderr.close()
        return problem


# ------------------------------------------------------------------------------------------ values

def to_hex(b: bytes) -> str:
    return b.hex()


def payload_bytes(spec, data) -> bytes:
    """One payload: a hex string, {"text": s}, {"ramp": n} (bytes i % 256), {"repeat": hex, "times": n}."""
    if isinstance(spec, str):
        return bytes.fromhex(spec)
    if isinstance(spec, dict):
        if "text" in spec:
            return spec["text"].encode("utf-8")
        if "ramp" in spec:
            return bytes(i % 256 for i in range(spec["ramp"]))
        if "repeat" in spec:
            return bytes.fromhex(spec["repeat"]) * spec["times"]
    raise ValueError(f"not a payload: {spec!r}")


def payload_list(spec, data) -> list[bytes]:
    """A list of payloads: a JSON list of payloads, {"texts": "m-{i}", "from": 1, "count": n},
    or {"ref": name, "from": i, "to": j} (a slice of the scenario's data)."""
    if isinstance(spec, list):
        return [payload_bytes(p, data) for p in spec]
    if isinstance(spec, dict):
        if "texts" in spec:
            start = spec.get("from", 1)
            return [spec["texts"].replace("{i}", str(i)).encode() for i in range(start, start + spec["count"])]
        if "ref" in spec:
            values = data[spec["ref"]]
            return values[spec.get("from", 0):spec.get("to", len(values))]
    raise ValueError(f"not a payload list: {spec!r}")


class Context:
    def __init__(self, names: dict, data: dict):
        self.names = names     # "@s" -> unique stream / subject name of this run
        self.data = data       # scenario data: name -> list of payload bytes

    def expand(self, value, key=None):
        """Turns the scenario's shorthand into driver values: names, payloads, expected messages."""
        if isinstance(value, str):
            if value.startswith("@"):
                if value not in self.names:
                    raise ValueError(f"unknown name {value}")
                return self.names[value]
            return value
        if isinstance(value, list):
            if key == "payloads":
                return [to_hex(b) for b in payload_list(value, self.data)]
            return [self.expand(v) for v in value]
        if isinstance(value, dict):
            if key in ("payload", "reply") and not (set(value) & MATCHERS):
                return to_hex(payload_bytes(value, self.data))
            if key == "payloads":
                return [to_hex(b) for b in payload_list(value, self.data)]
            if set(value) == {"$count"}:
                return len(self.data[value["$count"]])
            if set(value) == {"$messages"}:
                m = value["$messages"]
                payloads = payload_list(m["payloads"], self.data)
                return [{"sequence": m["first"] + i, "payload": to_hex(p)} for i, p in enumerate(payloads)]
            return {k: self.expand(v, k) for k, v in value.items()}
        return value


MATCHERS = {"$optional", "$v2", "$gte", "$lte", "$any", "$absent", "$len", "$prefix", "$oneOf", "$unordered"}


def match(expected, actual, version: int, path: str = "", optional: bool = False) -> str | None:
    """Checks that `actual` has everything `expected` has (objects: a subset of keys; lists: same
    length, element by element). Returns what differs, or None. Matchers:
      {"$optional": X}  the key may be absent; if present it must match X
      {"$v2": X}        required and matching X when the connection speaks version 2 or later;
                        with version 1 it may be absent, and must match X when present
      {"$gte": n}, {"$lte": n}, {"$any": true}, {"$absent": true}, {"$len": n}
      {"$oneOf": [X, Y]} matching one of the alternatives
      {"$unordered": [..]} a list of the same length whose items match these in any order
      {"$prefix": [..]} a non-empty list matching the first items of [..] (a page may be short)
    """
    where = path or "answer"
    if isinstance(expected, dict) and expected and set(expected) <= MATCHERS:
        if "$absent" in expected:
            return None if actual is MISSING else f"{where}: expected absent, got {short(actual)}"
        if "$optional" in expected:
            return None if actual is MISSING else match(expected["$optional"], actual, version, path, optional)
        if "$v2" in expected:
            if actual is MISSING:
                return f"{where}: missing (the connection speaks version {version})" if version >= 2 else None
            return match(expected["$v2"], actual, version, path, version < 2)
        if actual is MISSING:
            return None if optional else f"{where}: missing"
        if "$any" in expected:
            return None
        if "$unordered" in expected:
            items = expected["$unordered"]
            if not isinstance(actual, list) or len(actual) != len(items):
                return f"{where}: expected {len(items)} items in any order, got {short(actual)}"
            left = list(actual)
            for e in items:
                hit = next((a for a in left if match(e, a, version, path, optional) is None), MISSING)
                if hit is MISSING:
                    return f"{where}: no item matches {short(e)} in {short(actual)}"
                left.remove(hit)
            return None
        if "$oneOf" in expected:
            problems = [match(alt, actual, version, path, optional) for alt in expected["$oneOf"]]
            if all(problems):
                return f"{where}: matches none of {short(expected['$oneOf'])}: {'; '.join(problems)}"
            return None
        if "$gte" in expected and not (isinstance(actual, int) and actual >= expected["$gte"]):
            return f"{where}: expected >= {expected['$gte']}, got {short(actual)}"
        if "$lte" in expected and not (isinstance(actual, int) and actual <= expected["$lte"]):
            return f"{where}: expected <= {expected['$lte']}, got {short(actual)}"
        if "$len" in expected and not (isinstance(actual, list) and len(actual) == expected["$len"]):
            return f"{where}: expected a list of {expected['$len']}, got {short(actual)}"
        if "$prefix" in expected:
            full = expected["$prefix"]
            if not isinstance(actual, list) or not actual or len(actual) > len(full):
                return f"{where}: expected 1 to {len(full)} leading items of {short(full)}, got {short(actual)}"
            return match(full[:len(actual)], actual, version, path, optional)
        return None
    if actual is MISSING:
        return None if optional else f"{where}: missing, expected {short(expected)}"
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return f"{where}: expected an object, got {short(actual)}"
        for k, v in expected.items():
            problem = match(v, actual.get(k, MISSING), version, f"{path}.{k}" if path else k, optional)
            if problem:
                return problem
        return None
    if isinstance(expected, list):
        if not isinstance(actual, list):
            return f"{where}: expected a list, got {short(actual)}"
        for i, (e, a) in enumerate(zip(expected, actual)):
            problem = match(e, a, version, f"{where}[{i}]", optional)
            if problem:
                return problem
        if len(expected) != len(actual):
            return f"{where}: expected {len(expected)} items, got {len(actual)}"
        return None
    if type(expected) is not type(actual) and not (isinstance(expected, (int, float)) and isinstance(actual, (int, float))
                                                   and not isinstance(expected, bool) and not isinstance(actual, bool)):
        return f"{where}: expected {short(expected)}, got {short(actual)}"
    if expected != actual:
        return f"{where}: expected {short(expected)}, got {short(actual)}"
    return None


class _Missing:
    def __repr__(self):
        return "<missing>"


MISSING = _Missing()


def short(v, limit=160) -> str:
    s = json.dumps(v) if not isinstance(v, _Missing) else "<missing>"
    return s if len(s) <= limit else s[:limit] + "..."


# ------------------------------------------------------------------------------------------ running

class Run:
    def __init__(self, args, drivers: dict, clients: list[str], proxy: Proxy, run_id: str, log_dir: Path,
                 stream_config: bool, upstream=None, auth_spec: dict | None = None):
        self.args = args
        self.drivers = drivers
        self.clients = clients
        self.proxy = proxy
        self.upstream = upstream or proxy.upstream
        self.auth_spec = auth_spec or {}
        self.auth_broker = None      # started at the first scenario that needs it
        self.auth_proxy = None
        self.auth_problem = None     # why there is none (a broker without access control)
        self.auth_broken = False     # it should have started but did not: a failure, not a skip
        self.run_id = run_id
        self.log_dir = log_dir
        self.stream_config = stream_config
        self.passed = 0
        self.failed = 0
        self.xfailed = 0

    def names_for(self, scenario: dict, label: str) -> dict:
        base = f"cf-{self.run_id}.{scenario['name']}.{label}"
        return {f"@{n}": f"{base}.{n}" for n in scenario.get("names", [])}

    def start_auth_broker(self):
        """The broker with access control of "authBroker" scenarios (once per run); None when this
        broker has none (its [security] configuration is refused), with the reason kept."""
        if self.auth_proxy is not None or self.auth_problem is not None:
            return self.auth_proxy
        config = self.log_dir / "wirebus-auth.toml"
        config.write_text(auth_config(self.auth_spec))
        try:
            self.auth_broker = Broker(self.args.jar, str(config), self.log_dir / "broker-auth.log",
                                      self.args.max_frame_bytes, self.max_message)
        except RuntimeError as e:
            log = (self.log_dir / "broker-auth.log").read_text(errors="replace")
            if "[security]: unknown table" in log:
                self.auth_problem = "this broker has no access control (it does not know the [security] table)"
            else:
                self.auth_problem = f"the broker with access control did not start: {e}"
                self.auth_broken = True
            return None
        self.auth_proxy = Proxy(self.auth_broker.address)
        return self.auth_proxy

    def stop(self):
        if self.auth_proxy:
            self.auth_proxy.close()
        if self.auth_broker:
            self.auth_broker.stop()

    def run_scenario(self, scenario: dict, assignment: dict[str, str], label: str):
        """Runs one scenario with roles mapped to clients; prints its PASS/FAIL/SKIP line."""
        title = f"{scenario['name']} [{label}]"
        for need in scenario.get("requires", []):
            if need == "streamConfig" and not self.stream_config:
                print(f"SKIP  {title}: needs per-stream broker settings (run with --jar)", flush=True)
                return
            if need == "auth" and not self.args.jar:
                print(f"SKIP  {title}: needs a broker with access control started by the suite (run with --jar)",
                      flush=True)
                return
        main_proxy, upstream = self.proxy, self.upstream
        if scenario.get("broker") == "auth":
            main_proxy = self.start_auth_broker()
            if main_proxy is None and self.auth_broken:
                self.failed += 1
                print(f"FAIL  {title}: {self.auth_problem}", flush=True)
                return
            if main_proxy is None:
                print(f"SKIP  {title}: {self.auth_problem}", flush=True)
                return
            upstream = main_proxy.upstream
        t0 = time.monotonic()
        data = {k: payload_list(v, None) for k, v in scenario.get("data", {}).items()}
        ctx = Context(self.names_for(scenario, label.replace("->", "-")), data)
        started: dict[str, Driver] = {}
        problem = None
        # the addresses every role connects with: by default the shared proxy; a scenario naming
        # "addresses" gets proxies of its own ("primary", "secondary": to the same broker, so one
        # can go down) and "dead" addresses that refuse connections
        self.proxies = {}
        addresses = []
        for a in scenario.get("addresses", ["shared"]):
            if a == "shared":
                self.proxies[a] = main_proxy
                addresses.append(main_proxy.address)
            elif a == "dead":
                addresses.append(dead_address())
            else:
                self.proxies[a] = Proxy(upstream)
                addresses.append(self.proxies[a].address)
        for p in self.proxies.values():
            p.violations.clear()
        try:
            for role, client in assignment.items():
                started[role] = Driver(client, self.drivers[client], f"{scenario['name']}.{label.replace('->', '-')}.{role}",
                                       self.log_dir)
            # every role connects through the proxy first (all at once: drivers may start JVMs)
            connect_extra = scenario.get("connect", {})
            for role, d in started.items():
                extra = {k: v for k, v in connect_extra.get(role, {}).items() if k != "expect"}
                try:
                    d.send({"cmd": "connect", "addresses": addresses,
                            "name": f"{scenario['name']}-{role}", **extra}, "connect")
                except StepFailed as e:
                    raise StepFailed(f"connect {role}: {e}")
            for role, d in started.items():
                try:
                    answer = d.wait("connect", CONNECT_TIMEOUT)
                except StepFailed as e:
                    raise StepFailed(f"connect {role}: {e}")
                expect = connect_extra.get(role, {}).get("expect")
                if expect is not None:
                    p = match(expect, answer, 2)
                    if p:
                        raise StepFailed(f"connect {role}: {p}; whole answer {short(answer, 400)}")
                    if answer.get("ok") is not True:
                        continue   # a refused connect, as expected
                if answer.get("ok") is not True or answer.get("version") not in (1, 2):
                    raise StepFailed(f"connect {role}: {short(answer, 400)}")
                d.version = answer["version"]
                d.connected = True
            for i, step in enumerate(scenario["steps"], 1):
                try:
                    self.run_step(step, started, ctx)
                except StepFailed as e:
                    desc = step.get("cmd") or next((k for k in ("cut", "await", "pending") if k in step), "?")
                    who = f" {step['role']}" if "role" in step else ""
                    note = f" ({step['note']})" if "note" in step else ""
                    raise StepFailed(f"step {i}{who} {desc}{note}: {e}")
        except StepFailed as e:
            problem = str(e)
        except (ValueError, KeyError, TypeError) as e:
            problem = f"bad scenario: {e!r}"
        except OSError as e:
            problem = f"cannot run the driver: {e}"
        except BaseException:
            for d in started.values():   # stopped (a signal, Ctrl-C): no driver outlives the run
                d.finish(clean=False)
            raise
        for role, d in started.items():
            p = d.finish(clean=problem is None)
            if p and not problem:
                problem = p
        violations = [v for p in self.proxies.values() for v in p.violations]
        for name, p in self.proxies.items():
            if p is not main_proxy:
                p.close()
        if violations and not problem:
            problem = f"{violations[0]} ({len(violations)} such frame(s) in this scenario)"
        took = time.monotonic() - t0
        versions = "+".join(f"v{v}" for v in sorted({d.version for d in started.values() if d.connected}))
        info = f"[{took:.1f}s{', protocol ' + versions if versions else ''}]"
        xfails = scenario.get("xfail") or []
        xfails = [xfails] if isinstance(xfails, dict) else xfails
        # an xfail may name the clients it is about ("clients": ["java"]); else it is about all
        xfail = next((x for x in xfails if not x.get("clients") or set(x["clients"]) & set(assignment.values())), None)
        if problem and xfail and xfail["match"] in problem:
            self.xfailed += 1
            print(f"XFAIL {title}: known bug, {xfail['reason']}: {problem}  {info}", flush=True)
        elif problem:
            self.failed += 1
            print(f"FAIL  {title}: {problem}  {info}", flush=True)
        else:
            self.passed += 1
            extra = f" (marked xfail, the known bug looks fixed: remove the scenario's xfail)" if xfail else ""
            print(f"PASS  {title}{extra}  {info}", flush=True)

    def run_step(self, step: dict, drivers: dict[str, Driver], ctx: Context):
        if "cut" in step:
            if sum(p.cut() for p in self.proxies.values()) == 0:
                raise StepFailed("the proxy carried no connection to cut")
            return
        if "down" in step:
            p = self.proxies.get(step["down"])
            if p is None or p is self.proxy or p is self.auth_proxy:
                raise ValueError(f"'down' names {step['down']!r}, not one of the scenario's own addresses")
            p.down()
            return
        if "pending" in step:
            tag = step["pending"]
            d = self.driver_with(tag, drivers)
            d.collect()
            if tag in d.results:
                raise StepFailed(f"'{tag}' should still be waiting, but it was answered: {short(d.results[tag], 300)}")
            return
        if "await" in step:
            tag = step["await"]
            d = self.driver_with(tag, drivers)
            answer = d.wait(tag, step.get("deadline", DEFAULT_STEP_TIMEOUT))
            self.check(step, answer, d, ctx)
            return
        d = drivers[step["role"]]
        cmd = {k: v for k, v in step.items() if k not in STEP_KEYS}
        if isinstance(cmd.get("payloads"), dict) and "fillFrame" in cmd["payloads"]:
            fill = cmd.pop("payloads")
            cmd = ctx.expand(cmd)
            ctx.data[fill["as"]] = self.fill_frame(cmd, fill)
            cmd["payloads"] = [to_hex(b) for b in ctx.data[fill["as"]]]
        else:
            cmd = ctx.expand(cmd)
        timeout = step.get("deadline") or (cmd.get("timeoutMs", 0) / 1000 + GRACE if "timeoutMs" in cmd
                                            else DEFAULT_STEP_TIMEOUT)
        if "async" in step:
            d.send(cmd, step["async"])
            return
        if "until" in step:
            until = ctx.expand(step["until"])
            deadline = time.monotonic() + step.get("untilMs", 10000) / 1000
            while True:
                tag = f"s{id(step)}-{time.monotonic_ns()}"
                d.send(cmd, tag)
                answer = d.wait(tag, timeout)
                if match(until, answer, d.version) is None:
                    break
                if time.monotonic() >= deadline:
                    raise StepFailed(f"never reached {short(until)} within {step.get('untilMs', 10000)} ms; "
                                     f"last answer {short(answer, 400)}")
                time.sleep(POLL_INTERVAL)
        else:
            tag = f"s{id(step)}"
            d.send(cmd, tag)
            answer = d.wait(tag, timeout)
        self.check(step, answer, d, ctx)

    def fill_frame(self, cmd: dict, fill: dict) -> list[bytes]:
        """Records that make this PUBLISH_BATCH frame exactly the broker's maximum frame length:
        length field = 10 (header) + 2 + stream + 8 (expectedSequence) + 4 (count) + records."""
        if fill["fillFrame"] != "publishBatch" or "producer" in cmd:
            raise ValueError("fillFrame supports a plain publishBatch only")
        space = self.max_frame - (10 + 2 + len(cmd["stream"].encode()) + 8 + 4)
        k = max(fill.get("records", 1), -(-space // (self.max_message + 4)))
        sizes = [(space - 4 * k) // k] * k
        sizes[-1] += space - sum(4 + n for n in sizes)
        return [bytes((i * 7 + j) % 256 for j in range(n)) for i, n in enumerate(sizes)]

    @staticmethod
    def driver_with(tag: str, drivers: dict[str, Driver]) -> Driver:
        for d in drivers.values():
            if tag in d.outstanding or tag in d.results:
                return d
        raise ValueError(f"no async step tagged '{tag}'")

    @staticmethod
    def check(step: dict, answer: dict, d: Driver, ctx: Context):
        expected = ctx.expand(step.get("expect", {"ok": True}))
        problem = match(expected, answer, d.version)
        if problem:
            raise StepFailed(f"{problem}; whole answer {short(answer, 400)}")


STEP_KEYS = {"role", "expect", "async", "until", "untilMs", "deadline", "note"}


def toml_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return str(v)
    return json.dumps(v)


def main() -> int:
    global DEFAULT_STEP_TIMEOUT, CONNECT_TIMEOUT
    ap = argparse.ArgumentParser(description="wirebus conformance suite")
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--broker", help="a running broker, tcp://host:port")
    g.add_argument("--jar", help="start a broker from this jar (memory store, TCP on a free port)")
    ap.add_argument("--clients", help="comma-separated drivers to run (default: every driver whose build output exists)")
    ap.add_argument("--drivers", default=str(HERE / "drivers.json"))
    ap.add_argument("--scenarios", default=str(HERE / "scenarios.json"))
    ap.add_argument("--only", help="comma-separated scenario names to run")
    ap.add_argument("--no-matrix", action="store_true", help="skip the cross-client matrix")
    ap.add_argument("--logs", help="directory for driver and broker logs (default: a new temp dir)")
    ap.add_argument("--step-timeout", type=float, default=DEFAULT_STEP_TIMEOUT,
                    help="seconds a driver gets to answer a command that has no timeoutMs of its own (default 20)")
    ap.add_argument("--connect-timeout", type=float, default=60.0,
                    help="seconds a new driver gets to start and answer connect (default 60)")
    ap.add_argument("--max-frame-bytes", type=int,
                    help="the broker's maximum frame length: set on the broker started with --jar (default 262144), "
                         "or what the --broker given uses (default 8388608, the broker's default)")
    args = ap.parse_args()
    if args.max_frame_bytes is None:
        args.max_frame_bytes = 262144 if args.jar else 8388608
    max_message = min(1048576, args.max_frame_bytes - 512)   # the broker wants 512 bytes of a frame left
    DEFAULT_STEP_TIMEOUT = args.step_timeout
    CONNECT_TIMEOUT = args.connect_timeout

    drivers = json.loads(Path(args.drivers).read_text())
    suite = json.loads(Path(args.scenarios).read_text())
    if args.clients:
        clients = [c.strip() for c in args.clients.split(",") if c.strip()]
        unknown = [c for c in clients if c not in drivers]
        if unknown:
            print(f"unknown client(s) {unknown}; drivers.json has {sorted(drivers)}", file=sys.stderr)
            return 2
    else:
        clients = []
        for name, spec in drivers.items():
            cwd = (ROOT / spec.get("cwd", ".")).resolve()
            if any((cwd / p).exists() for p in spec.get("built", [])):
                clients.append(name)
            else:
                print(f"note: {name} driver not built ({' or '.join(spec.get('built', []))} missing; "
                      f"build: {spec.get('build', '?')}): skipped", flush=True)
    if not clients:
        print("no driver to run", file=sys.stderr)
        print("0 passed, 1 failed")
        return 1

    scenarios = suite["scenarios"]
    if args.only:
        wanted = set(args.only.split(","))
        scenarios = [s for s in scenarios if s["name"] in wanted]
        missing = wanted - {s["name"] for s in scenarios}
        if missing:
            print(f"unknown scenario(s): {sorted(missing)}", file=sys.stderr)
            return 2
    single = [s for s in scenarios if not s.get("matrix")]
    matrix = [] if args.no_matrix else [s for s in scenarios if s.get("matrix")]
    pairs = [(p, r) for p in clients for r in clients if p != r] or [(c, c) for c in clients]

    log_dir = Path(args.logs) if args.logs else Path(tempfile.mkdtemp(prefix="wirebus-conformance-"))
    log_dir.mkdir(parents=True, exist_ok=True)
    run_id = secrets.token_hex(3)

    broker = None
    stream_config = False
    if args.jar:
        # per-stream settings (e.g. a small retention) for the exact stream names this run uses
        lines = []
        for s in scenarios:
            labels = [f"{p}-{r}" for p, r in pairs] if s.get("matrix") else clients
            for n, settings in s.get("streamSettings", {}).items():
                for label in labels:
                    lines.append(f'[streams."cf-{run_id}.{s["name"]}.{label}.{n.lstrip("@")}"]')
                    lines += [f"{k} = {toml_value(v)}" for k, v in settings.items()]
        config = None
        if lines:
            config = str(log_dir / "wirebus.toml")
            Path(config).write_text("\n".join(lines) + "\n")
        try:
            broker = Broker(args.jar, config, log_dir / "broker.log", args.max_frame_bytes, max_message)
        except RuntimeError as e:
            print(f"FAIL  broker: {e}")
            print("0 passed, 1 failed")
            return 1
        upstream = broker.address
        stream_config = True
    else:
        m = re.fullmatch(r"tcp://([^:/]+):(\d+)", args.broker)
        if not m:
            print("--broker must be tcp://host:port", file=sys.stderr)
            return 2
        upstream = (m.group(1), int(m.group(2)))

    def terminate(signum, frame):
        raise SystemExit(f"stopped by signal {signum}")   # runs the finally below: broker and proxy stop

    signal.signal(signal.SIGTERM, terminate)
    proxy = Proxy(upstream)
    print(f"wirebus conformance: clients {', '.join(clients)}; broker {upstream[0]}:{upstream[1]} via proxy "
          f"{proxy.address}; run {run_id}; logs {log_dir}", flush=True)
    run = Run(args, drivers, clients, proxy, run_id, log_dir, stream_config, upstream, suite.get("authBroker"))
    run.max_frame, run.max_message = args.max_frame_bytes, max_message
    try:
        for client in clients:
            for s in single:
                run.run_scenario(s, {role: client for role in s["roles"]}, client)
        for s in matrix:
            for p, r in pairs:
                roles = s["roles"]
                run.run_scenario(s, {roles[0]: p, roles[1]: r}, f"{p}->{r}")
    finally:
        proxy.close()
        run.stop()
        if broker:
            broker.stop()
    if run.xfailed:
        print(f"note: {run.xfailed} known failure(s) (XFAIL) not counted: scenarios whose 'xfail' names a known bug",
              flush=True)
    print(f"{run.passed} passed, {run.failed} failed", flush=True)
    return 1 if run.failed else 0


if __name__ == "__main__":
    sys.exit(main())
