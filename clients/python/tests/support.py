"""Test support: a real broker in a subprocess (port 0, waits for its 'ready' line) and a TCP
proxy whose connections a test can cut."""
import asyncio
import os
import queue
import re
import subprocess
import sys
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
CLIENT_DIR = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(CLIENT_DIR, "src"))

V1_JAR = "/work/wt/broker/wirebus-v1.jar"
V2_JAR = "/work/wt/broker/wirebus-v2.jar"
START_DEADLINE = 60.0


def default_jar():
    """$WIREBUS_JAR, else ../../wirebus-cli/target/wirebus.jar (relative to clients/python), else the
    shared prebuilt jars of this session."""
    env = os.environ.get("WIREBUS_JAR")
    if env:
        return env
    for p in (os.path.join(CLIENT_DIR, "..", "..", "wirebus-cli", "target", "wirebus.jar"), V1_JAR):
        if os.path.exists(p):
            return os.path.abspath(p)
    raise RuntimeError("no broker jar: set WIREBUS_JAR (or build wirebus-cli/target/wirebus.jar)")


def jars():
    """Every broker jar to run the live tests against: the default one, plus the v2 jar if present."""
    out = [default_jar()]
    if os.path.exists(V2_JAR) and os.path.abspath(V2_JAR) not in map(os.path.abspath, out):
        out.append(V2_JAR)
    return out


class Broker:
    """``java -jar JAR serve --store memory --no-uds --tcp 127.0.0.1:0 --http off`` (or http on a free
    port); ``address`` is its tcp:// address once 'ready' was printed."""

    def __init__(self, jar=None, http=False, extra=(), tcp="127.0.0.1:0"):
        self.jar = jar or default_jar()
        store = [] if "--store" in extra else ["--store", "memory"]
        args = ["java", "-Xss512k", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-jar", self.jar, "serve",
                *store, "--no-uds", "--tcp", tcp,
                "--http", "127.0.0.1:0" if http else "off", *extra]
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.lines = queue.Queue()
        self.http_url = None
        self.address = None
        threading.Thread(target=self._pump, args=(self.proc.stdout,), daemon=True).start()
        self.stderr = []
        threading.Thread(target=self._drain, args=(self.proc.stderr,), daemon=True).start()
        seen = []
        while True:
            try:
                line = self.lines.get(timeout=START_DEADLINE)
            except queue.Empty:
                self.stop()
                raise RuntimeError("broker did not print 'ready' within %.0f s: %s" % (START_DEADLINE, seen))
            if line is None:
                raise RuntimeError("broker exited before 'ready': %s %s" % (seen, "".join(self.stderr[-20:])))
            seen.append(line)
            m = re.search(r"listening on (tcp://\S+)", line)
            if m:
                self.address = m.group(1)
            m = re.search(r"http on (http://\S+?)/?$", line)
            if m:
                self.http_url = m.group(1)
            if line.strip() == "ready":
                break
        if self.address is None:
            self.stop()
            raise RuntimeError("broker printed no tcp address: %s" % seen)

    def _pump(self, f):
        for line in f:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def _drain(self, f):
        for line in f:
            self.stderr.append(line)

    def kill(self):
        """SIGKILL: no GOAWAY, the connections just drop."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(20)
        self.stop()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        for f in (self.proc.stdout, self.proc.stderr):
            try:
                f.close()
            except Exception:  # noqa: BLE001 - the pump thread may be reading it
                pass


class Proxy:
    """A TCP proxy in front of ``target`` (tcp://host:port); :meth:`cut` closes every connection
    through it (both sides) while it keeps listening for new ones."""

    def __init__(self, target):
        host, port = target[len("tcp://"):].rsplit(":", 1)
        self.target = (host, int(port))
        self.conns = set()
        self.server = None
        self.accepted = 0
        self.tasks = set()
        self.muted = False  # True: what the broker sends is dropped (answers lost on purpose)

    async def start(self):
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        port = self.server.sockets[0].getsockname()[1]
        self.address = "tcp://127.0.0.1:%d" % port
        return self

    async def _handle(self, r, w):
        self.accepted += 1
        self.tasks.add(asyncio.current_task())
        try:
            ur, uw = await asyncio.open_connection(*self.target)
        except OSError:
            w.close()
            return
        pair = (w, uw)
        self.conns.add(pair)

        async def pipe(src, dst, from_broker):
            try:
                while True:
                    data = await src.read(65536)
                    if not data:
                        break
                    if from_broker and self.muted:
                        continue
                    dst.write(data)
                    await dst.drain()
            except (ConnectionError, OSError, asyncio.CancelledError):
                pass
            finally:
                dst.close()
        try:
            await asyncio.gather(pipe(r, uw, False), pipe(ur, w, True))
        except asyncio.CancelledError:
            pass
        self.conns.discard(pair)
        self.tasks.discard(asyncio.current_task())

    def cut(self):
        """Closes every open connection through the proxy (abruptly)."""
        n = len(self.conns)
        for w, uw in list(self.conns):
            w.transport.abort()
            uw.transport.abort()
        self.conns.clear()
        return n

    async def close(self):
        self.cut()
        self.server.close()
        for t in list(self.tasks):
            t.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        await self.server.wait_closed()


def free_port():
    """A 127.0.0.1 port nothing listens on right now (a dead address until a broker starts there)."""
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_tls_files(directory):
    """A throwaway CA and a server certificate for 127.0.0.1/localhost signed by it, made with the
    openssl command (PEM files in ``directory``); returns (ca_cert, server_cert, server_key), or
    None when there is no openssl command."""
    import shutil
    if shutil.which("openssl") is None:
        return None
    ca_key, ca_crt = os.path.join(directory, "ca.key"), os.path.join(directory, "ca.pem")
    key, csr, crt = (os.path.join(directory, n) for n in ("server.key", "server.csr", "server.pem"))
    ext = os.path.join(directory, "san.ext")
    with open(ext, "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n")

    def run(*args):
        subprocess.run(["openssl", *args], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
        "-subj", "/CN=wirebus test CA", "-keyout", ca_key, "-out", ca_crt)
    run("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=127.0.0.1",
        "-keyout", key, "-out", csr)
    run("x509", "-req", "-in", csr, "-CA", ca_crt, "-CAkey", ca_key, "-CAcreateserial", "-days", "2",
        "-extfile", ext, "-out", crt)
    return ca_crt, crt, key
