"""Frames <-> bytes for the wirebus protocol, versions 1 and 2 (docs/protocol.md).

A frame is a :class:`Frame`: its type, request id, flags and a dict of body fields named as in
docs/protocol.md (``stream``, ``expectedSequence``...). Payloads are ``bytes`` under ``payload``,
record lists are lists of ``bytes`` under ``records``; ``startKind`` is 0/1/2. In version 2 the
ERROR and SUBSCRIPTION_CLOSED frames carry ``errorFields``: a dict of error fields by name
(``lastSequence``...). :func:`encode` turns a frame into bytes, :class:`FrameReader` turns a
byte stream into frames and raises :class:`ProtocolError` (with the wire code and the request id
to report) on malformed input.
"""
from __future__ import annotations

import struct

MAGIC = 0x57425553
MIN_VERSION = 1
MAX_VERSION = 2
DEFAULT_MAX_FRAME_LENGTH = 8 * 1024 * 1024
HEADER = 10
MAX_U31 = 0x7FFFFFFF
MAX_U63 = 0x7FFFFFFFFFFFFFFF

# frame types
HELLO, WELCOME, PING, PONG, GOAWAY, ERROR, OK = 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07
PUBLISH, PUBLISH_BATCH, PUBLISH_ACK, PUBLISH_IDEMPOTENT = 0x10, 0x11, 0x12, 0x13
SUBSCRIBE, SUBSCRIBED, DELIVER, CREDIT, UNSUBSCRIBE, SUBSCRIPTION_CLOSED = 0x20, 0x21, 0x22, 0x23, 0x24, 0x25
CONSUME, ACK, CONSUMERS, CONSUMER_LIST, FETCH, FETCHED = 0x26, 0x27, 0x28, 0x29, 0x2A, 0x2B
REQUEST, RESPONSE, RESPOND_ON, RESPOND_OFF = 0x30, 0x31, 0x32, 0x33
AUTH, AUTH_OK = 0x08, 0x09
STREAMS, STREAM_LIST, DELETE_STREAM, TRIM_STREAM, DELETE_CONSUMER = 0x40, 0x41, 0x42, 0x43, 0x44

TYPE_NAMES = {
    HELLO: "HELLO", WELCOME: "WELCOME", PING: "PING", PONG: "PONG", GOAWAY: "GOAWAY", ERROR: "ERROR",
    OK: "OK", PUBLISH: "PUBLISH", PUBLISH_BATCH: "PUBLISH_BATCH", PUBLISH_ACK: "PUBLISH_ACK",
    PUBLISH_IDEMPOTENT: "PUBLISH_IDEMPOTENT", SUBSCRIBE: "SUBSCRIBE", SUBSCRIBED: "SUBSCRIBED",
    DELIVER: "DELIVER", CREDIT: "CREDIT", UNSUBSCRIBE: "UNSUBSCRIBE",
    SUBSCRIPTION_CLOSED: "SUBSCRIPTION_CLOSED", CONSUME: "CONSUME", ACK: "ACK", CONSUMERS: "CONSUMERS",
    CONSUMER_LIST: "CONSUMER_LIST", FETCH: "FETCH", FETCHED: "FETCHED", REQUEST: "REQUEST",
    RESPONSE: "RESPONSE", RESPOND_ON: "RESPOND_ON", RESPOND_OFF: "RESPOND_OFF",
    AUTH: "AUTH", AUTH_OK: "AUTH_OK", STREAMS: "STREAMS", STREAM_LIST: "STREAM_LIST",
    DELETE_STREAM: "DELETE_STREAM", TRIM_STREAM: "TRIM_STREAM", DELETE_CONSUMER: "DELETE_CONSUMER",
}
TYPES_BY_NAME = {v: k for k, v in TYPE_NAMES.items()}

FLAG_DUPLICATE = 0x01

EARLIEST, LATEST, SEQUENCE = 0, 1, 2
START_KIND_NAMES = {EARLIEST: "EARLIEST", LATEST: "LATEST", SEQUENCE: "SEQUENCE"}

# error codes (docs/protocol.md section 8.1)
ERROR_CODES = {
    0: "UNKNOWN", 1: "MALFORMED_FRAME", 2: "FRAME_TOO_LARGE", 3: "UNKNOWN_FRAME_TYPE",
    4: "UNSUPPORTED_VERSION", 5: "HANDSHAKE_REQUIRED", 6: "INVALID_ARGUMENT",
    10: "SEQUENCE_MISMATCH", 11: "SEQUENCE_NOT_RETAINED", 12: "UNKNOWN_SUBSCRIPTION",
    13: "DUPLICATE_SUBSCRIPTION", 14: "MESSAGE_TOO_LARGE", 15: "PRODUCER_SEQUENCE",
    20: "NO_RESPONDERS", 21: "TIMEOUT", 22: "RESPONDER_GONE", 23: "RESPONDER_FAILED",
    30: "SHUTTING_DOWN", 31: "INTERNAL", 32: "BACKPRESSURE", 33: "PERMISSION_DENIED",
    34: "STREAM_LIMIT", 35: "CONNECTION_LIMIT", 36: "SLOW_CONSUMER", 37: "READ_TIMEOUT",
    38: "STORE_CHANGED", 39: "NOT_FOUND", 40: "AUTH_FAILED", 41: "AUTH_EXPIRED", 42: "UNAVAILABLE",
}
CODES_BY_NAME = {v: k for k, v in ERROR_CODES.items()}
#: codes after which the broker closes the connection
CLOSING_CODES = frozenset({1, 2, 3, 4, 5, 35, 36, 37, 40, 41})

MALFORMED_FRAME = 1
FRAME_TOO_LARGE = 2
UNKNOWN_FRAME_TYPE = 3

# version 2 error fields
ERROR_FIELD_NAMES = {1: "lastSequence", 2: "firstRetainedSequence", 3: "retryAfterMillis",
                     4: "lastProducerSequence"}
ERROR_FIELD_KEYS = {v: k for k, v in ERROR_FIELD_NAMES.items()}


def code_name(code: int) -> str:
    """The name of a wire error code; UNKNOWN for codes this client does not know."""
    return ERROR_CODES.get(code, "UNKNOWN")


class ProtocolError(Exception):
    """Malformed input: ``code`` is the wire error code, ``request_id`` the id to report it with."""

    def __init__(self, code: int, message: str, request_id: int = 0):
        super().__init__(message)
        self.code = code
        self.request_id = request_id


class Frame:
    """One frame: ``type``, ``request_id``, ``flags`` and the body ``fields``."""
    __slots__ = ("type", "request_id", "flags", "fields")

    def __init__(self, type: int, request_id: int = 0, fields: dict | None = None, flags: int = 0):
        self.type = type
        self.request_id = request_id
        self.fields = fields if fields is not None else {}
        self.flags = flags

    def __getitem__(self, key):
        return self.fields[key]

    def get(self, key, default=None):
        return self.fields.get(key, default)

    def __eq__(self, other):
        return (isinstance(other, Frame) and self.type == other.type and self.request_id == other.request_id
                and self.fields == other.fields)

    def __repr__(self):
        return "Frame(%s, id=%d, %r)" % (TYPE_NAMES.get(self.type, hex(self.type)), self.request_id, self.fields)


# ----------------------------------------------------------------------------- layouts
# field kinds: u8 u16 u31 u32 u63 u64 str bytes blob (u31 length + bytes) records kind (startKind)
# bit (0/1) bool (0/1 as a bool) consumers streamlist errfields
_V1 = {
    HELLO: [("magic", "magic"), ("minVersion", "u16"), ("maxVersion", "u16"), ("clientName", "str")],
    WELCOME: [("version", "u16"), ("maxFrameLength", "u31"), ("storeId", "u63"), ("serverName", "str")],
    PING: [], PONG: [], OK: [],
    GOAWAY: [("code", "u16"), ("message", "str")],
    ERROR: [("code", "u16"), ("message", "str")],
    PUBLISH: [("stream", "str"), ("expectedSequence", "u63"), ("payload", "bytes")],
    PUBLISH_BATCH: [("stream", "str"), ("expectedSequence", "u63"), ("records", "records")],
    PUBLISH_ACK: [("firstSequence", "u63"), ("count", "u31")],
    PUBLISH_IDEMPOTENT: [("stream", "str"), ("expectedSequence", "u63"), ("producerId", "str"),
                         ("producerSequence", "u63"), ("records", "records")],
    SUBSCRIBE: [("subscriptionId", "u32"), ("stream", "str"), ("startKind", "kind"),
                ("startSequence", "u63"), ("credits", "u31")],
    SUBSCRIBED: [("subscriptionId", "u32"), ("startSequence", "u63")],
    DELIVER: [("subscriptionId", "u32"), ("stream", "str"), ("firstSequence", "u63"), ("records", "records")],
    CREDIT: [("subscriptionId", "u32"), ("credits", "u31")],
    UNSUBSCRIBE: [("subscriptionId", "u32")],
    SUBSCRIPTION_CLOSED: [("subscriptionId", "u32"), ("code", "u16"), ("message", "str")],
    CONSUME: [("subscriptionId", "u32"), ("stream", "str"), ("consumer", "str"), ("startKind", "kind"),
              ("startSequence", "u63"), ("credits", "u31"), ("ackMode", "bit"), ("maxLag", "u31"),
              ("resume", "bit")],
    ACK: [("subscriptionId", "u32"), ("sequence", "u63")],
    CONSUMERS: [("stream", "str")],
    CONSUMER_LIST: [("lastSequence", "u63"), ("heldPublishes", "u31"), ("heldMillis", "u63"),
                    ("rejectedPublishes", "u63"), ("consumers", "consumers")],
    FETCH: [("stream", "str"), ("fromSequence", "u63"), ("maxMessages", "u31")],
    FETCHED: [("lastSequence", "u63"), ("firstSequence", "u63"), ("records", "records")],
    REQUEST: [("subject", "str"), ("timeoutMillis", "u31"), ("payload", "bytes")],
    RESPONSE: [("payload", "bytes")],
    RESPOND_ON: [("subject", "str")],
    RESPOND_OFF: [("subject", "str")],
    # added to version 2 later (AUTH, admin); the same layout whatever the version
    AUTH: [("mechanism", "str"), ("credential", "blob")],
    AUTH_OK: [("principal", "str"), ("expiresAtMillis", "u63")],
    STREAMS: [("after", "str"), ("max", "u31")],
    STREAM_LIST: [("streams", "streamlist"), ("more", "bool")],
    DELETE_STREAM: [("stream", "str")],
    TRIM_STREAM: [("stream", "str"), ("beforeSequence", "u63")],
    DELETE_CONSUMER: [("stream", "str"), ("consumer", "str")],
}
_V2 = dict(_V1)
_V2[ERROR] = _V1[ERROR] + [("errorFields", "errfields")]
_V2[SUBSCRIPTION_CLOSED] = _V1[SUBSCRIPTION_CLOSED] + [("errorFields", "errfields")]
LAYOUTS = {1: _V1, 2: _V2}

_HDR = struct.Struct(">IBBQ")
_U8 = struct.Struct(">B")
_U16 = struct.Struct(">H")
_U32 = struct.Struct(">I")
_U64 = struct.Struct(">Q")


def _layout(version: int):
    return _V2 if version >= 2 else _V1


# ----------------------------------------------------------------------------- encoding

def _enc_records(records, out: list):
    out.append(_U32.pack(len(records)))
    pack = _U32.pack
    for r in records:
        out.append(pack(len(r)))
        out.append(r)


def _enc_str(s: str, out: list, what: str):
    b = s.encode("utf-8")
    if len(b) > 0xFFFF:
        raise ValueError("%s is %d UTF-8 bytes; at most 65535 fit" % (what, len(b)))
    out.append(_U16.pack(len(b)))
    out.append(b)


def _check(name, v, lo, hi):
    if not isinstance(v, int) or v < lo or v > hi:
        raise ValueError("%s must be in %d..%d, was %r" % (name, lo, hi, v))


def encode(frame: Frame, version: int = 1) -> bytes:
    """The bytes of ``frame`` (length prefix included) in the given protocol version."""
    layout = _layout(version).get(frame.type)
    if layout is None:
        raise ValueError("unknown frame type %r" % frame.type)
    out = [b""]
    f = frame.fields
    for name, kind in layout:
        if kind == "str":
            _enc_str(f[name], out, name)
        elif kind == "u63":
            v = f[name]
            _check(name, v, 0, MAX_U63)
            out.append(_U64.pack(v))
        elif kind == "u31":
            v = f[name]
            _check(name, v, 0, MAX_U31)
            out.append(_U32.pack(v))
        elif kind == "u32":
            v = f[name]
            _check(name, v, 0, 0xFFFFFFFF)
            out.append(_U32.pack(v))
        elif kind == "u16":
            v = f[name]
            _check(name, v, 0, 0xFFFF)
            out.append(_U16.pack(v))
        elif kind == "u8":
            v = f[name]
            _check(name, v, 0, 0xFF)
            out.append(_U8.pack(v))
        elif kind == "u64":
            v = f[name]
            _check(name, v, 0, 0xFFFFFFFFFFFFFFFF)
            out.append(_U64.pack(v))
        elif kind == "kind":
            v = f[name]
            _check(name, v, 0, 2)
            out.append(_U8.pack(v))
        elif kind == "bit":
            v = f[name]
            _check(name, v, 0, 1)
            out.append(_U8.pack(v))
        elif kind == "bool":
            out.append(_U8.pack(1 if f[name] else 0))
        elif kind == "blob":
            v = bytes(f[name])
            _check(name + " length", len(v), 0, MAX_U31)
            out.append(_U32.pack(len(v)))
            out.append(v)
        elif kind == "streamlist":
            ss = f[name]
            out.append(_U32.pack(len(ss)))
            for e in ss:
                _enc_str(e["name"], out, "stream name")
                for k in ("firstSequence", "lastSequence", "bytes"):
                    _check(k, e[k], 0, MAX_U63)
                    out.append(_U64.pack(e[k]))
                _check("consumers", e["consumers"], 0, MAX_U31)
                out.append(_U32.pack(e["consumers"]))
        elif kind == "magic":
            out.append(_U32.pack(f.get(name, MAGIC)))
        elif kind == "bytes":
            out.append(bytes(f[name]))
        elif kind == "records":
            _enc_records(f[name], out)
        elif kind == "consumers":
            cs = f[name]
            out.append(_U32.pack(len(cs)))
            for c in cs:
                _enc_str(c["name"], out, "consumer name")
                out.append(_U64.pack(c["ackedSequence"]))
                out.append(_U32.pack(c["maxLag"]))
                out.append(_U8.pack(1 if c["connected"] else 0))
        elif kind == "errfields":
            ef = f.get(name) or {}
            items = sorted((ERROR_FIELD_KEYS[k] if isinstance(k, str) else k, v) for k, v in ef.items())
            out.append(_U8.pack(len(items)))
            for key, v in items:  # ascending key order, each key once
                _check("error field %d" % key, v, 0, MAX_U63)
                out.append(_U8.pack(key))
                out.append(_U64.pack(v))
    body_len = sum(len(x) for x in out)
    flags = frame.flags
    if frame.type == PUBLISH_ACK:
        flags = FLAG_DUPLICATE if f.get("duplicate") else 0
    out[0] = _HDR.pack(HEADER + body_len, frame.type, flags, frame.request_id)
    return b"".join(out)


# hot paths, written out by hand

def encode_publish_batch(request_id: int, stream_bytes: bytes, expected: int, payloads) -> bytes:
    """PUBLISH_BATCH from an already UTF-8-encoded stream name (used by the batching publisher)."""
    pack = _U32.pack
    parts = [b"", _U16.pack(len(stream_bytes)), stream_bytes, _U64.pack(expected), pack(len(payloads))]
    n = 0
    for p in payloads:
        parts.append(pack(len(p)))
        parts.append(p)
        n += len(p)
    length = HEADER + 2 + len(stream_bytes) + 12 + 4 * len(payloads) + n
    parts[0] = _HDR.pack(length, PUBLISH_BATCH, 0, request_id)
    return b"".join(parts)


# ----------------------------------------------------------------------------- decoding

class _Body:
    __slots__ = ("buf", "pos", "end", "rid")

    def __init__(self, buf, pos, end, rid):
        self.buf, self.pos, self.end, self.rid = buf, pos, end, rid

    def need(self, n, what):
        if self.pos + n > self.end:
            raise ProtocolError(MALFORMED_FRAME, "%s runs past the end of the frame" % what, self.rid)


def _dec_str(b: _Body, what: str) -> str:
    b.need(2, what)
    n = _U16.unpack_from(b.buf, b.pos)[0]
    b.pos += 2
    b.need(n, what)
    raw = bytes(b.buf[b.pos:b.pos + n])
    b.pos += n
    try:
        return raw.decode("utf-8")  # Python's strict UTF-8 refuses overlong forms and surrogates
    except UnicodeDecodeError:
        raise ProtocolError(MALFORMED_FRAME, "%s is not valid UTF-8" % what, b.rid) from None


def _dec_records(b: _Body, what: str) -> list:
    b.need(4, "record count")
    count = _U32.unpack_from(b.buf, b.pos)[0]
    b.pos += 4
    if count * 4 > b.end - b.pos:
        raise ProtocolError(MALFORMED_FRAME, "record count %d cannot fit in the frame" % count, b.rid)
    buf, pos, end = b.buf, b.pos, b.end
    unpack = _U32.unpack_from
    out = []
    append = out.append
    for i in range(count):
        if pos + 4 > end:
            raise ProtocolError(MALFORMED_FRAME, "record %d of %d has no length" % (i, count), b.rid)
        n = unpack(buf, pos)[0]
        pos += 4
        if n > MAX_U31 or pos + n > end:
            raise ProtocolError(MALFORMED_FRAME, "record %d declares %d bytes, %d remain" % (i, n, end - pos),
                                b.rid)
        append(bytes(buf[pos:pos + n]))
        pos += n
    b.pos = pos
    return out


def decode_body(ftype: int, rid: int, flags: int, buf, pos: int, end: int, version: int = 1) -> Frame:
    """Decodes the body of a frame whose header was already read."""
    layout = _layout(version).get(ftype)
    if layout is None:
        raise ProtocolError(UNKNOWN_FRAME_TYPE, "unknown frame type 0x%02x" % ftype, rid)
    b = _Body(buf, pos, end, rid)
    fields = {}
    for name, kind in layout:
        if kind == "str":
            fields[name] = _dec_str(b, name)
        elif kind in ("u63", "u64"):
            b.need(8, name)
            v = _U64.unpack_from(buf, b.pos)[0]
            b.pos += 8
            if kind == "u63" and v > MAX_U63:
                raise ProtocolError(MALFORMED_FRAME, "%s has its top bit set" % name, rid)
            fields[name] = v
        elif kind in ("u31", "u32", "magic"):
            b.need(4, name)
            v = _U32.unpack_from(buf, b.pos)[0]
            b.pos += 4
            if kind == "u31" and v > MAX_U31:
                raise ProtocolError(MALFORMED_FRAME, "%s is above 2^31-1" % name, rid)
            if kind == "magic":
                if v != MAGIC:
                    raise ProtocolError(MALFORMED_FRAME, "bad HELLO magic 0x%08x" % v, rid)
                continue
            fields[name] = v
        elif kind == "u16":
            b.need(2, name)
            fields[name] = _U16.unpack_from(buf, b.pos)[0]
            b.pos += 2
        elif kind in ("u8", "kind", "bit", "bool"):
            b.need(1, name)
            v = buf[b.pos]
            b.pos += 1
            if kind == "kind" and v > 2:
                raise ProtocolError(MALFORMED_FRAME, "startKind %d is not 0, 1 or 2" % v, rid)
            if kind in ("bit", "bool") and v > 1:
                raise ProtocolError(MALFORMED_FRAME, "%s %d is not 0 or 1" % (name, v), rid)
            fields[name] = (v == 1) if kind == "bool" else v
        elif kind == "blob":
            b.need(4, name + " length")
            n = _U32.unpack_from(buf, b.pos)[0]
            b.pos += 4
            if n > MAX_U31:
                raise ProtocolError(MALFORMED_FRAME, "%s length is above 2^31-1" % name, rid)
            b.need(n, name)
            fields[name] = bytes(buf[b.pos:b.pos + n])
            b.pos += n
        elif kind == "streamlist":
            b.need(4, "stream count")
            count = _U32.unpack_from(buf, b.pos)[0]
            b.pos += 4
            if count * 30 > end - b.pos:
                raise ProtocolError(MALFORMED_FRAME, "stream count %d cannot fit in the frame" % count, rid)
            ss = []
            for _ in range(count):
                sname = _dec_str(b, "stream name")
                b.need(28, "stream entry")
                first, last, nbytes = struct.unpack_from(">QQQ", buf, b.pos)
                cons = _U32.unpack_from(buf, b.pos + 24)[0]
                b.pos += 28
                if first > MAX_U63 or last > MAX_U63 or nbytes > MAX_U63 or cons > MAX_U31:
                    raise ProtocolError(MALFORMED_FRAME, "stream entry field out of range", rid)
                ss.append({"name": sname, "firstSequence": first, "lastSequence": last, "bytes": nbytes,
                           "consumers": cons})
            fields[name] = ss
        elif kind == "bytes":
            fields[name] = bytes(buf[b.pos:end])
            b.pos = end
        elif kind == "records":
            fields[name] = _dec_records(b, name)
        elif kind == "consumers":
            b.need(4, "consumer count")
            count = _U32.unpack_from(buf, b.pos)[0]
            b.pos += 4
            cs = []
            for _ in range(count):
                cname = _dec_str(b, "consumer name")
                b.need(13, "consumer")
                acked = _U64.unpack_from(buf, b.pos)[0]
                lag = _U32.unpack_from(buf, b.pos + 8)[0]
                conn = buf[b.pos + 12]
                b.pos += 13
                if acked > MAX_U63 or lag > MAX_U31:
                    raise ProtocolError(MALFORMED_FRAME, "consumer field out of range", rid)
                cs.append({"name": cname, "ackedSequence": acked, "maxLag": lag, "connected": conn != 0})
            fields[name] = cs
        elif kind == "errfields":
            b.need(1, "fieldCount")
            count = buf[b.pos]
            b.pos += 1
            ef = {}
            seen = set()
            for _ in range(count):
                b.need(9, "error field")
                key = buf[b.pos]
                v = _U64.unpack_from(buf, b.pos + 1)[0]
                b.pos += 9
                if v > MAX_U63:
                    raise ProtocolError(MALFORMED_FRAME, "error field %d has its top bit set" % key, rid)
                if key in seen:
                    raise ProtocolError(MALFORMED_FRAME, "error field %d appears twice" % key, rid)
                seen.add(key)
                n = ERROR_FIELD_NAMES.get(key)
                if n is not None:  # unknown keys are ignored
                    ef[n] = v
            fields[name] = ef
    if b.pos != end:
        raise ProtocolError(MALFORMED_FRAME, "%d bytes after the last field of %s" % (
            end - b.pos, TYPE_NAMES.get(ftype)), rid)
    if ftype == PUBLISH_ACK:
        fields["duplicate"] = bool(flags & FLAG_DUPLICATE)
    return Frame(ftype, rid, fields, flags)


class FrameReader:
    """Incremental decoder: :meth:`feed` bytes, get the complete frames; raises ProtocolError.

    The length field is checked as soon as it has arrived (before the rest of the frame).
    """

    def __init__(self, max_frame_length: int = DEFAULT_MAX_FRAME_LENGTH, version: int = 1):
        self.max_frame_length = max_frame_length
        self.version = version
        self._buf = bytearray()

    def feed(self, data, emit=None) -> list:
        """Adds bytes; returns the frames completed (or passes each to ``emit``, which may change
        :attr:`version` between frames, e.g. after WELCOME)."""
        buf = self._buf
        buf += data
        frames = []
        pos = 0
        n = len(buf)
        hdr = _HDR.unpack_from
        try:
            while n - pos >= 4:
                length = _U32.unpack_from(buf, pos)[0]
                if length > self.max_frame_length:
                    raise ProtocolError(FRAME_TOO_LARGE, "frame length %d exceeds the maximum %d" % (
                        length, self.max_frame_length), 0)
                if length < HEADER:
                    raise ProtocolError(MALFORMED_FRAME, "frame length %d is below the 10-byte header" % length, 0)
                if n - pos < 4 + length:
                    break
                _, ftype, flags, rid = hdr(buf, pos)
                frame = decode_body(ftype, rid, flags, buf, pos + 14, pos + 4 + length, self.version)
                pos += 4 + length
                if emit is None:
                    frames.append(frame)
                else:
                    emit(frame)
        except ProtocolError as e:
            e.frames = frames  # the good frames before the bad one
            raise
        finally:
            if pos:
                del buf[:pos]
        return frames

    def end_of_input(self):
        """The input ended: raises MALFORMED_FRAME if it ended in the middle of a frame."""
        if self._buf:
            raise ProtocolError(MALFORMED_FRAME, "the input ended %d bytes into a frame" % len(self._buf), 0)


def decode(data: bytes, version: int = 1, max_frame_length: int = DEFAULT_MAX_FRAME_LENGTH) -> Frame:
    """Decodes exactly one whole frame."""
    r = FrameReader(max_frame_length, version)
    frames = r.feed(data)
    r.end_of_input()
    if len(frames) != 1:
        raise ProtocolError(MALFORMED_FRAME, "expected one frame, got %d" % len(frames), 0)
    return frames[0]
